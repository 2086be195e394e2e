"""Room messages: declared once, they drive parsing, the worker link's JSON, dispatch and the docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalling.errors import BadRequest
from signalling.live_room import HANDLERS, LiveRoom
from signalling.messages import (
    MESSAGES,
    SDP_MAX,
    Leave,
    Message,
    Mute,
    Publish,
    core_messages,
    handler_table,
    message_from_wire,
    parse_message,
    protocol_table,
)
from tests.strategies import json_values

PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"


def test_fields_are_checked_by_their_declared_types() -> None:
    assert parse_message("mute", {"kind": "video", "muted": True}) == Mute("video", True)
    assert parse_message("publish", {"sdp": "v=0", "extra": 1}) == Publish("v=0")  # unknown fields ignored
    assert parse_message("leave", None) == Leave()
    for name, data, field in [("mute", {"kind": "screen", "muted": True}, "'kind'"),
                              ("mute", {"kind": "audio", "muted": "yes"}, "'muted'"),
                              ("publish", {"sdp": " "}, "'sdp'"),
                              ("publish", {"sdp": "x" * (SDP_MAX + 1)}, "longer than"),
                              ("publish", ["v=0"], "send an object"),
                              ("nonsense", {}, "unknown event")]:
        with pytest.raises(BadRequest, match=field):
            parse_message(name, data)


@given(name=st.sampled_from(sorted(MESSAGES)), data=json_values)
def test_any_payload_is_a_message_or_a_bad_request(name: str, data: Any) -> None:
    try:
        message = parse_message(name, data)
    except BadRequest as exc:
        assert exc.code == "bad_request" and name in exc.detail
    else:
        assert isinstance(message, MESSAGES[name])
        assert message_from_wire(message.to_wire()) == message  # the worker link carries it unchanged


def test_every_message_has_exactly_one_handler() -> None:
    assert set(HANDLERS) == set(core_messages())

    class Incomplete(LiveRoom):
        pass

    assert handler_table(Incomplete) == HANDLERS  # inherited handlers count

    class NoHandlers:
        pass

    with pytest.raises(TypeError, match="no handler for: publish"):
        handler_table(NoHandlers)


def test_a_message_name_is_declared_once() -> None:
    from signalling.messages import message

    with pytest.raises(ValueError, match="declared twice"):
        message("mute")(type("Again", (Message,), {}))


def test_protocol_doc_shows_the_declared_messages() -> None:
    """docs/protocol.md's client → server table is what `python -m signalling.messages` prints."""
    text = PROTOCOL.read_text(encoding="utf-8")
    begin = text.index("-->\n", text.index("<!-- messages:begin")) + 4
    end = text.index("<!-- messages:end -->")
    assert text[begin:end] == protocol_table(), "run: python -m signalling.messages, paste into docs/protocol.md"
