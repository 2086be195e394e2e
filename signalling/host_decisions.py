"""A host's decisions that outlive the call: removing someone, ending the meeting for everyone.

They are the integrator's ``DELETE …/participants/{pid}`` and ``POST …/end`` taken by a host
from the call, and they take the same path: the live room asks the node's booking service
(`rooms.booking.Bookings`), which records the change in the store and announces the
revocation, which `signalling.revocation.LiveRevocation` carries to every surface. So a
removal survives the call (the link stays refused) and its effect is exactly the API's.

Only the front process holds the store. A live room in a media worker reaches it over the
worker link (`signalling.media_worker.LinkDecisions` calls the front, whose
`WorkerRoomService` hands the call to `BookedDecisions`); the revocation then comes back to
the worker as a ``revoke`` call, served while the host's message is still being handled
(the link serves calls concurrently).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

from rooms.booking import Bookings
from rooms.errors import Conflict, NotFound, ValidationFailed
from rooms.guest_invite_service import GuestInvites, invite_view
from rooms.guest_invites import InviteStatus, Purpose
from signalling.errors import BadRequest, Forbidden, InviteRefused, NotJoined

__all__ = ["BookedDecisions", "HostDecisions", "NoDecisions"]


class HostDecisions(Protocol):
    """Where live rooms send a host's decisions that the booking records."""

    async def remove_participant(self, tenant: str, room_id: str, participant_id: str, by: str) -> None:
        """Withdraw the participant's invitation (*by*: the host's participant id); their sessions end
        (`participant_removed`)."""

    async def end_meeting(self, tenant: str, room_id: str, by: str) -> None:
        """End the meeting: the room is ``ended`` and every session ends (`room_ended`)."""

    async def create_invite(self, tenant: str, room_id: str, purpose: str, minutes: int, by: str) -> dict[str, Any]:
        """Make a one-time guest invite (rooms.guest_invites) valid *minutes*; its view, with its link."""

    async def revoke_invite(self, tenant: str, room_id: str, invite_id: str, by: str) -> None:
        """Revoke an unused guest invite."""


class BookedDecisions:
    """The front's decisions: the node's booking service (the store, then `LiveRevocation`) and its guest
    invites."""

    def __init__(self, bookings: Bookings, invites: GuestInvites | None = None) -> None:
        self.bookings = bookings
        self.invites = invites

    async def remove_participant(self, tenant: str, room_id: str, participant_id: str, by: str) -> None:
        try:
            await self.bookings.remove(tenant, room_id, participant_id, by)
        except NotFound as exc:  # removed meanwhile (by the API, or another host)
            raise NotJoined("that participant is no longer invited to this meeting") from exc

    async def end_meeting(self, tenant: str, room_id: str, by: str) -> None:
        try:
            await self.bookings.end(tenant, room_id, by)
        except (NotFound, Conflict) as exc:  # cancelled meanwhile: nothing is live to end
            raise NotJoined("this meeting is no longer live") from exc

    def _invites(self) -> GuestInvites:
        if self.invites is None:
            raise Forbidden("guest invites cannot be made here")
        return self.invites

    async def create_invite(self, tenant: str, room_id: str, purpose: str, minutes: int, by: str) -> dict[str, Any]:
        try:
            issued = await self._invites().create(tenant, room_id, Purpose(purpose), timedelta(minutes=minutes), by)
        except ValidationFailed as exc:
            raise BadRequest("create_invite: " + "; ".join(f"{e.pointer[1:]} {e.detail}" for e in exc.errors)) \
                from exc
        except (Conflict, NotFound) as exc:  # the room's limit, or the room no longer scheduled
            raise InviteRefused(exc.detail) from exc
        return invite_view(issued.invite, InviteStatus.ACTIVE, issued.url)

    async def revoke_invite(self, tenant: str, room_id: str, invite_id: str, by: str) -> None:
        try:
            await self._invites().revoke(tenant, room_id, invite_id, by)
        except (Conflict, NotFound) as exc:  # used already, or not this room's
            raise InviteRefused(exc.detail) from exc


class NoDecisions:
    """Live rooms without a booking service (tools, tests that need none): the decisions are refused."""

    async def remove_participant(self, tenant: str, room_id: str, participant_id: str, by: str) -> None:
        raise Forbidden("participants cannot be removed here")

    async def end_meeting(self, tenant: str, room_id: str, by: str) -> None:
        raise Forbidden("meetings cannot be ended here")

    async def create_invite(self, tenant: str, room_id: str, purpose: str, minutes: int, by: str) -> dict[str, Any]:
        raise Forbidden("guest invites cannot be made here")

    async def revoke_invite(self, tenant: str, room_id: str, invite_id: str, by: str) -> None:
        raise Forbidden("guest invites cannot be revoked here")
