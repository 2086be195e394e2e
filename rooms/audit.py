"""The audit trail: each room's events as an append-only hash chain, and its verification.

Entry *n* of a room stores the event's canonical JSON (`rooms.events.canonical_json`)
and ``hash_n = SHA-256(hash_{n-1} ‖ n ‖ body)``, the first entry chaining from
`GENESIS`. The store also keeps each room's head (last number and hash) in the same
transaction. So an entry edited, inserted or deleted in the database breaks the
chain at that entry (a deleted last entry: the head no longer matches), and
`verify` names the first bad one.

The chain needs no secret: an auditor can check an export alone. What it cannot
stop by itself is someone who rewrites the whole chain and its head with the
database open; against that, every webhook delivery carries its entry's hash
(``audit_hash``), so integrators hold copies of the chain as it grew, and a
rewritten chain disagrees with them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["GENESIS", "AuditCheck", "AuditEntry", "chain_hash", "verify"]

GENESIS = "0" * 64


def chain_hash(previous: str, seq: int, body: str) -> str:
    """The hash of entry *seq* with canonical JSON *body*, after the entry whose hash is *previous*."""
    return hashlib.sha256(f"{previous}\n{seq}\n{body}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored entry, as read back: its number in the room's chain, the stored columns and hashes."""

    seq: int
    type: str
    at: datetime
    body: str
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        """The entry for the API: the event itself plus its place in the chain."""
        try:
            event = json.loads(self.body)
        except ValueError:
            event = None
        return {"seq": self.seq, "event": event, "prev_hash": self.prev_hash, "hash": self.hash}


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """The verdict on one room's chain: *ok*, or the first bad entry's number and why."""

    ok: bool
    entries: int
    head: str
    first_bad: int | None = None
    problem: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head": self.head,
                "first_bad_seq": self.first_bad, "problem": self.problem}


def _columns_agree(entry: AuditEntry) -> bool:
    """The queryable columns (type, time) say what the hashed body says."""
    try:
        event = json.loads(entry.body)
        return bool(event["type"] == entry.type and datetime.fromisoformat(event["at"]) == entry.at)
    except (ValueError, KeyError, TypeError):
        return False


def verify(entries: Sequence[AuditEntry], head: tuple[int, str] | None) -> AuditCheck:
    """Check a room's entries (in stored order) against each other and the stored *head*
    ``(last seq, last hash)``, or None when the store has no head for the room."""
    previous = GENESIS
    for expected, entry in enumerate(entries, start=1):
        problem = None
        if entry.seq != expected:
            problem = f"entry {expected} is missing (found {entry.seq} in its place)"
        elif entry.prev_hash != previous:
            problem = "it does not follow the entry before it"
        elif chain_hash(previous, entry.seq, entry.body) != entry.hash or not _columns_agree(entry):
            problem = "its content does not match its hash"
        if problem is not None:
            return AuditCheck(False, len(entries), previous, expected, problem)
        previous = entry.hash
    last = entries[-1].seq if entries else 0
    if head is None and entries:
        return AuditCheck(False, len(entries), previous, 1, "the room's chain head is missing")
    if head is not None and head != (last, previous):
        bad = min(head[0], last) + 1 if head[0] != last else last
        return AuditCheck(False, len(entries), previous, bad,
                          f"the chain ends at entry {last} but its head says {head[0]}"
                          if head[0] != last else "the last entry does not match the chain head")
    return AuditCheck(True, len(entries), previous)
