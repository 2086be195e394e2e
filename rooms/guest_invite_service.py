"""Guest invites, the use cases: make one, list them, revoke one, look one up, and let a guest in with one.

A host in the call (through `signalling.host_decisions`) and the integrator (through
`rooms.guest_invite_api`) make and revoke invites here; the invite page
(`signalling.invite_page`) looks a code up and redeems it. Each change is a room event
(``invite.created``, ``invite.revoked``; the guest's ``participant.added`` carries the
invite id) written in the change's own transaction. The domain and its SQL are
`rooms.guest_invites`.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

from rooms.booking import Bookings
from rooms.clock import Clock
from rooms.errors import Conflict, FieldError, NotFound, ValidationFailed
from rooms.events import RoomEvent
from rooms.guest_invites import (
    MAX_TTL,
    MIN_TTL,
    GuestInvite,
    InviteClaim,
    InviteGone,
    InviteStatus,
    Purpose,
    default_name,
    hash_code,
    insert_invite,
    invite_by_code,
    invites_of_room,
    new_code,
    party_for,
    revoke_invite,
)
from rooms.model import Participant, Role, Room, RoomStatus
from rooms.requests import ParticipantRequest
from rooms.views import iso

__all__ = ["GuestInvites", "InviteStore", "IssuedInvite", "invite_view"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class InviteStore(Protocol):
    """The room store's executor (rooms.sqlite_store): a function on its connection, with events."""

    async def execute(self, fn: Callable[[sqlite3.Connection], T], *, write: bool,
                      events: Sequence[RoomEvent] = ()) -> T: ...


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    """A new invite and its link (the only time the code exists outside the guest's hands)."""

    invite: GuestInvite
    url: str


def invite_view(invite: GuestInvite, status: InviteStatus, url: str | None = None) -> dict[str, Any]:
    """An invite as the API and the host see it (ids and times; the link only when it is made)."""
    view: dict[str, Any] = {
        "id": invite.id, "room_id": invite.room_id, "purpose": invite.purpose.value, "status": status.value,
        "created_by": invite.created_by, "created_at": iso(invite.created_at),
        "expires_at": iso(invite.expires_at), "used_at": iso(invite.used_at),
        "participant_id": invite.participant_id, "revoked_at": iso(invite.revoked_at),
    }
    if url is not None:
        view["url"] = url
    return view


class GuestInvites:
    """Guest invites of one node, on the room store's file."""

    def __init__(self, store: InviteStore, bookings: Bookings, clock: Clock, public_url: str) -> None:
        self.store = store
        self.bookings = bookings
        self.clock = clock
        self.public_url = public_url.rstrip("/")

    def url(self, code: str) -> str:
        return f"{self.public_url}/invite/{quote(code)}"

    async def create(self, tenant: str, room_id: str, purpose: Purpose, ttl: timedelta, by: str) -> IssuedInvite:
        """Make an invite of *room_id* for a guest of *purpose*, valid for *ttl* (5 min to 5 h), *by* a host's
        participant id or "api". Conflict unless the room is scheduled; TooManyInvites past the limit."""
        if not MIN_TTL <= ttl <= MAX_TTL:
            raise ValidationFailed([FieldError("/expires_in_minutes", "must be between 5 and 300 (5 minutes "
                                                                      "to 5 hours)")])
        room = await self.bookings.get(tenant, room_id)
        if room.status is not RoomStatus.SCHEDULED:
            raise Conflict(f"the room is {room.status.value}")
        now = self.clock.now()
        invite = GuestInvite(id=str(uuid.uuid4()), room_id=room.id, purpose=purpose, created_by=by,
                             created_at=now, expires_at=now + ttl)
        code = new_code()
        made = RoomEvent("invite.created", tenant, room.id, now, by=by, data={
            "invite_id": invite.id, "purpose": purpose.value, "expires_at": iso(invite.expires_at)})
        await self.store.execute(lambda c: insert_invite(c, invite, hash_code(code)), write=True, events=[made])
        log.info("guest invite made room=%s invite=%s purpose=%s by=%s", room.id, invite.id, purpose.value, by)
        return IssuedInvite(invite, self.url(code))

    async def list(self, tenant: str, room_id: str) -> list[GuestInvite]:
        room = await self.bookings.get(tenant, room_id)
        return await self.store.execute(lambda c: invites_of_room(c, room.id), write=False)

    async def revoke(self, tenant: str, room_id: str, invite_id: str, by: str) -> None:
        """Revoke an unused invite (again: nothing happens). NotFound, or Conflict once used."""
        room = await self.bookings.get(tenant, room_id)
        now = self.clock.now()
        revoked = RoomEvent("invite.revoked", tenant, room.id, now, by=by, data={"invite_id": invite_id})

        def run(conn: sqlite3.Connection) -> bool:
            if not revoke_invite(conn, room.id, invite_id, now):
                raise _AlreadyRevoked
            return True

        try:
            await self.store.execute(run, write=True, events=[revoked])
        except _AlreadyRevoked:
            return
        log.info("guest invite revoked room=%s invite=%s by=%s", room.id, invite_id, by)

    async def look_up(self, code: str) -> tuple[GuestInvite, InviteStatus, Room] | None:
        """The invite of *code* with its status now and its room, or None when no invite has this code.
        A room cancelled or ended makes its invites expired."""
        invite = await self.store.execute(lambda c: invite_by_code(c, hash_code(code)), write=False)
        if invite is None:
            return None
        room = await self.bookings.store.get_room(invite.room_id)
        if room is None:
            return None
        status = invite.status(self.clock.now())
        if status is InviteStatus.ACTIVE and room.status is not RoomStatus.SCHEDULED:
            status = InviteStatus.EXPIRED
        return invite, status, room

    async def redeem(self, code: str, display_name: str | None) -> tuple[Room, Participant]:
        """Let the guest of *code* in: a new participant (role member; party by purpose), waiting in the lobby
        when they arrive. NotFound for an unknown code; InviteGone when used, revoked, expired or the room is
        over — also for the loser of two guests racing with one code."""
        found = await self.look_up(code)
        if found is None:
            raise NotFound("no invite with this code")
        invite, status, room = found
        if status is not InviteStatus.ACTIVE:
            raise InviteGone(f"the invite is {status.value}")
        req = ParticipantRequest(display_name=display_name or default_name(invite.purpose), role=Role.MEMBER,
                                 party=party_for(invite.purpose, room.model))
        person = await self.bookings.add_guest(room, req, invite, InviteClaim(hash_code(code), self.clock.now()))
        return room, person


class _AlreadyRevoked(Exception):
    """Revoking a revoked invite: no event (the job rolls back), and no error for the caller."""
