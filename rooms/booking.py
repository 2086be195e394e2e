"""Booking use cases: book, read, list, edit, cancel, invite and remove participants.

Every call runs the same sequence: the caller's tenant is already authenticated
at the edge; here the request is validated, the policy and limits are checked,
then the store acts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from rooms.admissions import AdmissionRecord
from rooms.clock import Clock, from_micros, to_micros
from rooms.errors import Conflict, FieldError, NotFound, ValidationFailed
from rooms.events import API, RoomEvent
from rooms.guest_invites import GuestInvite, InviteClaim, InviteGone
from rooms.model import Participant, Room, RoomStatus
from rooms.policy import KIND_LIMITS, check_participants
from rooms.requests import BookingRequest, ListFilters, ParticipantRequest, RoomPatch
from rooms.revocation import NoRevocations, Revocation, RevocationReason, RevocationSink
from rooms.store import IdempotencyClaim, RoomPage, RoomQuery, RoomStore, Stored

__all__ = ["Bookings", "encode_cursor", "fingerprint"]

log = logging.getLogger(__name__)


def fingerprint(body: Any) -> str:
    """Return a stable digest of a JSON request body (for Idempotency-Key checks)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _new_id() -> str:
    return str(uuid.uuid4())


class Bookings:
    """The booking service of one node; stateless apart from the store it wraps."""

    def __init__(self, store: RoomStore, clock: Clock, revocations: RevocationSink | None = None) -> None:
        self.store = store
        self.clock = clock
        self.revocations: RevocationSink = revocations or NoRevocations()

    def _participant(self, room_id: str, req: ParticipantRequest, now: datetime) -> Participant:
        return Participant(
            id=_new_id(),
            room_id=room_id,
            display_name=req.display_name,
            role=req.role,
            party=req.party,
            jti=secrets.token_urlsafe(12),
            created_at=now,
        )

    async def book(
        self, tenant: str, req: BookingRequest, claim: IdempotencyClaim | None
    ) -> Stored[Room]:
        now = self.clock.now()
        errors = check_participants(
            req.kind,
            req.model,
            ((f"/participants/{i}", p.role, p.party) for i, p in enumerate(req.participants)),
        )
        if req.ends_at <= now:
            errors.append(FieldError("/ends_at", "must be in the future"))
        if errors:
            raise ValidationFailed(errors)
        room_id = _new_id()
        room = Room(
            id=room_id,
            tenant=tenant,
            title=req.title,
            kind=req.kind,
            model=req.model,
            starts_at=req.starts_at,
            ends_at=req.ends_at,
            external_ref=req.external_ref,
            created_at=now,
            updated_at=now,
            participants=tuple(self._participant(room_id, p, now) for p in req.participants),
        )
        booked = RoomEvent("booking.created", tenant, room.id, now, by=API, data={
            "kind": room.kind.value, "model": room.model.value, "starts_at": room.starts_at.isoformat(),
            "ends_at": room.ends_at.isoformat(), "participants": len(room.participants)})
        stored = await self.store.create_room(room, claim, [booked])
        if not stored.replayed:
            log.info(
                "room booked room=%s tenant=%s kind=%s model=%s participants=%s",
                room.id, tenant, room.kind, room.model, len(room.participants),
            )
        return stored

    async def get(self, tenant: str, room_id: str) -> Room:
        room = await self.store.get_room(room_id, tenant)
        if room is None:
            raise NotFound("no room with this id")
        return room

    async def admissions(self, rooms: Sequence[Room]) -> dict[str, AdmissionRecord]:
        """The latest admission decision of each participant of *rooms* (read already for the tenant)."""
        return await self.store.latest_admissions([room.id for room in rooms])

    async def list(self, tenant: str, filters: ListFilters) -> RoomPage:
        after = None if filters.cursor is None else _decode_cursor(filters.cursor)
        return await self.store.list_rooms(
            RoomQuery(
                tenant=tenant,
                ends_after=filters.ends_after,
                starts_before=filters.starts_before,
                external_ref=filters.external_ref,
                kind=filters.kind,
                status=filters.status,
                limit=filters.limit,
                after=after,
            )
        )

    async def edit(self, tenant: str, room_id: str, patch: RoomPatch) -> Room:
        room = await self.get(tenant, room_id)
        _not_purged(room)
        if room.status is not RoomStatus.SCHEDULED:
            raise Conflict(f"the room is {room.status.value} and can no longer be changed")
        changes: dict[str, Any] = {
            name: getattr(patch, name)
            for name in ("title", "kind", "model", "starts_at", "ends_at", "external_ref")
            if getattr(patch, name) is not None
        }
        if patch.clear_external_ref:
            changes["external_ref"] = None
        if not changes:
            return room
        edited = replace(room, **changes, updated_at=self.clock.now())  # validates itself
        errors = check_participants(
            edited.kind,
            edited.model,
            (
                (f"/participants/{i}", p.role, p.party)
                for i, p in enumerate(edited.active_participants)
            ),
        )
        if "ends_at" in changes and edited.ends_at <= self.clock.now():
            errors.append(FieldError("/ends_at", "must be in the future"))
        if errors:
            raise ValidationFailed(errors)
        changed = RoomEvent("booking.updated", tenant, room.id, edited.updated_at, by=API,
                            data={"fields": tuple(sorted(changes))})
        updated = await self.store.update_room(edited, [changed])
        log.info("room edited room=%s fields=%s", room.id, ",".join(sorted(changes)))
        return updated

    async def cancel(self, tenant: str, room_id: str) -> None:
        """Cancel a room: its tokens stop working and its live sessions end."""
        room = await self.get(tenant, room_id)
        if room.status is RoomStatus.CANCELLED:
            return
        now = self.clock.now()
        await self.store.update_room(
            replace(room, status=RoomStatus.CANCELLED, cancelled_at=now, updated_at=now),
            [RoomEvent("booking.cancelled", tenant, room.id, now, by=API)],
        )
        log.info("room cancelled room=%s", room.id)
        await self.revocations.revoke(Revocation(room.id, RevocationReason.ROOM_CANCELLED))

    async def end(self, tenant: str, room_id: str, by: str = API) -> None:
        """End a meeting now (*by* a host's participant id, or the API): every live session ends
        and its links answer 410 from then on."""
        room = await self.get(tenant, room_id)
        if room.status is RoomStatus.CANCELLED:
            raise Conflict("the room is cancelled")
        if room.status is RoomStatus.SCHEDULED:
            now = self.clock.now()
            await self.store.update_room(replace(room, status=RoomStatus.ENDED, updated_at=now),
                                         [RoomEvent("room.ended", tenant, room.id, now, by=by)])
            log.info("room ended room=%s", room.id)
        await self.revocations.revoke(Revocation(room.id, RevocationReason.ROOM_ENDED))

    async def invite(
        self,
        tenant: str,
        room_id: str,
        req: ParticipantRequest,
        claim: IdempotencyClaim | None,
    ) -> tuple[Room, Stored[Participant]]:
        room = await self.get(tenant, room_id)
        _not_purged(room)
        if room.status is not RoomStatus.SCHEDULED:
            raise Conflict(f"the room is {room.status.value}")
        errors = check_participants(room.kind, room.model, [("", req.role, req.party)])
        if errors:
            raise ValidationFailed([e for e in errors if e.pointer != "/participants"])
        person = self._participant(room.id, req, self.clock.now())
        added = RoomEvent("participant.added", tenant, room.id, person.created_at, person.id, API,
                          {"role": person.role.value, "party": person.party.value})
        stored = await self.store.add_participant(tenant, person, KIND_LIMITS[room.kind], claim, [added])
        if not stored.replayed:
            log.info("participant invited room=%s participant=%s", room.id, person.id)
        return room, stored

    async def add_guest(self, room: Room, req: ParticipantRequest, invite: GuestInvite,
                        claim: InviteClaim) -> Participant:
        """Add the guest of a one-time *invite* (rooms.guest_invites) to *room*, spending the invite in the
        same transaction: of two guests racing with one code, one is added and the other gets InviteGone.
        The guest is `participant.added` by whoever made the invite, with its invite_id."""
        if room.status is not RoomStatus.SCHEDULED:
            raise InviteGone(f"the room is {room.status.value}")
        errors = check_participants(room.kind, room.model, [("", req.role, req.party)])
        if errors:
            raise ValidationFailed([e for e in errors if e.pointer != "/participants"])
        person = replace(self._participant(room.id, req, claim.at), invite_id=invite.id)
        added = RoomEvent("participant.added", room.tenant, room.id, person.created_at, person.id,
                          invite.created_by, {"role": person.role.value, "party": person.party.value,
                                              "invite_id": invite.id})
        await self.store.add_participant(room.tenant, person, KIND_LIMITS[room.kind], None, [added], claim)
        log.info("guest added room=%s participant=%s invite=%s", room.id, person.id, invite.id)
        return person

    async def remove(self, tenant: str, room_id: str, participant_id: str, by: str = API) -> None:
        """Withdraw an invitation (*by* a host's participant id, or the API): the token stops
        working and the person's live sessions end."""
        room = await self.get(tenant, room_id)
        now = self.clock.now()
        removed = RoomEvent("participant.removed", tenant, room.id, now, participant_id, by)
        if not await self.store.remove_participant(tenant, room.id, participant_id, now, [removed]):
            raise NotFound("no active participant with this id in the room")
        log.info("participant removed room=%s participant=%s", room.id, participant_id)
        await self.revocations.revoke(
            Revocation(room.id, RevocationReason.PARTICIPANT_REMOVED, participant_id)
        )


def _not_purged(room: Room) -> None:
    """A room whose details retention erased is a record of ids: it takes no more changes."""
    if room.purged_at is not None:
        raise Conflict("the room's details were erased by retention; it can no longer be changed")


def encode_cursor(after: tuple[datetime, str]) -> str:
    """Return an opaque cursor for the keyset position *after*."""
    raw = f"{to_micros(after[0])}:{after[1]}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, room_id = raw.split(":", 1)
        return from_micros(int(start)), room_id
    except (binascii.Error, ValueError, UnicodeDecodeError, OverflowError) as exc:
        raise ValidationFailed([FieldError("/cursor", "is not a cursor this API issued")]) from exc
