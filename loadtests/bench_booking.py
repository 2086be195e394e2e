"""Booking throughput: bookings per second and p50/p99 latency with N concurrent clients.

Starts its own ``konsylium serve`` (embedded SQLite, fresh data dir) unless
``--url`` names a running node, then books rooms from N concurrent HTTP
clients and prints a table. Right after each level the same clients hit
``GET /healthz`` (no store, no tokens) as a same-run reference: the ratio tells
what booking costs over bare HTTP on this noisy, shared machine. Bounded in
count and time; loopback only.

    python -m loadtests.bench_booking --concurrency 1,8,32,64 --count 3000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp

from loadtests.node import BENCH_KEY, local_node

KEY = BENCH_KEY


@dataclass
class Result:
    concurrency: int
    done: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def booking(n: int) -> dict[str, object]:
    start = datetime.now(UTC) + timedelta(days=1, minutes=n)
    return {
        "title": f"Bench {n}",
        "kind": "consultation",
        "model": "A2C",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(minutes=20)).isoformat(),
        "participants": [
            {"display_name": "Doctor", "role": "host", "party": "administration"},
            {"display_name": "Patient", "role": "member", "party": "citizen"},
        ],
    }


async def run(url: str, concurrency: int, count: int, max_seconds: float, reference: bool = False) -> Result:
    """Book *count* rooms from *concurrency* clients (or, as *reference*, GET /healthz)."""
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    bodies = [json.dumps(booking(n)).encode() for n in range(count)]
    method, path, expected = ("GET", "/healthz", 200) if reference else ("POST", "/api/v1/rooms", 201)
    latencies: list[float] = []
    errors = 0
    next_index = 0
    deadline = time.monotonic() + max_seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal next_index, errors
            while next_index < count and time.monotonic() < deadline:
                body = bodies[next_index]
                next_index += 1
                started = time.perf_counter()
                async with session.request(method, f"{url}{path}", data=body, headers=headers) as resp:
                    await resp.read()
                    if resp.status == expected:
                        latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    return Result(concurrency, len(latencies), errors, seconds, latencies)


def table(results: list[tuple[Result, Result]]) -> str:
    lines = [
        "| clients | bookings | errors | bookings/s | p50 ms | p99 ms | GET /healthz/s | bookings ÷ healthz |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r, ref in results:
        lines.append(
            f"| {r.concurrency} | {r.done} | {r.errors} | {r.rate:,.0f} | {r.pct(0.5):.1f} | "
            f"{r.pct(0.99):.1f} | {ref.rate:,.0f} | {r.rate / ref.rate:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running node (its API keys must include bench=KEY)")
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--count", type=int, default=3000, help="bookings per level")
    parser.add_argument("--max-seconds", type=float, default=30.0, help="time bound per level")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    async def all_levels(url: str) -> list[tuple[Result, Result]]:
        await run(url, 4, 200, 10)  # warm-up
        out = []
        for c in levels:  # interleaved: the reference runs right after each level, same node
            booked = await run(url, c, args.count, args.max_seconds)
            out.append((booked, await run(url, c, args.count, args.max_seconds, reference=True)))
        return out

    if args.url:
        results = asyncio.run(all_levels(args.url))
    else:
        with local_node(KONSYLIUM_WORKERS="0") as node:
            results = asyncio.run(all_levels(node.url))
    print(table(results))


if __name__ == "__main__":
    main()
