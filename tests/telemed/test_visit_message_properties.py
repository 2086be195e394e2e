"""Properties of the visit's messages: whatever their payload, a message is parsed or refused with
``bad_request``; whatever the sequence of visit messages and admissions from whomever, every refusal is a
live-room error with its code (never an unexpected failure), and the visit stays coherent: a held member's
media is paused both ways, nobody else's is, and the outcome is recorded at most once."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signalling.errors import BadRequest, LiveError
from signalling.member import ParticipantState
from signalling.messages import Admit, Message, parse_message
from telemed.visit_messages import VISIT_MESSAGES
from tests.strategies import json_text
from tests.telemed.visit_world import visit_world

NAMES = [cls.name for cls in VISIT_MESSAGES]
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=30) | st.sampled_from(
    ["p", "d", "g", "completed", "no_show", "\u202e", "x" * 2001, "a\nb", " "])
payloads = (st.dictionaries(st.sampled_from(["participant_id", "outcome", "note", "extra"]), scalars, max_size=3)
            | st.lists(scalars, max_size=2) | scalars)


@given(name=st.sampled_from(NAMES), payload=payloads)
def test_any_payload_is_a_message_or_bad_request(name: str, payload: Any) -> None:
    try:
        message = parse_message(name, payload)
    except BadRequest as exc:
        assert exc.code == "bad_request" and name in str(exc)
        return
    assert message.name == name
    assert parse_message(name, {k: v for k, v in message.to_wire().items() if k != "type"}) == message
    json_text(message.to_wire())  # JSON all the way (the worker link carries it)


people = st.sampled_from(["d", "p", "g", None])
targets = st.sampled_from(["p", "g", "d", "nobody"])
visit_messages = st.one_of(
    st.builds(lambda n, t: parse_message(n, {"participant_id": t}),
              st.sampled_from(["visit_hold", "visit_resume", "visit_send_back"]), targets),
    st.builds(lambda o, n: parse_message("visit_complete", {"outcome": o, "note": n}),
              st.sampled_from(["completed", "in_person_needed", "no_show", "technical_failure"]),
              st.none() | st.sampled_from(["Kontrola.", "a\nb", "\u202ex", "\n"])),
    st.just(parse_message("visit_request_in_person", {})),
    st.builds(lambda t, c: Admit(t, c), targets, st.none() | st.booleans()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(people, visit_messages), min_size=1, max_size=12))
async def test_any_sequence_keeps_the_visit_coherent(steps: list[tuple[str | None, Message]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with visit_world(Path(tmp)) as v:
            v.world.decisions.revoke = None  # the room stays up after a completion: later steps still run
            for pid in ("d", "p", "g"):
                await v.arrive(pid)
            await v.world.publish("d")
            for sender, message in steps:
                try:
                    await v.send(sender, message)
                except LiveError as exc:
                    assert exc.code, exc
                for member in v.world.live.members.values():
                    held = member.state is ParticipantState.ON_HOLD
                    if member.publisher is not None:
                        assert all(t.paused == held for t in member.publisher.tracks)
                    if member.subscriber is not None:
                        assert member.subscriber.paused == held
                    if member.participant.role.value == "host":
                        assert member.state is ParticipantState.IN_CALL
            assert v.types().count("consultation.completed") <= 1
            assert len(v.world.decisions.calls) == v.types().count("consultation.completed")
            record = await v.records.read(v.room.id)
            assert (record is not None and record.outcome is not None) == ("consultation.completed" in v.types())


def test_protocol_doc_shows_the_visit_messages() -> None:
    """docs/protocol.md's "Consultations" table is what `python -m telemed.visit_messages` prints."""
    from telemed.visit_messages import visit_table

    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text(encoding="utf-8")
    begin = text.index("-->\n", text.index("<!-- visit-messages:begin")) + 4
    end = text.index("<!-- visit-messages:end -->")
    assert text[begin:end] == visit_table(), "run: python -m telemed.visit_messages, paste into docs/protocol.md"
