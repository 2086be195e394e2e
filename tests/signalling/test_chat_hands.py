"""Chat and raised hands (docs/protocol.md, "Chat" and "Raised hands").

First the pure parts (signalling/chat.py, signalling/hands.py) against simple models, then the live
room on the fakes of the unit tests (who is told what, who may do what), a property test that any
payload of these events is a bad request, a refusal or a result and never a crash, and last real
Socket.IO clients on a node, in-process and in media workers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signalling.chat import ChatLog, ChatRate
from signalling.errors import BadRequest, ChatRateLimited, Forbidden, LiveError, NotJoined, UnknownChatMessage
from signalling.hands import HandQueue
from signalling.messages import Admit, ChatRemove, ChatSend, LowerHand, RaiseHand, SetRole, parse_message
from tests.signalling.clients import Client, until
from tests.signalling.conftest import DOCTOR, PATIENT, VIEWER, LiveNode
from tests.signalling.world import NOW, ROOM_ID, World, build_world, settle
from tests.strategies import json_values

# -- the pure parts ------------------------------------------------------------------------------------


def test_the_log_keeps_the_newest_within_its_bounds() -> None:
    log = ChatLog(max_kept=3, max_chars=10)
    first = log.add("a", "1234", NOW)
    second = log.add("b", "5678", NOW)
    assert [m["id"] for m in log.history()] == [first.id, second.id]
    third = log.add("a", "90", NOW)
    fourth = log.add("c", "x", NOW)  # four messages: the oldest goes
    assert [m["id"] for m in log.history()] == [second.id, third.id, fourth.id]
    fifth = log.add("c", "abcdefgh", NOW)  # 4+2+1+8 = 15 characters > 10: the oldest go until it fits
    assert [m["id"] for m in log.history()] == [fourth.id, fifth.id]
    assert log.history()[-1] == {"id": fifth.id, "from": "c", "text": "abcdefgh", "at": NOW.isoformat()}
    assert log.remove(fourth.id) and not log.remove(fourth.id) and fourth.id not in log
    assert len(log) == 1


@given(actions=st.lists(st.one_of(st.tuples(st.just("add"), st.text(min_size=1, max_size=30)),
                                  st.tuples(st.just("remove"), st.integers(0, 40))), max_size=60),
       max_kept=st.integers(1, 8), max_chars=st.integers(1, 80))
def test_the_log_behaves_like_a_bounded_list(actions: list[tuple[str, Any]], max_kept: int, max_chars: int) -> None:
    log, model, ids = ChatLog(max_kept=max_kept, max_chars=max_chars), [], []
    for action, value in actions:
        if action == "add":
            message = log.add("p", value, NOW)
            ids.append(message.id)
            model.append((message.id, value))
            while len(model) > max_kept or (sum(len(t) for _, t in model) > max_chars and len(model) > 1):
                model.pop(0)
        elif ids:
            target = ids[value % len(ids)]
            assert log.remove(target) == any(i == target for i, _ in model)
            model = [(i, t) for i, t in model if i != target]
        assert [(m["id"], m["text"]) for m in log.history()] == model
    assert len(set(ids)) == len(ids)  # every id is new


@given(gaps=st.lists(st.floats(0, 12), max_size=40))
def test_the_rate_never_lets_more_than_five_through_in_ten_seconds(gaps: list[float]) -> None:
    rate, now, sent = ChatRate(), NOW, []
    for gap in gaps:
        now += timedelta(seconds=gap)
        wait = rate.wait("p", now)
        recent = [t for t in sent if now - t < timedelta(seconds=10)]
        assert (wait == 0.0) == (len(recent) < 5)
        if wait == 0.0:
            rate.spend("p", now)
            sent.append(now)
        else:
            assert 0 < wait <= 10
            assert rate.wait("p", now + timedelta(seconds=wait)) == 0.0  # the wait it says is enough
    assert rate.wait("q", now) == 0.0  # one sender's rate is theirs alone


@given(actions=st.lists(st.tuples(st.sampled_from(["raise", "lower"]), st.sampled_from("abcde")), max_size=40))
def test_hands_are_first_come_first_served(actions: list[tuple[str, str]]) -> None:
    queue, model = HandQueue(), []
    for action, who in actions:
        if action == "raise":
            assert queue.raise_hand(who, NOW) == (who not in model)
            if who not in model:
                model.append(who)
        else:
            assert queue.lower(who) == (who in model)
            model = [m for m in model if m != who]
        assert queue.order() == model and queue.view() == {"queue": model}
        assert (queue.raised_at(who) is not None) == (who in model)


# -- the live room, on fakes ---------------------------------------------------------------------------


@pytest.fixture
async def world() -> AsyncIterator[World]:
    made = build_world()
    yield made
    await made.service.close()


def chat_of(world: World) -> list[dict[str, Any]]:
    return [c.data for c in world.notifier.broadcasts(ROOM_ID, "chat_message")]


async def test_a_chat_message_goes_to_the_call_and_to_late_joiners(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    ack = await world.send("b", ChatSend("Dzień dobry <b>wszystkim</b>"))
    sent = chat_of(world)
    assert sent == [{"id": ack["id"], "from": "b", "text": "Dzień dobry <b>wszystkim</b>", "at": NOW.isoformat()}]
    assert world.notifier.broadcasts(ROOM_ID, "chat_message")[0].skip_sid is None  # the sender sees it too
    await world.arrive("v")  # a viewer joins late: the history comes in the welcome; viewers may chat
    assert world.notifier.to("sid-v", "welcome")[-1]["chat"] == sent
    await world.send("v", ChatSend("Pytanie"))
    assert [m["from"] for m in chat_of(world)] == ["b", "v"]
    world.live.socket_lost(world.member("b"), "sid-b")  # a reconnect gets it again
    await world.arrive("b", "sid-b2")
    assert [m["text"] for m in world.notifier.to("sid-b2", "welcome")[-1]["chat"]] == [
        "Dzień dobry <b>wszystkim</b>", "Pytanie"]


async def test_someone_waiting_neither_sends_nor_receives_chat_until_admitted(world: World) -> None:
    await world.arrive("a")
    await world.send("a", ChatSend("Zaczynamy"))
    await world.arrive("w")  # a citizen in A2C: waits
    welcome = world.notifier.to("sid-w", "welcome")[-1]
    assert "chat" not in welcome and "hands" not in welcome
    assert ("enter_call", "sid-w") not in [(c.how, c.target) for c in world.notifier.calls]  # hears no broadcast
    with pytest.raises(Forbidden, match="waiting"):
        await world.send("w", ChatSend("Halo?"))
    with pytest.raises(Forbidden):
        await world.send("w", RaiseHand())
    assert len(chat_of(world)) == 1
    await world.send("a", Admit("w"))
    assert [m["text"] for m in world.notifier.to("sid-w", "admitted")[-1]["chat"]] == ["Zaczynamy"]


async def test_a_sender_over_the_rate_is_refused_until_the_window_moves(world: World) -> None:
    await world.arrive("b")
    await world.arrive("c")
    for n in range(5):
        await world.send("b", ChatSend(f"wiadomość {n}"))
    with pytest.raises(ChatRateLimited, match="at most 5 chat messages per 10 s") as refused:
        await world.send("b", ChatSend("jeszcze jedna"))
    assert refused.value.code == "rate_limited"
    assert len(chat_of(world)) == 5
    await world.send("c", ChatSend("inna osoba"))  # the rate is per participant
    world.rooms.clock.advance(timedelta(seconds=10))  # type: ignore[attr-defined]
    await world.send("b", ChatSend("już można"))
    assert len(chat_of(world)) == 7


async def test_a_host_removes_a_message_and_its_text_is_gone(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    kept = (await world.send("b", ChatSend("zostaje")))["id"]
    removed = (await world.send("b", ChatSend("do usunięcia")))["id"]
    with pytest.raises(Forbidden, match="host"):
        await world.send("b", ChatRemove(removed))  # not even one's own
    assert await world.send("a", ChatRemove(removed)) == {}
    assert [c.data for c in world.notifier.broadcasts(ROOM_ID, "chat_removed")] == [{"id": removed}]
    assert [m["id"] for m in world.live.chat.history()] == [kept]
    with pytest.raises(UnknownChatMessage) as unknown:
        await world.send("a", ChatRemove(removed))
    assert unknown.value.code == "unknown_message"
    await world.arrive("c")
    assert [m["text"] for m in world.notifier.to("sid-c", "welcome")[-1]["chat"]] == ["zostaje"]


async def test_hands_queue_in_order_and_everyone_is_told(world: World) -> None:
    await world.arrive("a")
    await world.arrive("b")
    await world.arrive("v")
    await world.send("v", RaiseHand())  # viewers may ask to speak
    world.rooms.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
    await world.send("b", RaiseHand())
    await world.send("v", RaiseHand())  # already up: keeps its place, nobody is told again
    hands = [c.data for c in world.notifier.broadcasts(ROOM_ID, "hands")]
    assert hands == [{"queue": ["v"]}, {"queue": ["v", "b"]}]
    update = world.notifier.broadcasts(ROOM_ID, "participant_updated")[-1]
    assert update.data["id"] == "b" and update.skip_sid == "sid-b"
    assert update.data["hand_raised_at"] == (NOW + timedelta(seconds=1)).isoformat()
    await world.arrive("c")  # a late joiner: the queue and each one's hand in the welcome
    welcome = world.notifier.to("sid-c", "welcome")[-1]
    assert welcome["hands"] == {"queue": ["v", "b"]}
    assert {p["id"]: p["hand_raised_at"] for p in welcome["participants"]} == {
        "a": None, "b": (NOW + timedelta(seconds=1)).isoformat(), "v": NOW.isoformat()}

    with pytest.raises(Forbidden, match="host"):
        await world.send("c", LowerHand("b"))  # only a host lowers someone else's hand
    await world.send("b", LowerHand())  # one's own
    await world.send("b", LowerHand("b"))  # already down: nothing happens
    await world.send("b", RaiseHand())  # up again: at the end
    assert world.live.hands.order() == ["v", "b"]
    await world.send("a", LowerHand("v"))  # a host lowers someone's
    assert world.live.hands.order() == ["b"] and world.member("v").hand_raised_at is None
    with pytest.raises(NotJoined):
        await world.send("a", LowerHand("w"))


async def test_a_leavers_hand_leaves_the_queue_and_a_reconnecting_one_keeps_it(world: World) -> None:
    await world.arrive("a")
    b = await world.arrive("b")
    await world.arrive("c")
    await world.send("b", RaiseHand())
    await world.send("c", RaiseHand())
    world.live.socket_lost(b, "sid-b")
    await settle()
    assert world.live.hands.order() == ["b", "c"]  # may come back within the grace
    await world.arrive("b", "sid-b2")
    assert world.notifier.to("sid-b2", "welcome")[-1]["you"]["hand_raised_at"] == NOW.isoformat()
    await world.live.depart(world.member("c"), "left")
    assert world.live.hands.order() == ["b"]
    assert world.notifier.broadcasts(ROOM_ID, "hands")[-1].data == {"queue": ["b"]}
    await world.send("a", SetRole("b", "viewer"))  # a role change keeps the hand
    assert world.live.hands.order() == ["b"]


EVENTS = ["chat_send", "chat_remove", "raise_hand", "lower_hand"]
payloads = (json_values
            | st.fixed_dictionaries({"text": json_values | st.text(max_size=1200)})
            | st.fixed_dictionaries({"message_id": json_values | st.text(max_size=70)})
            | st.fixed_dictionaries({"participant_id": json_values | st.sampled_from(["a", "b", "c", "v", "zz"])}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=st.sampled_from(EVENTS), sender=st.sampled_from(["a", "b", "v", "w"]), payload=payloads)
async def test_any_chat_or_hand_payload_is_refused_or_done(world: World, event: str, sender: str,
                                                          payload: Any) -> None:
    """Whatever is sent, the answer is a bad request, a refusal with a code, or an ack; the room goes on."""
    for pid in ("a", "b", "v", "w"):
        if world.rooms.get(ROOM_ID) is None or world.live.member(pid) is None:
            await world.arrive(pid)
    world.rooms.clock.advance(timedelta(seconds=3))  # type: ignore[attr-defined]
    try:
        message = parse_message(event, payload)
    except BadRequest as exc:
        assert exc.code == "bad_request"
        return
    try:
        ack = await world.send(sender, message)
    except LiveError as exc:
        assert exc.code in {"forbidden", "rate_limited", "unknown_message", "not_joined"}, exc
    else:
        assert isinstance(ack, dict)
        if isinstance(message, ChatSend):
            assert chat_of(world)[-1] == {"id": ack["id"], "from": sender, "text": message.text,
                                          "at": world.rooms.clock.now().isoformat()}
    assert world.live.hands.order() == [p for p in world.live.hands.order() if world.live.member(p)]
    assert "w" not in world.live.hands.order()


# -- real sockets, in-process and in media workers -------------------------------------------------------

RECORDED = ("chat_message", "chat_removed", "hands")


def recording(live: LiveNode, token: str) -> Client:
    client = live.client(token)
    for name in RECORDED:
        client.sio.on(name, client._recorder(name))
    return client


async def test_two_people_chat_a_host_removes_a_message_and_a_late_joiner_gets_the_history(live: LiveNode) -> None:
    room = await live.book(DOCTOR, PATIENT, VIEWER)
    doctor_p, patient_p, viewer_p = room["participants"]
    doctor, patient = recording(live, doctor_p["token"]), recording(live, patient_p["token"])
    await doctor.connect()
    await patient.connect()
    assert doctor.welcome is not None and doctor.welcome["chat"] == []

    first = await patient.sio.call("chat_send", {"text": "Dzień dobry, <img src=x onerror=alert(1)>"})
    assert first["ok"] and first["id"].startswith("m-")
    second = await doctor.sio.call("chat_send", {"text": "Witam"})
    for client in (doctor, patient):
        await until(lambda c=client: len(c.named("chat_message")) == 2, what="both messages at both")  # type: ignore[misc]
    assert doctor.named("chat_message")[0]["text"] == "Dzień dobry, <img src=x onerror=alert(1)>"
    assert [m["from"] for m in patient.named("chat_message")] == [patient_p["id"], doctor_p["id"]]

    refused = await patient.sio.call("chat_remove", {"message_id": second["id"]})
    assert refused["error"]["code"] == "forbidden"
    assert await doctor.sio.call("chat_remove", {"message_id": first["id"]}) == {"ok": True}
    for client in (doctor, patient):
        await until(lambda c=client: c.named("chat_removed") == [{"id": first["id"]}],  # type: ignore[misc]
                    what="the removal at both")

    # The patient sends on: 4 more fit in the 10 s window (one was sent), the next is refused.
    for n in range(4):
        assert (await patient.sio.call("chat_send", {"text": f"wiadomość {n}"}))["ok"]
    over = await patient.sio.call("chat_send", {"text": "za dużo"})
    assert over["ok"] is False and over["error"]["code"] == "rate_limited", over
    await until(lambda: any(e.get("code") == "rate_limited" and e.get("event") == "chat_send"
                            for e in patient.named("error")), what="the rate_limited error event")
    bad = await patient.sio.call("chat_send", {"text": "linia\ndruga"})
    assert bad["error"]["code"] == "bad_request"  # one line of visible text

    # The patient raises a hand; a viewer who joins late gets the history without the removed message.
    assert await patient.sio.call("raise_hand", {}) == {"ok": True}
    await until(lambda: doctor.named("hands") == [{"queue": [patient_p["id"]]}], what="the hand at the doctor")
    viewer = recording(live, viewer_p["token"])
    await viewer.connect()
    assert viewer.welcome is not None
    assert [m["text"] for m in viewer.welcome["chat"]] == ["Witam", *(f"wiadomość {n}" for n in range(4))]
    assert viewer.welcome["hands"] == {"queue": [patient_p["id"]]}
    by_id = {p["id"]: p for p in viewer.welcome["participants"]}
    assert by_id[patient_p["id"]]["hand_raised_at"] is not None
    assert (await viewer.sio.call("chat_send", {"text": "Widz też pisze"}))["ok"]
    await until(lambda: patient.named("chat_message")[-1]["text"] == "Widz też pisze", what="the viewer's message")

    # The doctor lowers the patient's hand; the patient leaves and the others go on.
    assert await doctor.sio.call("lower_hand", {"participant_id": patient_p["id"]}) == {"ok": True}
    await until(lambda: viewer.named("hands")[-1:] == [{"queue": []}], what="the hand lowered")
