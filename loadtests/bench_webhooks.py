"""Webhook delivery under booking load: throughput, lag event → received, and the outbox's depth.

Starts its own node (embedded SQLite, fresh data dir, loopback webhooks allowed)
and a receiver in a process of its own (`loadtests.webhook_receiver`: 204 at once,
a sample of signatures verified with ``standardwebhooks``), registers one endpoint
for every event type of tenant ``bench``, then for each offered rate books rooms
open-loop (booking *i* is sent at t0 + i/rate whatever the answers do, so the
offered rate is real; the latency counts from that scheduled moment) for a fixed
time. Every booking is one ``booking.created`` event, so one webhook message. The
outbox's depth (``/metrics``: pending and oldest-pending age) is sampled every
0.5 s during the run and until it drains. Node CPU counts the node and its
children (the webhook delivery process). ``--in-front`` sends from the front's
event loop instead, for comparison. Same-run reference, right after each
level: the same offered rate booked by tenant ``ref``, which has no endpoint, so
bookings ÷ reference is what webhooks cost the booking path. Bounded in count
and time; loopback only.

    python -m loadtests.bench_webhooks --rates 250,500,1000 --seconds 20 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from loadtests.bench_booking import booking
from loadtests.cpu import process_cpu
from loadtests.node import BENCH_KEY, Node, local_node
from loadtests.percentiles import percentile
from loadtests.webhook_receiver import PATH, Record

__all__ = ["Level", "Offered", "main", "offer", "table"]

REF_KEY = "bench-ref-key-0123456789abcdef"
SAMPLE_EVERY = 0.5
PENDING = "konsylium_webhook_outbox_pending"
OLDEST = "konsylium_webhook_outbox_oldest_pending_seconds"
ATTEMPTS = "konsylium_webhook_deliveries_total"


@dataclass
class Offered:
    """What an open-loop run of bookings did: sent at *rate* for *seconds*."""

    rate: float
    seconds: float
    offered: int
    booked: int = 0
    errors: int = 0
    skipped: int = 0  # not sent: too many bookings already waiting for an answer
    last_answer: float = 0.0  # seconds after t0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def achieved(self) -> float:
        """Bookings answered 201 per second, from the first send to the last answer."""
        span = max(self.seconds, self.last_answer)
        return self.booked / span if span else 0.0


@dataclass
class Level:
    """One offered rate with webhooks, its reference without, and what the receiver and outbox saw."""

    offered: Offered
    reference: Offered
    delivered: int
    duplicates: int
    failures: int
    missing: int
    verified: int
    verify_failed: int
    lag_ms: list[float]
    delivered_span: float  # seconds from the level's t0 to the last delivery
    series: list[tuple[float, float, float]]  # (seconds after t0, pending, oldest pending age s)
    depth_at_end: float
    drain_seconds: float | None  # None: did not drain within the bound
    load: str
    cpu: dict[str, float]  # the node's CPU seconds (all threads): "offer", "drain", "reference"

    @property
    def delivered_rate(self) -> float:
        return self.delivered / self.delivered_span if self.delivered_span else 0.0

    def cores(self, phase: str) -> float:
        """The node's CPU in *phase*, in cores (1.0 = one core busy all along)."""
        seconds = {"offer": max(self.offered.seconds, self.offered.last_answer),
                   "drain": self.drain_seconds or 0.0,
                   "reference": max(self.reference.seconds, self.reference.last_answer)}[phase]
        return self.cpu[phase] / seconds if seconds else float("nan")

    def ms_per_delivery(self) -> float:
        """Node CPU per message delivered while draining, with no bookings (NaN for a short drain)."""
        return 1000 * self.cpu["drain"] / self.depth_at_end if self.depth_at_end >= 100 else float("nan")

    def drain_cores(self) -> str:
        return f"{self.cores('drain'):.2f}" if (self.drain_seconds or 0) >= 1 else "-"

    def ms_per_booking(self) -> float:
        """Node CPU per booking in the reference (no endpoint)."""
        return 1000 * self.cpu["reference"] / self.reference.booked if self.reference.booked else float("nan")

    @property
    def max_depth(self) -> float:
        return max((pending for _, pending, _ in self.series), default=0.0)

    def summary(self) -> dict[str, Any]:
        """The level for the JSON output (latency lists summarized, the depth series kept)."""
        def pcts(values: list[float]) -> dict[str, float]:
            return {f"p{int(q * 100)}": percentile(values, q) for q in (0.5, 0.95, 0.99)} | {
                "max": max(values, default=float("nan"))}

        out: dict[str, Any] = {}
        for name, run in (("bookings", self.offered), ("reference", self.reference)):
            fields = asdict(run)
            fields.pop("latencies_ms")
            out[name] = fields | {"achieved_per_s": run.achieved, "latency_ms": pcts(run.latencies_ms)}
        out.update(delivered=self.delivered, delivered_per_s=self.delivered_rate, duplicates=self.duplicates,
                   failures=self.failures, missing=self.missing, verified=self.verified,
                   verify_failed=self.verify_failed, lag_ms=pcts(self.lag_ms), max_depth=self.max_depth,
                   depth_at_end=self.depth_at_end, drain_seconds=self.drain_seconds, load=self.load,
                   node_cpu_seconds=self.cpu, node_cores={phase: self.cores(phase) for phase in self.cpu},
                   node_cpu_ms_per_delivery=self.ms_per_delivery(), node_cpu_ms_per_booking=self.ms_per_booking(),
                   series=[list(point) for point in self.series])
        return out


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


async def offer(http: aiohttp.ClientSession, url: str, key: str, rate: float, seconds: float, first: int,
                max_waiting: int) -> Offered:
    """Send ``rate * seconds`` bookings open-loop, booking *i* at t0 + i/rate; wait for the answers
    (bounded: twice the offered time, at least 10 s more)."""
    count = int(rate * seconds)
    result = Offered(rate, seconds, count)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    bodies = [json.dumps(booking(first + n)).encode() for n in range(count)]
    waiting: set[asyncio.Task[None]] = set()
    t0 = time.perf_counter()

    async def one(body: bytes, scheduled: float) -> None:
        try:
            async with http.post(f"{url}/api/v1/rooms", data=body, headers=headers) as resp:
                await resp.read()
                ok = resp.status == 201
        except (aiohttp.ClientError, TimeoutError):
            ok = False
        now = time.perf_counter()
        if ok:
            result.booked += 1
            result.latencies_ms.append((now - scheduled) * 1000)
            result.last_answer = max(result.last_answer, now - t0)
        else:
            result.errors += 1

    sent = 0
    while sent < count:
        due = min(count, int((time.perf_counter() - t0) * rate) + 1)
        while sent < due:
            if len(waiting) >= max_waiting:
                result.skipped += 1
            else:
                task = asyncio.create_task(one(bodies[sent], t0 + sent / rate))
                waiting.add(task)
                task.add_done_callback(waiting.discard)
            sent += 1
        await asyncio.sleep(max(0.0, t0 + sent / rate - time.perf_counter()))
    if waiting:
        await asyncio.wait(set(waiting), timeout=max(10.0, 2 * seconds))
    for task in list(waiting):
        task.cancel()
        result.errors += 1
    return result


def metric(text: str, name: str, labels: str = "") -> float:
    """The value of *name* (with exactly *labels*, e.g. ``outcome="retry"``) in an exposition text; 0 if absent."""
    wanted = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(wanted + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def scrape(http: aiohttp.ClientSession, url: str) -> str:
    """The node's ``/metrics`` (asked again when a kept-alive connection was closed under us)."""
    for tries in range(3):
        try:
            async with http.get(f"{url}/metrics") as resp:
                return await resp.text()
        except aiohttp.ClientError:
            if tries == 2:
                raise
    raise AssertionError("unreachable")


def failed_attempts(text: str) -> float:
    return sum(metric(text, ATTEMPTS, f'outcome="{o}"') for o in ("retry", "failed", "gone", "interrupted"))


async def receiver_count(http: aiohttp.ClientSession, receiver: str) -> int:
    """Distinct messages the receiver has seen since its last take (-1 when it did not answer this time)."""
    try:
        async with http.get(f"{receiver}/_count") as resp:
            return int((await resp.json())["distinct"])
    except aiohttp.ClientError:
        return -1


async def level(http: aiohttp.ClientSession, node: Node, receiver: str, rate: float, seconds: float, first: int,
                max_waiting: int, drain_timeout: float) -> Level:
    """One offered rate with the endpoint registered, until the outbox drains; then the reference."""
    url = node.url
    load = load_average()
    failures_before = failed_attempts(await scrape(http, url))
    series: list[tuple[float, float, float]] = []
    t0 = time.perf_counter()
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            text = await scrape(http, url)
            series.append((time.perf_counter() - t0, metric(text, PENDING), metric(text, OLDEST)))
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
            except TimeoutError:
                pass

    sampler = asyncio.create_task(sample())
    cpu_start = process_cpu(node.pid, with_children=True).cpu_seconds
    offered = await offer(http, url, BENCH_KEY, rate, seconds, first, max_waiting)
    cpu_offered = process_cpu(node.pid, with_children=True).cpu_seconds
    end_text = await scrape(http, url)
    depth_at_end = metric(end_text, PENDING)
    series.append((time.perf_counter() - t0, depth_at_end, metric(end_text, OLDEST)))
    ended = time.perf_counter()
    drained: float | None = None
    while time.perf_counter() - ended < drain_timeout:  # the receiver is asked often, the node (a scrape costs
        # it a count of the whole store) only once the receiver has everything
        if await receiver_count(http, receiver) >= offered.booked and metric(await scrape(http, url), PENDING) == 0:
            drained = time.perf_counter() - ended
            break
        await asyncio.sleep(0.05)
    cpu_drained = process_cpu(node.pid, with_children=True).cpu_seconds
    stop.set()
    await sampler
    failures = int(failed_attempts(await scrape(http, url)) - failures_before)
    async with http.post(f"{receiver}/_take") as resp:
        taken = await resp.json()
    records = [Record.of(row) for row in taken["records"]]
    wall_t0 = time.time() - (time.perf_counter() - t0)
    first_seen: dict[str, Record] = {}
    for record in records:
        first_seen.setdefault(record.message_id, record)
    booked = [r for r in first_seen.values() if r.type == "booking.created"]
    lag_ms = [(r.received - r.event) * 1000 for r in booked]
    span = max((r.received for r in booked), default=wall_t0) - wall_t0
    cpu_before_reference = process_cpu(node.pid, with_children=True).cpu_seconds
    reference = await offer(http, url, REF_KEY, rate, seconds, first + offered.offered, max_waiting)
    cpu = {"offer": cpu_offered - cpu_start, "drain": cpu_drained - cpu_offered,
           "reference": process_cpu(node.pid, with_children=True).cpu_seconds - cpu_before_reference}
    return Level(offered, reference, len(booked), len(records) - len(first_seen), failures,
                 offered.booked - len(booked), int(taken["verified"]), int(taken["verify_failed"]), lag_ms, span,
                 series, depth_at_end, drained, load, cpu)


def _ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q):,.0f}" if values else "-"


def table(levels: list[Level]) -> str:
    lines = [
        "| offered bookings/s | achieved bookings/s | booking p99 ms | reference bookings/s (no endpoint) "
        "| bookings ÷ reference | events | webhooks delivered/s | lag p50 / p95 / p99 / max ms "
        "| max outbox depth | depth at end of offer | drain s | duplicates | failures | missing "
        "| node cores: offer / drain / reference | node CPU ms per delivery / per booking | load avg |",
        "|" + " ---: |" * 16 + " --- |",
    ]
    for lv in levels:
        o, ref = lv.offered, lv.reference
        ratio = o.achieved / ref.achieved if ref.achieved else float("nan")
        lag = " / ".join(_ms(lv.lag_ms, q) for q in (0.5, 0.95, 0.99)) + f" / {max(lv.lag_ms, default=0):,.0f}"
        drain = "no" if lv.drain_seconds is None else f"{lv.drain_seconds:.1f}"
        lines.append(
            f"| {o.rate:,.0f} | {o.achieved:,.0f} | {_ms(o.latencies_ms, 0.99)} | {ref.achieved:,.0f} | {ratio:.2f} "
            f"| {o.booked} | {lv.delivered_rate:,.0f} | {lag} | {lv.max_depth:,.0f} | {lv.depth_at_end:,.0f} "
            f"| {drain} | {lv.duplicates} | {lv.failures} | {lv.missing} "
            f"| {lv.cores('offer'):.2f} / {lv.drain_cores()} / {lv.cores('reference'):.2f} "
            f"| {lv.ms_per_delivery():.2f} / {lv.ms_per_booking():.2f} | {lv.load} |"
        )
    return "\n".join(lines)


@contextmanager
def receiver_process() -> Iterator[str]:
    """The receiver in its own process; yields its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "loadtests.webhook_receiver"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError("the webhook receiver did not start")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def register(http: aiohttp.ClientSession, url: str, receiver: str) -> str:
    """Register the receiver for every event type of tenant ``bench``; give it the secret; return the id."""
    headers = {"Authorization": f"Bearer {BENCH_KEY}"}
    async with http.post(f"{url}/api/v1/webhooks", json={"url": f"{receiver}{PATH}", "event_types": None},
                         headers=headers) as resp:
        if resp.status != 201:
            raise RuntimeError(f"registering the endpoint answered {resp.status}: {await resp.text()}")
        endpoint = await resp.json()
    async with http.post(f"{receiver}/_secret", data=endpoint["secret"]) as resp:
        resp.raise_for_status()
    return str(endpoint["id"])


def profile(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    """py-spy on the node for *seconds* (200 Hz, raw collapsed stacks to *out*)."""
    spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen([str(spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200",
                             "--format", "raw", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def run_all(node: Node, receiver: str, rates: list[float], seconds: float, max_waiting: int,
                  drain_timeout: float, profile_dir: Path | None) -> list[Level]:
    connector = aiohttp.TCPConnector(limit=max_waiting + 8)
    async with aiohttp.ClientSession(connector=connector) as http:
        await register(http, node.url, receiver)
        # warm-up: a few bookings with webhooks, delivered, then forgotten
        await offer(http, node.url, BENCH_KEY, 50, 2, 0, max_waiting)
        deadline = time.monotonic() + 30
        while metric(await scrape(http, node.url), PENDING) > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        async with http.post(f"{receiver}/_take") as resp:
            await resp.read()
        levels = []
        first = 1000
        for rate in rates:
            spy = None
            if profile_dir is not None:
                profile_dir.mkdir(parents=True, exist_ok=True)
                spy = profile(node.pid, min(10.0, seconds), profile_dir / f"webhooks-{rate:g}.txt")
            levels.append(await level(http, node, receiver, rate, seconds, first, max_waiting, drain_timeout))
            if spy is not None:
                spy.wait(30)
            first += 2 * int(rate * seconds)
            print(table(levels[-1:]).splitlines()[-1], file=sys.stderr, flush=True)
        return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rates", default="250,500,1000", help="offered bookings per second, one level each")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each rate is offered")
    parser.add_argument("--max-waiting", type=int, default=512,
                        help="bookings waiting for an answer at most (beyond: not sent, counted as skipped)")
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="how long to wait for the outbox to drain")
    parser.add_argument("--json", type=Path, help="write every level (with the depth series) here")
    parser.add_argument("--in-front", action="store_true",
                        help="send from the front's event loop (KONSYLIUM_WEBHOOKS_PROCESS=false), to compare")
    parser.add_argument("--profile", type=Path, help="py-spy each level's first 10 s of the node into this directory")
    args = parser.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    with local_node(KONSYLIUM_WORKERS="0", KONSYLIUM_WEBHOOKS_ALLOW_PRIVATE="true",
                    KONSYLIUM_WEBHOOKS_PROCESS="false" if args.in_front else "true",
                    KONSYLIUM_API_KEYS=f"bench={BENCH_KEY},ref={REF_KEY}") as node, receiver_process() as receiver:
        print(f"node pid {node.pid}, load average {load_average()}", file=sys.stderr, flush=True)
        levels = asyncio.run(run_all(node, receiver, rates, args.seconds, args.max_waiting, args.drain_timeout,
                                     args.profile))
    print(table(levels))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rates": rates, "seconds": args.seconds,
                                         "levels": [lv.summary() for lv in levels]}, indent=1))


if __name__ == "__main__":
    main()
