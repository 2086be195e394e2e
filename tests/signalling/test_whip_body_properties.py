"""Property: whatever body a WHIP or WHEP client posts, the answer is a 201 or a 4xx problem, never a
500, and a refused offer leaves the room as it was (the host still publishing, no peer left behind).

The bodies are raw bytes (binary, not UTF-8), text with control characters, and real offers
mutated line by line: the shapes an SDP fuzz against the live server produced 500s with before.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.signalling.clients import SDP, WhepViewer, client_pc, publish_offer, until
from tests.signalling.conftest import DOCTOR, PATIENT, VIEWER, LiveNode, running_node
from tests.strategies import nasty_text


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[tuple[LiveNode, dict[str, dict[str, str]], str, list[str]]]:
    async with running_node(tmp_path, 0) as live:
        booked = await live.book(DOCTOR, PATIENT, VIEWER)
        people = {p["role"]: p for p in booked["participants"]}
        host = live.client(people["host"]["token"])
        await host.connect()
        assert (await host.publish())["ok"]
        offers = [await WhepViewer().offer(), await publish_offer(client_pc())]
        yield live, people, booked["id"], offers


def mutated(offers: list[str]) -> st.SearchStrategy[bytes]:
    def mutate(offer: str, cuts: list[int], junk: str, where: int) -> bytes:
        lines = offer.split("\r\n")
        for cut in cuts:
            if lines:
                del lines[cut % len(lines)]
        lines.insert(where % (len(lines) + 1), junk)
        return "\r\n".join(lines).encode("utf-8", "surrogatepass")

    return st.builds(mutate, st.sampled_from(offers), st.lists(st.integers(0, 200), max_size=4),
                     nasty_text | st.sampled_from(["m=video 0 x", "a=group:BUNDLE 9", "a=setup:none",
                                                   "a=extmap:x", "a=candidate:1 1 udp 1 a.local 9 typ host"]),
                     st.integers(0, 200))


bodies = st.binary(max_size=300) | nasty_text.map(lambda t: t.encode("utf-8", "surrogatepass"))


async def one(url: str, token: str, body: bytes) -> tuple[int, str, str]:
    """POST *body*; a session that was created is deleted again, so every example starts alike."""
    headers = {"Authorization": f"Bearer {token}", **SDP}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=body, headers=headers) as resp:
            answer = resp.status, resp.headers.get("Content-Type", ""), await resp.text()
            location = resp.headers.get("Location")
        if answer[0] == 201 and location is not None:
            async with http.delete(location) as deleted:
                assert deleted.status == 200
    return answer


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_any_offer_body_is_answered_or_refused_cleanly(
    room: tuple[LiveNode, dict[str, dict[str, str]], str, list[str]], data: st.DataObject
) -> None:
    live, people, room_id, offers = room
    body = data.draw(bodies | mutated(offers))
    for url, token in ((f"{live.url}/whep/{room_id}?participant={people['host']['id']}", people["viewer"]["token"]),
                       (f"{live.url}/whip/{room_id}", people["member"]["token"])):
        status, content_type, text = await one(url, token, body)
        event(f"{url.split('/')[3]} {status}")
        assert status == 201 or 400 <= status < 500, (status, text)
        if status != 201:
            assert content_type.startswith("application/problem+json"), text
    await until(lambda: (live.node.rooms.totals().publishers, live.node.rooms.totals().subscribers) == (1, 0),
                what="only the host's publisher left")
