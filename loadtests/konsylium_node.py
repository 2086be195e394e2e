"""A throwaway Konsylium node for media benchmarks: start, book a room, WHIP/WHEP, metrics.

The node runs as `python -m konsylium serve` in a subprocess (fresh data dir, embedded
store, media on 127.0.0.1), optionally pinned to one core with taskset.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any

import aiohttp

from loadtests.cpu import pinned_command
from loadtests.node import BENCH_KEY, answers, free_port

__all__ = ["BookedRoom", "KonsyliumNode"]

KEY = BENCH_KEY
SDP = "application/sdp"
_FORWARDED = re.compile(r"^konsylium_forwarded_packets_total\s+(\S+)$", re.MULTILINE)


def _normal_priority() -> None:
    """In the node's process before it runs: undo a niced load generator's priority (root only)."""
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, 0)


@dataclass(frozen=True, slots=True)
class BookedRoom:
    id: str
    host_id: str
    host_token: str
    viewer_tokens: tuple[str, ...]


class KonsyliumNode:
    """`konsylium serve` in a subprocess; use as an async context manager.

    Media may run in worker processes of the node: measure `pid` with its children.
    """

    def __init__(self, core: int | None = None, workers: int | None = None) -> None:
        self._core = core
        self._workers = workers
        self._data = tempfile.TemporaryDirectory(prefix="konsylium-bench-sfu-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._http: aiohttp.ClientSession | None = None
        self.url = ""

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    @property
    def http(self) -> aiohttp.ClientSession:
        assert self._http is not None
        return self._http

    async def __aenter__(self) -> KonsyliumNode:
        port = free_port()
        env = {**os.environ, "KONSYLIUM_PORT": str(port), "KONSYLIUM_DATA_DIR": self._data.name,
               "KONSYLIUM_API_KEYS": f"bench={KEY}", "KONSYLIUM_MEDIA_ADDRESSES": "127.0.0.1",
               "KONSYLIUM_LOG_LEVEL": "warning"}
        if self._workers is not None:  # media worker processes (the node's default: one per CPU)
            env["KONSYLIUM_WORKERS"] = str(self._workers)
        command = pinned_command([sys.executable, "-m", "konsylium", "serve"], self._core)
        self._log = open(os.path.join(self._data.name, "node.log"), "wb")  # closed in __aexit__
        self._proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=self._log,
                                      preexec_fn=_normal_priority)
        self.url = f"http://127.0.0.1:{port}"
        self._http = aiohttp.ClientSession()
        if not await answers(self.http, f"{self.url}/healthz", self._proc, 30):
            await self.__aexit__()
            raise RuntimeError(f"the node did not start; see {self.log_tail()}")
        return self

    def log_tail(self) -> str:
        try:
            with open(os.path.join(self._data.name, "node.log"), encoding="utf-8", errors="replace") as log:
                return log.read()[-2000:]
        except OSError:
            return "(no log)"

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(self._proc.wait, 10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._log is not None:
            self._log.close()
        self._data.cleanup()

    async def book_room(self, viewers: int) -> BookedRoom:
        """Book a room (A2A, starting now) with one host and `viewers` viewers: a meeting, or a
        council session (up to 300 people) when a meeting's 100 would not hold them."""
        start = datetime.now(UTC)
        body = {
            "title": f"SFU bench 1→{viewers}",
            "kind": "meeting" if viewers < 100 else "council_session",
            "model": "A2A",
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=1)).isoformat(),
            "participants": [{"display_name": "Publisher", "role": "host", "party": "administration"}]
            + [{"display_name": f"Viewer {i}", "role": "viewer", "party": "administration"}
               for i in range(viewers)],
        }
        headers = {"Authorization": f"Bearer {KEY}"}
        async with self.http.post(f"{self.url}/api/v1/rooms", json=body, headers=headers) as resp:
            room: dict[str, Any] = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"booking failed: {resp.status} {room}")
        host = next(p for p in room["participants"] if p["role"] == "host")
        tokens = tuple(p["token"] for p in room["participants"] if p["role"] == "viewer")
        return BookedRoom(room["id"], host["id"], host["token"], tokens)

    async def _post_sdp(self, path: str, token: str, offer: str) -> str:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SDP}
        async with self.http.post(f"{self.url}{path}", data=offer, headers=headers) as resp:
            text = await resp.text()
            if resp.status != 201:
                raise RuntimeError(f"POST {path} failed: {resp.status} {text}")
            return text

    async def book_members(self, count: int) -> tuple[str, list[tuple[str, str]]]:
        """Book an A2A meeting open now with `count` members; return (room id, [(id, token)])."""
        start = datetime.now(UTC)
        body = {"title": f"Meeting of {count}", "kind": "meeting", "model": "A2A",
                "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
                "participants": [{"display_name": f"Member {i}", "role": "member", "party": "administration"}
                                 for i in range(count)]}
        async with self.http.post(f"{self.url}/api/v1/rooms", json=body,
                                  headers={"Authorization": f"Bearer {KEY}"}) as resp:
            room: dict[str, Any] = await resp.json()
            if resp.status != 201:
                raise RuntimeError(f"booking failed: {resp.status} {room}")
        return room["id"], [(p["id"], p["token"]) for p in room["participants"]]

    async def whip_as(self, room_id: str, token: str, offer: str) -> str:
        return await self._post_sdp(f"/whip/{room_id}", token, offer)

    async def whep_of(self, room_id: str, participant_id: str, token: str, offer: str) -> str:
        return await self._post_sdp(f"/whep/{room_id}?participant={participant_id}", token, offer)

    async def whip(self, room: BookedRoom, offer: str) -> str:
        return await self._post_sdp(f"/whip/{room.id}", room.host_token, offer)

    async def whep(self, room: BookedRoom, token: str, offer: str) -> str:
        return await self._post_sdp(f"/whep/{room.id}?participant={room.host_id}", token, offer)

    async def forwarded_packets_aligned(self) -> int:
        """`forwarded_packets` just after a media worker's report moved it.

        Media workers report their totals to the front once a second: waiting for the
        counter to move aligns a CPU snapshot taken next with it (to ~50 ms; with several
        workers, with one of them). Each scrape costs the front ~2 ms of CPU, counted in a
        window: hence the slow poll.
        """
        first = await self.forwarded_packets()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            value = await self.forwarded_packets()
            if value != first:
                return value
        return first

    async def forwarded_packets(self) -> int:
        """`konsylium_forwarded_packets_total` from GET /metrics."""
        async with self.http.get(f"{self.url}/metrics") as resp:
            text = await resp.text()
        match = _FORWARDED.search(text)
        if match is None:
            raise RuntimeError("konsylium_forwarded_packets_total is missing from /metrics")
        return int(float(match.group(1)))
