"""Clinics, consent versions, visits and consents on the room store's SQLite file.

Runs its SQL through the store's executor (one thread, one transaction per write,
like `rooms.webhooks.store`). Every read and write of a clinic is scoped to its
tenant: another tenant's clinic is absent, exactly like one that does not exist.
Tables: migration 6 of `rooms.migrations`.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime

from rooms.clock import from_micros, to_micros
from rooms.errors import Conflict, NotFound
from rooms.webhooks.outbox import Executor
from telemed.clinics import CLINICIANS_MAX, Clinic, Clinician, ClinicRequest, ConsentVersion

__all__ = ["CLINICS_MAX", "ClinicStore", "ConsentRecord", "Visit"]

#: Clinics one tenant may have.
CLINICS_MAX = 1_000
#: Consent versions one clinic may keep (a new text a day for years).
CONSENT_VERSIONS_MAX = 5_000


@dataclass(frozen=True, slots=True)
class Visit:
    """A consultation room booked for a clinic: its patient's participant id, the clinician it was booked
    for (if any), and the participants made hosts for clinicians (clinician id → participant id)."""

    room_id: str
    clinic_id: str
    tenant: str
    clinician_id: str | None
    patient_id: str
    hosts: tuple[tuple[str, str], ...] = ()

    def clinician_of(self, participant_id: str) -> str | None:
        """The clinician a host participant of this visit stands for."""
        return next((c for c, p in self.hosts if p == participant_id), None)

    def host_of(self, clinician_id: str) -> str | None:
        return next((p for c, p in self.hosts if c == clinician_id), None)


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A patient's acceptance of version *version* of their clinic's consent text, at *at*."""

    room_id: str
    participant_id: str
    clinic_id: str
    version: int
    at: datetime


def new_clinic_id() -> str:
    return f"cl_{uuid.uuid4().hex}"


def _clinic(conn: sqlite3.Connection, row: sqlite3.Row) -> Clinic:
    clinicians = tuple(Clinician(r["id"], r["display_name"]) for r in conn.execute(
        "SELECT id, display_name FROM clinicians WHERE clinic_id = ? AND removed_us IS NULL ORDER BY seq, id",
        (row["id"],)))
    version = conn.execute("SELECT MAX(version) AS v FROM consent_versions WHERE clinic_id = ?",
                           (row["id"],)).fetchone()["v"]
    return Clinic(row["id"], row["tenant"], row["name"], clinicians, version, from_micros(row["created_us"]),
                  from_micros(row["updated_us"]))


def _owned(conn: sqlite3.Connection, tenant: str, clinic_id: str) -> sqlite3.Row:
    row: sqlite3.Row | None = conn.execute("SELECT * FROM clinics WHERE id = ? AND tenant = ?",
                                           (clinic_id, tenant)).fetchone()
    if row is None:
        raise NotFound("no clinic with this id")
    return row


def _set_clinicians(conn: sqlite3.Connection, clinic_id: str, clinicians: tuple[Clinician, ...], now_us: int) -> None:
    """Make *clinicians* the clinic's active ones, in this order; the others are marked removed."""
    wanted = {c.id for c in clinicians}
    for row in conn.execute("SELECT id FROM clinicians WHERE clinic_id = ? AND removed_us IS NULL",
                            (clinic_id,)).fetchall():
        if row["id"] not in wanted:
            conn.execute("UPDATE clinicians SET removed_us = ? WHERE clinic_id = ? AND id = ?",
                         (now_us, clinic_id, row["id"]))
    for seq, person in enumerate(clinicians):
        conn.execute(
            "INSERT INTO clinicians (clinic_id, id, display_name, seq, removed_us) VALUES (?,?,?,?,NULL)"
            " ON CONFLICT (clinic_id, id) DO UPDATE SET display_name = excluded.display_name,"
            " seq = excluded.seq, removed_us = NULL",
            (clinic_id, person.id, person.display_name, seq))
    # Removed clinicians stay (the visits and tokens naming them must still resolve); bound them too.
    count = conn.execute("SELECT COUNT(*) AS n FROM clinicians WHERE clinic_id = ?", (clinic_id,)).fetchone()["n"]
    if count > 10 * CLINICIANS_MAX:
        raise Conflict("this clinic has had too many clinicians; create a new clinic")


def _visit(conn: sqlite3.Connection, row: sqlite3.Row) -> Visit:
    hosts = tuple((r["clinician_id"], r["participant_id"]) for r in conn.execute(
        "SELECT clinician_id, participant_id FROM visit_hosts WHERE room_id = ? ORDER BY clinician_id",
        (row["room_id"],)))
    return Visit(row["room_id"], row["clinic_id"], row["tenant"], row["clinician_id"], row["patient_id"], hosts)


class ClinicStore:
    """The clinic tables, for the API, the visits service, the consent gate and the queue."""

    def __init__(self, store: Executor) -> None:
        self.store = store

    # -- clinics -------------------------------------------------------------

    async def create(self, tenant: str, req: ClinicRequest, now: datetime) -> Clinic:
        def run(conn: sqlite3.Connection) -> Clinic:
            count = conn.execute("SELECT COUNT(*) AS n FROM clinics WHERE tenant = ?", (tenant,)).fetchone()["n"]
            if count >= CLINICS_MAX:
                raise Conflict(f"a tenant may have at most {CLINICS_MAX} clinics")
            clinic_id, now_us = new_clinic_id(), to_micros(now)
            conn.execute("INSERT INTO clinics (id, tenant, name, created_us, updated_us) VALUES (?,?,?,?,?)",
                         (clinic_id, tenant, req.name, now_us, now_us))
            _set_clinicians(conn, clinic_id, req.clinicians, now_us)
            return _clinic(conn, _owned(conn, tenant, clinic_id))

        return await self.store.execute(run, write=True)

    async def replace(self, tenant: str, clinic_id: str, req: ClinicRequest, now: datetime) -> Clinic:
        """Rename the clinic and set its whole list of clinicians (those left out are removed)."""

        def run(conn: sqlite3.Connection) -> Clinic:
            _owned(conn, tenant, clinic_id)
            now_us = to_micros(now)
            conn.execute("UPDATE clinics SET name = ?, updated_us = ? WHERE id = ?", (req.name, now_us, clinic_id))
            _set_clinicians(conn, clinic_id, req.clinicians, now_us)
            return _clinic(conn, _owned(conn, tenant, clinic_id))

        return await self.store.execute(run, write=True)

    async def get(self, tenant: str, clinic_id: str) -> Clinic:
        return await self.store.execute(lambda conn: _clinic(conn, _owned(conn, tenant, clinic_id)), write=False)

    async def find(self, clinic_id: str) -> Clinic | None:
        """The clinic whatever its tenant (for a dashboard token, which names its tenant itself)."""

        def run(conn: sqlite3.Connection) -> Clinic | None:
            row = conn.execute("SELECT * FROM clinics WHERE id = ?", (clinic_id,)).fetchone()
            return None if row is None else _clinic(conn, row)

        return await self.store.execute(run, write=False)

    async def all(self, tenant: str) -> list[Clinic]:
        def run(conn: sqlite3.Connection) -> list[Clinic]:
            rows = conn.execute("SELECT * FROM clinics WHERE tenant = ? ORDER BY created_us, id", (tenant,))
            return [_clinic(conn, row) for row in rows.fetchall()]

        return await self.store.execute(run, write=False)

    # -- consent texts -------------------------------------------------------------

    async def add_consent(self, tenant: str, clinic_id: str, text: str, language: str,
                          now: datetime) -> ConsentVersion:
        """Store the clinic's consent text as version n + 1."""

        def run(conn: sqlite3.Connection) -> ConsentVersion:
            _owned(conn, tenant, clinic_id)
            last = conn.execute("SELECT MAX(version) AS v FROM consent_versions WHERE clinic_id = ?",
                                (clinic_id,)).fetchone()["v"] or 0
            if last >= CONSENT_VERSIONS_MAX:
                raise Conflict(f"a clinic keeps at most {CONSENT_VERSIONS_MAX} consent versions")
            conn.execute("INSERT INTO consent_versions (clinic_id, version, text, language, created_us)"
                         " VALUES (?,?,?,?,?)", (clinic_id, last + 1, text, language, to_micros(now)))
            return ConsentVersion(clinic_id, last + 1, text, language, now)

        return await self.store.execute(run, write=True)

    async def consents(self, tenant: str, clinic_id: str) -> list[ConsentVersion]:
        def run(conn: sqlite3.Connection) -> list[ConsentVersion]:
            _owned(conn, tenant, clinic_id)
            return [ConsentVersion(clinic_id, r["version"], r["text"], r["language"], from_micros(r["created_us"]))
                    for r in conn.execute("SELECT * FROM consent_versions WHERE clinic_id = ? ORDER BY version",
                                          (clinic_id,))]

        return await self.store.execute(run, write=False)

    async def current_consent(self, clinic_id: str) -> ConsentVersion | None:
        def run(conn: sqlite3.Connection) -> ConsentVersion | None:
            r = conn.execute("SELECT * FROM consent_versions WHERE clinic_id = ? ORDER BY version DESC LIMIT 1",
                             (clinic_id,)).fetchone()
            return None if r is None else ConsentVersion(clinic_id, r["version"], r["text"], r["language"],
                                                         from_micros(r["created_us"]))

        return await self.store.execute(run, write=False)

    # -- visits ------------------------------------------------------------------------

    async def add_visit(self, visit: Visit, now: datetime) -> None:
        """Record a booked visit (again: nothing changes, for an Idempotency-Key replay)."""

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT OR IGNORE INTO visits (room_id, clinic_id, clinician_id, patient_id, created_us)"
                         " VALUES (?,?,?,?,?)",
                         (visit.room_id, visit.clinic_id, visit.clinician_id, visit.patient_id, to_micros(now)))
            for clinician_id, participant_id in visit.hosts:
                conn.execute("INSERT OR IGNORE INTO visit_hosts (room_id, clinician_id, participant_id)"
                             " VALUES (?,?,?)", (visit.room_id, clinician_id, participant_id))

        await self.store.execute(run, write=True)

    async def add_host(self, room_id: str, clinician_id: str, participant_id: str) -> str:
        """Note that *participant_id* is now *clinician_id*'s host seat in the visit (replacing a withdrawn
        one); return it."""

        def run(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT INTO visit_hosts (room_id, clinician_id, participant_id) VALUES (?,?,?)"
                         " ON CONFLICT (room_id, clinician_id) DO UPDATE SET participant_id = excluded.participant_id",
                         (room_id, clinician_id, participant_id))
            return participant_id

        return await self.store.execute(run, write=True)

    async def visit(self, room_id: str) -> Visit | None:
        def run(conn: sqlite3.Connection) -> Visit | None:
            row = conn.execute("SELECT v.*, c.tenant FROM visits v JOIN clinics c ON c.id = v.clinic_id"
                               " WHERE v.room_id = ?", (room_id,)).fetchone()
            return None if row is None else _visit(conn, row)

        return await self.store.execute(run, write=False)

    # -- consents given ------------------------------------------------------------------

    async def record_consent(self, record: ConsentRecord) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO consents (room_id, participant_id, clinic_id, version, at_us)"
                         " VALUES (?,?,?,?,?)", (record.room_id, record.participant_id, record.clinic_id,
                                                 record.version, to_micros(record.at)))

        await self.store.execute(run, write=True)

    async def consent_of(self, room_id: str, participant_id: str) -> ConsentRecord | None:
        """The participant's latest acceptance in this visit, if any."""

        def run(conn: sqlite3.Connection) -> ConsentRecord | None:
            r = conn.execute("SELECT * FROM consents WHERE room_id = ? AND participant_id = ? ORDER BY id DESC"
                             " LIMIT 1", (room_id, participant_id)).fetchone()
            return None if r is None else ConsentRecord(r["room_id"], r["participant_id"], r["clinic_id"],
                                                        r["version"], from_micros(r["at_us"]))

        return await self.store.execute(run, write=False)
