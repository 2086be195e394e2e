"""Signalling load: many Socket.IO clients on one node, with join/leave churn.

Books rooms, connects every client (join token in the handshake, as a browser
does), then for a bounded time lets some clients leave and come back while
others toggle mute and watch the broadcast arrive at a peer. Prints a table:
connect (handshake → ``welcome``) latency, ``mute`` ack latency, broadcast
latency (a ``mute`` to the peer's ``participant_updated``), and the node's
memory per connection (front process and media workers together).

    python -m loadtests.bench_signalling --clients 2000 --room-size 10 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import aiohttp
import socketio

from loadtests.node import BENCH_KEY, local_node, rss_bytes
from loadtests.percentiles import percentile


@dataclass
class Stats:
    connect_ms: list[float] = field(default_factory=list)
    ack_ms: list[float] = field(default_factory=list)
    broadcast_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    joins: int = 0
    leaves: int = 0


class Participant:
    """One Socket.IO client standing for one booked participant."""

    def __init__(self, url: str, token: str, pid: str, stats: Stats) -> None:
        self.url, self.token, self.id, self.stats = url, token, pid, stats
        self.sio: socketio.AsyncClient | None = None
        self.muted = False
        self.busy = False  # one action at a time per participant

    async def join(self) -> None:
        sio = socketio.AsyncClient(reconnection=False)
        welcomed: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_welcome(data: Any) -> None:
            if not welcomed.done():
                welcomed.set_result(data)

        sio.on("welcome", on_welcome)
        sio.on("participant_updated", self._updated)
        started = time.perf_counter()
        await sio.connect(self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=20)
        await asyncio.wait_for(welcomed, 20)
        self.stats.connect_ms.append((time.perf_counter() - started) * 1000)
        self.stats.joins += 1
        self.sio = sio

    def _updated(self, data: Any) -> None:
        sent = Peers.sent.pop(data.get("id"), None)
        if sent is not None:
            self.stats.broadcast_ms.append((time.perf_counter() - sent) * 1000)

    async def toggle_mute(self) -> None:
        assert self.sio is not None
        self.muted = not self.muted
        started = time.perf_counter()
        Peers.sent[self.id] = started
        ack = await self.sio.call("mute", {"kind": "audio", "muted": self.muted}, timeout=20)
        self.stats.ack_ms.append((time.perf_counter() - started) * 1000)
        if not ack.get("ok"):
            code = ack.get("error", {}).get("code", "?")
            self.stats.errors += 1
            self.stats.error_kinds[f"mute:{code}"] = self.stats.error_kinds.get(f"mute:{code}", 0) + 1

    async def leave(self) -> None:
        if self.sio is None:
            return
        sio, self.sio = self.sio, None
        await sio.call("leave", {}, timeout=20)
        await sio.disconnect()
        self.stats.leaves += 1


class Peers:
    #: Mutes sent and not yet seen by anyone: the first peer to see one measures it.
    sent: ClassVar[dict[str, float]] = {}


async def book_rooms(url: str, rooms: int, size: int) -> list[list[tuple[str, str]]]:
    start = datetime.now(UTC) - timedelta(minutes=5)
    out = []
    headers = {"Authorization": f"Bearer {BENCH_KEY}"}
    async with aiohttp.ClientSession() as http:
        for n in range(rooms):
            body = {"title": f"Load {n}", "kind": "meeting", "model": "A2A",
                    "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
                    "participants": [{"display_name": f"P{i}", "role": "member",
                                      "party": "administration"} for i in range(size)]}
            async with http.post(f"{url}/api/v1/rooms", json=body, headers=headers) as resp:
                room = await resp.json()
                out.append([(p["token"], p["id"]) for p in room["participants"]])
    return out


_last_progress = [0.0]


def progress(text: str, force: bool = False) -> None:
    """A progress line, rewritten at most twice a second."""
    now = time.monotonic()
    if force or now - _last_progress[0] > 0.5:
        _last_progress[0] = now
        sys.stderr.write(f"\r{text:<78}")
        sys.stderr.flush()


def failed(stats: Stats, exc: BaseException) -> None:
    stats.errors += 1
    kind = type(exc).__name__
    stats.error_kinds[kind] = stats.error_kinds.get(kind, 0) + 1


async def run(url: str, pid: int, clients: int, size: int, seconds: float) -> dict[str, Any]:
    stats = Stats()
    rooms = await book_rooms(url, (clients + size - 1) // size, size)
    people = [Participant(url, token, p, stats) for room in rooms for token, p in room][:clients]
    rss_before = rss_bytes(pid)
    gate = asyncio.Semaphore(50)

    async def join(person: Participant) -> None:
        async with gate:
            try:
                await person.join()
            except Exception as exc:
                failed(stats, exc)
            progress(f"connecting {stats.joins}/{clients}", force=stats.joins == clients)

    await asyncio.gather(*(join(p) for p in people))
    await asyncio.sleep(1)
    rss_connected = rss_bytes(pid)
    connected = sum(p.sio is not None for p in people)
    deadline = time.monotonic() + seconds
    rng = random.Random(7)

    async def churn() -> None:
        while time.monotonic() < deadline:
            person = rng.choice(people)
            if person.busy:
                await asyncio.sleep(0)
                continue
            person.busy = True
            try:
                if person.sio is None:
                    await person.join()
                elif rng.random() < 0.5:
                    await person.leave()
                else:
                    await person.toggle_mute()
            except Exception as exc:
                failed(stats, exc)
            finally:
                person.busy = False
            progress(f"churn {deadline - time.monotonic():4.0f}s left: joins {stats.joins} "
                     f"leaves {stats.leaves} mutes {len(stats.ack_ms)} errors {stats.errors}")

    await asyncio.gather(*(churn() for _ in range(20)))
    sys.stderr.write("\n")
    for person in people:
        if person.sio is not None:
            await person.sio.disconnect()
    per_conn = (rss_connected - rss_before) / max(connected, 1)
    return {
        "clients": clients, "connected": connected, "room_size": size,
        "connect_p50_ms": percentile(stats.connect_ms, 0.5), "connect_p99_ms": percentile(stats.connect_ms, 0.99),
        "ack_p50_ms": percentile(stats.ack_ms, 0.5), "ack_p99_ms": percentile(stats.ack_ms, 0.99),
        "broadcast_p50_ms": percentile(stats.broadcast_ms, 0.5),
        "broadcast_p99_ms": percentile(stats.broadcast_ms, 0.99),
        "joins": stats.joins, "leaves": stats.leaves, "mutes": len(stats.ack_ms), "errors": stats.errors,
        "error_kinds": stats.error_kinds,
        "rss_mb": rss_connected / 2**20, "rss_kb_per_connection": per_conn / 1024,
    }


def table(r: dict[str, Any]) -> str:
    return "\n".join([
        "| clients connected | room size | connect p50/p99 ms | mute ack p50/p99 ms | broadcast p50/p99 ms "
        "| joins / leaves / mutes | errors | node RSS MB | KB per connection |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| {r['connected']} | {r['room_size']} | {r['connect_p50_ms']:.0f} / {r['connect_p99_ms']:.0f} "
        f"| {r['ack_p50_ms']:.1f} / {r['ack_p99_ms']:.1f} | {r['broadcast_p50_ms']:.1f} / "
        f"{r['broadcast_p99_ms']:.1f} | {r['joins']} / {r['leaves']} / {r['mutes']} | {r['errors']} "
        f"| {r['rss_mb']:.0f} | {r['rss_kb_per_connection']:.0f} |",
        *([f"\nerrors by kind: {r['error_kinds']}"] if r["errors"] else []),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0, help="churn duration (bounded)")
    parser.add_argument("--workers", default=None, help="KONSYLIUM_WORKERS of the node")
    parser.add_argument("--json", help="write the result here too")
    args = parser.parse_args()
    env = {} if args.workers is None else {"KONSYLIUM_WORKERS": args.workers}
    with local_node(**env) as node:
        result = asyncio.run(run(node.url, node.pid, args.clients, args.room_size, args.seconds))
    print(table(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)


if __name__ == "__main__":
    main()
