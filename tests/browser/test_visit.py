"""A consultation in real Chromium (docs/telemedicine.md, "The visit"): the patient waits; the clinician
confirms their identity and admits them; both see each other; the clinician holds the visit (the patient sees
the notice and the SFU's forwarded-packet counter stops: nothing either way), resumes it (the counter grows
again), the patient asks for an in-person visit (the clinician sees it), the clinician completes the visit with
an outcome and a note; the consultation.completed webhook reaches a local receiver, signed, without the note,
and the room's audit trail verifies."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.browser.conftest import API_KEY, VIDEO_PLAYING_JS, book, join, new_page, serving, until
from tests.browser.test_lobby import forwarded_packets
from tests.processes import ServerProcess
from tests.webhooks.receiver import Receiver

NOTE = "Zalecenia: odpoczynek, kontrola za 2 tygodnie."


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver().start()
    yield got
    got.stop()


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[ServerProcess]:
    """A node that may deliver webhooks to loopback (the receiver), its media in two workers."""
    with serving(tmp_path, {"KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE": "true", "KONSYLIUM_WORKERS": "2"}) as proc:
        yield proc


def api(node: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{node.url}{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.load(resp)


async def test_a_visit_from_the_waiting_room_to_its_outcome(clinic: ServerProcess, browser: Browser,
                                                           receiver: Receiver) -> None:
    endpoint = api(clinic, "POST", "/api/v1/webhooks", {"url": receiver.url,
                                                         "event_types": ["consultation.completed"]})
    receiver.secrets.append(endpoint["secret"])
    room = book(clinic, [("dr Anna Nowak", "host"), ("Ewa Pacjentka", "member", "citizen")], model="A2C",
                kind="consultation", title="Teleporada")
    doctor, patient = room["participants"]
    page_doctor = await join(browser, doctor)
    page_patient = await new_page(browser)
    await page_patient.goto(patient["join_url"])
    await page_patient.get_by_role("button", name="Dołącz", exact=True).click()
    await until(page_patient, "() => window.konsylium?.view === 'waiting'", what="the waiting room", node=clinic)

    # The clinician confirms who it is and lets her in: one button says both.
    await page_doctor.get_by_role("button", name="Potwierdź tożsamość i wpuść Ewa Pacjentka", exact=True).click()
    await until(page_patient, "() => window.konsylium.view === 'room'", what="the patient in the visit", node=clinic)
    await until(page_patient, VIDEO_PLAYING_JS, doctor["id"], what="the clinician's video at the patient",
                timeout=20, node=clinic)
    await until(page_doctor, VIDEO_PLAYING_JS, patient["id"], what="the patient's video at the clinician",
                timeout=20, node=clinic)
    await until(page_doctor, "() => /Czas wizyty: \\d+:\\d\\d$/.test("
                "document.getElementById('visit-timer').textContent)", what="the timer", node=clinic)

    # Hold: her notice, and the SFU forwards nothing either way (workers report their totals every second).
    await page_doctor.get_by_role("button", name="Wstrzymaj Ewa Pacjentka", exact=True).click()
    await page_patient.get_by_role("alert").filter(has_text="Lekarz wstrzymał wizytę na chwilę").wait_for()
    await page_patient.wait_for_timeout(2000)
    held = forwarded_packets(clinic)
    await page_patient.wait_for_timeout(2500)
    assert forwarded_packets(clinic) - held < 5, "media forwarded while the patient was on hold"

    await page_doctor.get_by_role("button", name="Wznów Ewa Pacjentka", exact=True).click()
    await until(page_patient, "() => document.getElementById('visit-hold-notice').hidden", what="the notice gone",
                node=clinic)
    await until(page_patient, VIDEO_PLAYING_JS, doctor["id"], what="the clinician's video again", timeout=20,
                node=clinic)
    await page_patient.wait_for_timeout(1500)
    assert forwarded_packets(clinic) - held > 50, "media flows again after the resume"

    # She asks for an in-person visit; the clinician sees it.
    await page_patient.get_by_role("button", name="Proszę o wizytę stacjonarną").first.click()
    await page_patient.get_by_role("status").filter(
        has_text="Prośba o wizytę stacjonarną została wysłana do lekarza.").wait_for()
    await page_doctor.locator("#visit-requests").get_by_text("Ewa Pacjentka prosi o wizytę stacjonarną.").wait_for()

    # Completion: outcome and note; the visit ends for both.
    await page_doctor.get_by_role("button", name="Zakończ wizytę", exact=True).click()
    dialog = page_doctor.get_by_role("dialog", name="Zakończenie wizyty")
    await dialog.get_by_label("Potrzebna wizyta stacjonarna").check()
    await dialog.get_by_label("Notatka (do 2000 znaków)").fill(NOTE)
    await dialog.get_by_role("button", name="Zakończ i zapisz").click()
    for page in (page_doctor, page_patient):
        await until(page, "() => window.konsylium.view === 'end'", what="the visit over", node=clinic)

    receiver.wait(lambda r: any(m.payload["type"] == "consultation.completed" for m in r.seen()), timeout=30)
    message = next(m for m in receiver.seen() if m.payload["type"] == "consultation.completed")
    assert message.verified_with == [0]
    assert message.payload["data"]["outcome"] == "in_person_needed" and message.payload["data"]["by"] == doctor["id"]
    assert NOTE not in message.body.decode() and "Ewa" not in message.body.decode()

    audit = api(clinic, "GET", f"/api/v1/rooms/{room['id']}/audit")
    assert audit["verification"]["ok"] is True
    types = [e["event"]["type"] for e in audit["entries"]]
    for expected in ("consultation.patient_waiting", "consultation.started", "consultation.in_person_requested",
                     "consultation.completed", "room.ended"):
        assert expected in types, types
    admitted = next(e["event"] for e in audit["entries"] if e["event"]["type"] == "lobby.admitted")
    assert admitted["data"] == {"identity_confirmed": True} and admitted["by"] == doctor["id"]
    visit = api(clinic, "GET", f"/api/v1/rooms/{room['id']}/consultation")
    assert visit["outcome"] == "in_person_needed" and visit["note"] == NOTE
    log = clinic.log()
    assert NOTE not in log and "Ewa Pacjentka" not in log  # ids only in the log
