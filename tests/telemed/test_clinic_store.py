"""The clinic tables on a real SQLite file: clinics per tenant, clinicians kept when removed, consent
versions, visits and their hosts, consents given; everything survives a reopen."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rooms.errors import NotFound
from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room
from rooms.sqlite_store import SqliteRoomStore
from telemed.clinic_store import ClinicStore, ConsentRecord, Visit
from telemed.clinics import Clinician, ClinicRequest

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ANNA = Clinician("lek-1", "dr Anna Nowak")
PIOTR = Clinician("lek-2", "dr Piotr Lis")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteRoomStore]:
    opened = SqliteRoomStore(tmp_path / "k.sqlite3")
    await opened.open()
    yield opened
    await opened.close()


def room(rid: str) -> Room:
    return Room(rid, "portal", "Wizyta", Kind.CONSULTATION, ConferencingModel.A2C, T0, T0 + timedelta(minutes=15),
                None, T0, T0, participants=(
                    Participant(f"{rid}-patient", rid, "Jan", Role.MEMBER, Party.CITIZEN, "j1", T0),
                    Participant(f"{rid}-host", rid, "dr Anna", Role.HOST, Party.ADMINISTRATION, "j2", T0)))


async def test_clinics_clinicians_and_consents_survive_a_reopen(store: SqliteRoomStore, tmp_path: Path) -> None:
    clinics = ClinicStore(store)
    clinic = await clinics.create("portal", ClinicRequest("Poradnia", (ANNA, PIOTR)), T0)
    assert clinic.clinicians == (ANNA, PIOTR) and clinic.consent_version is None
    first = await clinics.add_consent("portal", clinic.id, "Zgoda\nv1", "pl", T0)
    second = await clinics.add_consent("portal", clinic.id, "Zgoda v2", "pl", T0 + timedelta(days=1))
    assert (first.version, second.version) == (1, 2)
    await store.close()
    reopened = SqliteRoomStore(tmp_path / "k.sqlite3")
    await reopened.open()
    try:
        again = ClinicStore(reopened)
        got = await again.get("portal", clinic.id)
        assert got == type(clinic)(clinic.id, "portal", "Poradnia", (ANNA, PIOTR), 2, T0, T0)
        assert [c.text for c in await again.consents("portal", clinic.id)] == ["Zgoda\nv1", "Zgoda v2"]
        assert await again.current_consent(clinic.id) == second
    finally:
        await reopened.close()


async def test_a_clinic_belongs_to_its_tenant(store: SqliteRoomStore) -> None:
    clinics = ClinicStore(store)
    clinic = await clinics.create("portal", ClinicRequest("Poradnia", (ANNA,)), T0)
    with pytest.raises(NotFound):
        await clinics.get("other", clinic.id)
    with pytest.raises(NotFound):
        await clinics.add_consent("other", clinic.id, "x", "pl", T0)
    with pytest.raises(NotFound):
        await clinics.replace("other", clinic.id, ClinicRequest("X", ()), T0)
    assert await clinics.all("other") == []
    assert (await clinics.find(clinic.id)) == await clinics.get("portal", clinic.id)


async def test_replacing_clinicians_removes_the_ones_left_out_and_brings_back_the_returning(
        store: SqliteRoomStore) -> None:
    clinics = ClinicStore(store)
    clinic = await clinics.create("portal", ClinicRequest("Poradnia", (ANNA, PIOTR)), T0)
    changed = await clinics.replace("portal", clinic.id, ClinicRequest("Poradnia", (PIOTR,)), T0)
    assert changed.clinicians == (PIOTR,) and changed.clinician("lek-1") is None
    back = await clinics.replace("portal", clinic.id,
                                 ClinicRequest("Poradnia 2", (Clinician("lek-1", "dr Anna Nowak-Lis"), PIOTR)), T0)
    assert back.clinicians == (Clinician("lek-1", "dr Anna Nowak-Lis"), PIOTR)
    assert back.name == "Poradnia 2"


async def test_visits_their_hosts_and_consents(store: SqliteRoomStore) -> None:
    clinics = ClinicStore(store)
    clinic = await clinics.create("portal", ClinicRequest("Poradnia", (ANNA, PIOTR)), T0)
    await store.create_room(room("r1"), None)
    visit = Visit("r1", clinic.id, "portal", "lek-1", "r1-patient", (("lek-1", "r1-host"),))
    await clinics.add_visit(visit, T0)
    await clinics.add_visit(visit, T0)  # a replay changes nothing
    assert await clinics.visit("r1") == visit
    assert await clinics.visit("nope") is None
    assert await clinics.add_host("r1", "lek-2", "r1-other") == "r1-other"
    got = await clinics.visit("r1")
    assert got is not None and got.clinician_of("r1-other") == "lek-2" and got.host_of("lek-1") == "r1-host"
    assert await clinics.consent_of("r1", "r1-patient") is None
    await clinics.record_consent(ConsentRecord("r1", "r1-patient", clinic.id, 1, T0))
    await clinics.record_consent(ConsentRecord("r1", "r1-patient", clinic.id, 2, T0 + timedelta(minutes=1)))
    latest = await clinics.consent_of("r1", "r1-patient")
    assert latest == ConsentRecord("r1", "r1-patient", clinic.id, 2, T0 + timedelta(minutes=1))
