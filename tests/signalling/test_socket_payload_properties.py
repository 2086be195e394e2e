"""Property: whatever a seated client sends over Socket.IO, it gets an ack with a known code, never
``internal``, and the room is unchanged and goes on.

Hypothesis drives an async test (pytest-asyncio runs each example on the test's loop); the node and
the two members are built once per test and shared by the examples, which is the point: a bad message
must leave them as they were. The rate limit is lifted for these tests only, so that every message
reaches its handler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signalling.socket_api
from tests.signalling.clients import Client, until
from tests.signalling.conftest import DOCTOR, PATIENT, LiveNode, running_node

EVENTS = ["publish", "unpublish", "subscriber_answer", "mute"]
KNOWN_CODES = {"bad_request", "invalid_sdp", "forbidden", "not_joined", "negotiation_in_progress",
               "rate_limited", "server_busy"}
SDP_START = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"

surrogates = st.sampled_from(["\ud800", "a\udfffb", "\udc00" * 3])
scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40)
           | surrogates)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
sdp_like = st.builds(lambda lines: SDP_START + "\r\n".join(lines) + "\r\n",
                     st.lists(st.sampled_from([
                         "m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=video 0 RTP/AVP 96", "a=group:BUNDLE 0 1",
                         "a=mid:0", "a=rtpmap:111 opus/48000/2", "a=setup:actpass", "a=ice-ufrag:x",
                         "a=fingerprint:sha-256 00", "c=IN IP4 0.0.0.0", "a=extmap:1 urn:x vad=on",
                         "a=candidate:1 1 udp 1 abc.local 9 typ host", "a=\ud800", "m=", "a=sendonly",
                     ]), max_size=12))
payloads = (json_values
            | st.fixed_dictionaries({"sdp": json_values | sdp_like | st.text(max_size=200) | surrogates})
            | st.fixed_dictionaries({"kind": json_values | st.sampled_from(["audio", "video"]),
                                     "muted": json_values | st.booleans()}))


@pytest.fixture
async def seated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[LiveNode, Client, Client]]:
    monkeypatch.setattr(signalling.socket_api, "RATE", 1e6)
    monkeypatch.setattr(signalling.socket_api, "BURST", 1e6)
    async with running_node(tmp_path, 0) as live:
        room = await live.book(DOCTOR, PATIENT)
        doctor, patient = (live.client(p["token"]) for p in room["participants"])
        patient.auto_answer = False
        await doctor.connect()
        await patient.connect()
        yield live, doctor, patient


async def room_goes_on(live: LiveNode, sender: Client, other: Client) -> None:
    assert sender.sio.connected and other.sio.connected
    ack = await other.sio.call("mute", {"kind": "audio", "muted": True})
    assert ack == {"ok": True}, ack
    await other.sio.call("mute", {"kind": "audio", "muted": False})
    assert len(await live.connected(str(sender.welcome["room"]["id"]))) == 2  # type: ignore[index]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.sampled_from(EVENTS), payload=payloads)
async def test_any_payload_gets_a_known_answer(seated: tuple[LiveNode, Client, Client], event: str,
                                               payload: Any) -> None:
    live, doctor, patient = seated
    ack = await patient.sio.call(event, payload, timeout=10)
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), ack
    if not ack["ok"]:
        assert ack["error"]["code"] in KNOWN_CODES, ack
    if event == "publish" and ack["ok"]:
        await patient.sio.call("unpublish", {})
    await room_goes_on(live, patient, doctor)
    await until(lambda: live.node.rooms.totals().publishers == 0, what="no publisher left behind")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.text(min_size=1, max_size=60).filter(lambda e: e not in [*EVENTS, "leave"]
                                                      and e not in ("connect", "disconnect", "message")),
       payload=json_values)
async def test_unknown_events_are_refused(seated: tuple[LiveNode, Client, Client], event: str,
                                          payload: Any) -> None:
    live, doctor, patient = seated
    ack = await patient.sio.call(event, payload, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    await room_goes_on(live, patient, doctor)
