"""The load generator's Socket.IO participant against a real node: joins, publishes, counts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import socketio

from loadtests.media_clients import SyntheticPublisher
from loadtests.socket_participant import SignallingError, SocketParticipant
from tests.signalling.clients import until
from tests.signalling.conftest import LiveNode, running_node

MEMBER = ("Member", "member", "administration")
VIEWER = ("Viewer", "viewer", "administration")


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[LiveNode]:
    async with running_node(tmp_path, 0) as live:
        yield live


async def test_two_participants_count_each_others_video_per_ssrc(node: LiveNode) -> None:
    room = await node.book(MEMBER, MEMBER, VIEWER, model="A2A")
    tokens = [p["token"] for p in room["participants"]]
    people = [SocketParticipant(node.url, token) for token in tokens]
    try:
        for person in people:
            await person.join()
        for person in people[:2]:
            await person.publish(SyntheticPublisher(replay=True))
        await until(lambda: all(p.subscriber is not None and p.subscriber.packets > 60 for p in people),
                    20, "everyone counting video")
        viewer = people[2].subscriber
        assert viewer is not None
        assert len(viewer.streams) == 2 and all(key.startswith("video:") for key in viewer.streams)  # one per SSRC
        assert all(s.received > 20 and s.expected - s.received <= 2 for s in viewer.streams.values())
        assert all(p.first_keyframe_at is not None and p.first_keyframe_at > p.joined_at for p in people)
        assert not any(p.errors for p in people)
    finally:
        for person in people:
            await person.close()


async def test_a_bad_token_or_a_refused_publish_is_an_error(node: LiveNode) -> None:
    room = await node.book(MEMBER, VIEWER, model="A2A")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await SocketParticipant(node.url, "not-a-token").join(timeout=5)
    viewer = SocketParticipant(node.url, room["participants"][1]["token"])
    publisher = SyntheticPublisher(replay=True)
    try:
        await viewer.join()
        with pytest.raises(SignallingError, match="publish refused"):
            await viewer.publish(publisher)  # viewers may not publish
    finally:
        await viewer.close()
