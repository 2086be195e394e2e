"""Guest invites: one-time links a host (or the integrator) makes for a third party to join a room.

An interpreter, a family member or a second clinician is not booked ahead: the host makes an
invite for them during the visit, with a purpose from a fixed set and a lifetime between 5
minutes and 5 hours, and hands over its link. Opening the link and pressing "join" spends the
invite (once: the guest's participant row and the invite's ``used_us`` are written in one
transaction, `claim_invite`), and the guest, whose participant names its invite
(`rooms.model.Participant.invite_id`), always waits in the lobby until a host lets them in.

Only the SHA-256 of the random code is stored: the link cannot be rebuilt from the database
and no code is ever logged. A room holds at most `MAX_LIVE_INVITES` live (unused, unrevoked,
unexpired) invites at a time. This module is the domain and its SQL; the use cases are
`rooms.guest_invite_service`, the REST routes `rooms.guest_invite_api`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from rooms.clock import from_micros, to_micros
from rooms.errors import Conflict, DomainError, NotFound
from rooms.model import ConferencingModel, Party

__all__ = [
    "CODE_PATTERN",
    "MAX_LIVE_INVITES",
    "MAX_TTL",
    "MIN_TTL",
    "GuestInvite",
    "InviteClaim",
    "InviteGone",
    "InviteStatus",
    "Purpose",
    "TooManyInvites",
    "claim_invite",
    "default_name",
    "hash_code",
    "insert_invite",
    "invite_by_code",
    "invites_of_room",
    "new_code",
    "party_for",
    "revoke_invite",
]

MIN_TTL = timedelta(minutes=5)
MAX_TTL = timedelta(hours=5)
#: Live (unused, unrevoked, unexpired) invites one room may hold at a time.
MAX_LIVE_INVITES = 5
#: Invites of one room listed at most (newest first).
LIST_MAX = 100
#: What a code looks like (`new_code`: 32 URL-safe characters); anything else is unknown at once.
CODE_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class Purpose(StrEnum):
    """Why the guest comes: decides their party and the name shown when they give none."""

    INTERPRETER = "interpreter"
    FAMILY_MEMBER = "family_member"
    CLINICIAN = "clinician"


#: The name shown in the call for a guest who gave none (Polish: the call's first language).
DEFAULT_NAMES: dict[Purpose, str] = {
    Purpose.INTERPRETER: "Tłumacz",
    Purpose.FAMILY_MEMBER: "Osoba bliska",
    Purpose.CLINICIAN: "Lekarz konsultujący",
}


def default_name(purpose: Purpose) -> str:
    return DEFAULT_NAMES[purpose]


def party_for(purpose: Purpose, model: ConferencingModel) -> Party:
    """A second clinician is staff (administration); an interpreter or a family member comes with the
    other side of the model (citizen in A2C/C2A, business in A2B/B2A; administration in A2A)."""
    if purpose is Purpose.CLINICIAN or model is ConferencingModel.A2A:
        return Party.ADMINISTRATION
    if model in (ConferencingModel.A2B, ConferencingModel.B2A):
        return Party.BUSINESS
    return Party.CITIZEN


class InviteStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    REVOKED = "revoked"
    EXPIRED = "expired"


class InviteGone(DomainError):
    """The invite was used, revoked or has expired (or its room is over): it admits nobody now."""

    status = 410
    slug = "invite-gone"
    title = "The invite can no longer be used"


class TooManyInvites(Conflict):
    slug = "too-many-invites"
    title = "Too many live invites"


@dataclass(frozen=True, slots=True)
class GuestInvite:
    """One invite as stored (never its code)."""

    id: str
    room_id: str
    purpose: Purpose
    created_by: str  # a host's participant id, or "api"
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    participant_id: str | None = None  # the guest it let in, once used
    revoked_at: datetime | None = None

    def status(self, now: datetime) -> InviteStatus:
        if self.used_at is not None:
            return InviteStatus.USED
        if self.revoked_at is not None:
            return InviteStatus.REVOKED
        if now >= self.expires_at:
            return InviteStatus.EXPIRED
        return InviteStatus.ACTIVE


@dataclass(frozen=True, slots=True)
class InviteClaim:
    """Spend the invite whose code hashes to *code_hash*, at *at* (with the guest's insert)."""

    code_hash: str
    at: datetime


def new_code() -> str:
    """A fresh unguessable code (192 random bits)."""
    return secrets.token_urlsafe(24)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _from_row(row: sqlite3.Row) -> GuestInvite:
    def time(name: str) -> datetime | None:
        return None if row[name] is None else from_micros(row[name])

    return GuestInvite(id=row["id"], room_id=row["room_id"], purpose=Purpose(row["purpose"]),
                       created_by=row["created_by"], created_at=from_micros(row["created_us"]),
                       expires_at=from_micros(row["expires_us"]), used_at=time("used_us"),
                       participant_id=row["participant_id"], revoked_at=time("revoked_us"))


def insert_invite(conn: sqlite3.Connection, invite: GuestInvite, code_hash: str) -> None:
    """Store *invite* unless its room already holds `MAX_LIVE_INVITES` live ones (TooManyInvites)."""
    live = conn.execute(
        "SELECT COUNT(*) AS n FROM guest_invites WHERE room_id = ? AND used_us IS NULL AND revoked_us IS NULL"
        " AND expires_us > ?", (invite.room_id, to_micros(invite.created_at))).fetchone()["n"]
    if live >= MAX_LIVE_INVITES:
        raise TooManyInvites(f"this room already has {MAX_LIVE_INVITES} invites that can still be used; "
                             "revoke one or wait until one expires")
    conn.execute(
        "INSERT INTO guest_invites (id, room_id, code_hash, purpose, created_by, created_us, expires_us)"
        " VALUES (?,?,?,?,?,?,?)",
        (invite.id, invite.room_id, code_hash, invite.purpose.value, invite.created_by,
         to_micros(invite.created_at), to_micros(invite.expires_at)))


def invite_by_code(conn: sqlite3.Connection, code_hash: str) -> GuestInvite | None:
    row = conn.execute("SELECT * FROM guest_invites WHERE code_hash = ?", (code_hash,)).fetchone()
    return None if row is None else _from_row(row)


def invites_of_room(conn: sqlite3.Connection, room_id: str) -> list[GuestInvite]:
    rows = conn.execute("SELECT * FROM guest_invites WHERE room_id = ? ORDER BY created_us DESC, id LIMIT ?",
                        (room_id, LIST_MAX)).fetchall()
    return [_from_row(row) for row in rows]


def claim_invite(conn: sqlite3.Connection, claim: InviteClaim, participant_id: str) -> None:
    """Mark the invite used by *participant_id*, in the caller's transaction; InviteGone (and so a rollback
    of the caller's insert) unless it was still active. The single UPDATE decides between racing guests."""
    cur = conn.execute(
        "UPDATE guest_invites SET used_us = ?, participant_id = ? WHERE code_hash = ? AND used_us IS NULL"
        " AND revoked_us IS NULL AND expires_us > ?",
        (to_micros(claim.at), participant_id, claim.code_hash, to_micros(claim.at)))
    if cur.rowcount != 1:
        raise InviteGone("the invite was used, revoked or has expired")


def revoke_invite(conn: sqlite3.Connection, room_id: str, invite_id: str, at: datetime) -> bool:
    """Revoke an unused invite of *room_id*; False when it was revoked already (nothing to do).
    NotFound when the room has no such invite, Conflict when it was used."""
    row = conn.execute("SELECT * FROM guest_invites WHERE id = ? AND room_id = ?", (invite_id, room_id)).fetchone()
    if row is None:
        raise NotFound("no invite with this id in the room")
    invite = _from_row(row)
    if invite.used_at is not None:
        raise Conflict("the invite was used already: remove the guest instead")
    if invite.revoked_at is not None:
        return False
    conn.execute("UPDATE guest_invites SET revoked_us = ? WHERE id = ?", (to_micros(at), invite_id))
    return True
