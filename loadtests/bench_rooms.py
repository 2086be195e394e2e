"""Room scenarios on Konsylium: a meeting of K (everyone sees everyone) and many small rooms.

Every member publishes VP8 by WHIP and pulls every other member of their room by
WHEP (K·(K-1) forwarded streams in a meeting of K; 2 per room of two). The
publishers replay one encoded cycle (`ReplayVp8Encoder`) so that dozens of them
fit in the load generator; subscribers count packets without decoding. The same
scenario runs against a node with 1 media worker and with 2, interleaved, to
show the rooms spreading over cores. Bounded in count and time; loopback only.

    python -m loadtests.bench_rooms --scenarios meeting:6,rooms:10x2 --workers 1,2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from loadtests.cpu import process_cpu
from loadtests.konsylium_node import KonsyliumNode
from loadtests.media_clients import CountingSubscriber, SyntheticPublisher


@dataclass
class Result:
    scenario: str
    workers: int
    rooms: int
    streams: int
    window: float
    cpu_percent: float
    forwarded_per_second: float
    received_per_second: float
    loss_percent: float

    @property
    def us_per_packet(self) -> float:
        return self.cpu_percent / 100 / self.forwarded_per_second * 1e6 if self.forwarded_per_second else 0.0

    @property
    def streams_per_core(self) -> float:
        return self.streams / (self.cpu_percent / 100) if self.cpu_percent else 0.0


def progress(message: str) -> None:
    print(f"[bench_rooms {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_scenario(text: str) -> tuple[int, int]:
    """'meeting:K' → (1 room, K members); 'rooms:RxM' → (R rooms, M members)."""
    kind, _, size = text.partition(":")
    if kind == "meeting":
        return 1, int(size)
    if kind == "rooms":
        rooms, _, members = size.partition("x")
        return int(rooms), int(members)
    raise ValueError(f"unknown scenario {text!r} (meeting:K or rooms:RxM)")


async def run(scenario: str, workers: int, warmup: float, window: float, bitrate: int) -> Result:
    room_count, members = parse_scenario(scenario)
    publishers: list[SyntheticPublisher] = []
    subscribers: list[CountingSubscriber] = []
    async with KonsyliumNode(workers=workers) as node:
        try:
            for _ in range(room_count):
                room_id, people = await node.book_members(members)
                for _, token in people:
                    publisher = SyntheticPublisher(bitrate=bitrate, replay=True)
                    await publisher.accept(await node.whip_as(room_id, token, await publisher.offer()))
                    publishers.append(publisher)
                await asyncio.sleep(0.5)  # tracks go live
                for viewer, (_, token) in enumerate(people):
                    for source, (source_id, _) in enumerate(people):
                        if source == viewer:
                            continue
                        subscriber = CountingSubscriber()
                        offer = await subscriber.offer(["video"])
                        await subscriber.accept(await node.whep_of(room_id, source_id, token, offer))
                        subscribers.append(subscriber)
            progress(f"{scenario} workers={workers}: {len(subscribers)} streams set up; warming up")
            await asyncio.sleep(warmup)
            cpu0, fwd0 = process_cpu(node.pid, with_children=True), await node.forwarded_packets()
            got0, began = sum(s.packets for s in subscribers), time.monotonic()
            await asyncio.sleep(window)
            cpu1, fwd1 = process_cpu(node.pid, with_children=True), await node.forwarded_packets()
            got1, elapsed = sum(s.packets for s in subscribers), time.monotonic() - began
            expected = sum(st.expected for s in subscribers for st in s.streams.values())
            received = sum(st.received for s in subscribers for st in s.streams.values())
            loss = 100 * (1 - received / expected) if expected else 0.0
            result = Result(scenario, workers, room_count, len(subscribers), elapsed,
                            100 * (cpu1.cpu_seconds - cpu0.cpu_seconds) / elapsed,
                            (fwd1 - fwd0) / elapsed, (got1 - got0) / elapsed, loss)
            progress(f"{scenario} workers={workers}: {result.forwarded_per_second:,.0f} pkt/s forwarded, "
                     f"SFU {result.cpu_percent:.1f} % CPU, loss {loss:.2f} %")
            return result
        finally:
            for subscriber in subscribers:
                await subscriber.close()
            for publisher in publishers:
                await publisher.close()


def table(results: list[Result]) -> str:
    lines = ["| scenario | media workers | streams | forwarded pkt/s | received pkt/s | SFU CPU % (all cores) "
             "| µs/pkt | streams per core | loss % |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r.scenario} | {r.workers} | {r.streams} | {r.forwarded_per_second:,.0f} | "
                     f"{r.received_per_second:,.0f} | {r.cpu_percent:.1f} | {r.us_per_packet:.1f} | "
                     f"{r.streams_per_core:,.0f} | {r.loss_percent:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--scenarios", default="meeting:6,rooms:10x2")
    parser.add_argument("--workers", default="1,2", help="media worker counts, run interleaved")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--bitrate", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    for scenario in args.scenarios.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            results.append(asyncio.run(run(scenario, workers, args.warmup, args.window, args.bitrate)))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
