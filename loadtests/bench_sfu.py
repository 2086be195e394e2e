"""SFU forwarding cost: CPU per forwarded RTP packet, 1 publisher → N subscribers.

For each N (default 1, 8, 32, 99, 200) and each repetition, interleaved, the same aiortc clients
measure Konsylium (`konsylium serve`, WHIP/WHEP) and Janus 1.1.2 (videoroom over its
HTTP API; default configuration and `event_loops = 1`) when Janus is installed. The SFU
process runs on core 0, the clients (this process) on core 1. The publisher sends
640x480 VP8 at a fixed ~1 Mbps (~110 packets/s) and answers at most one keyframe
request per 0.5 s. Subscriber 0 keeps a sample of video packets, decoded after the window
(the picture moves; end-to-end latency from the capture stamps in the frames); the others
are light (count SRTP datagrams from the clear RTP header, loadtests.media_clients), so
that hundreds fit on the client core. abs-send-time is stripped on the subscriber leg (no
REMB flood) for both SFUs.

After a warm-up, one window per measurement: SFU CPU (utime+stime from /proc, summed over
the process and its children: Konsylium forwards in media worker processes), forwarded
packets (Konsylium: `konsylium_forwarded_packets_total` delta, aligned with the workers'
once-a-second reports; Janus: packets received by the subscribers), client-side loss and
the client core's load. Prints a markdown table and writes JSON (loadtests/results/ by
default); the subscribers' own count is kept in the JSON as a cross-check.

    python -m loadtests.bench_sfu                       # N = 1,8,32,99,200, 2 repetitions, ~18 min
    python -m loadtests.bench_sfu --quick               # N = 1, Konsylium only, ~10 s
    python -m loadtests.bench_sfu --subscribers 8 --targets konsylium --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Protocol

import aiohttp

from loadtests.cpu import (
    CoreTimes,
    ProcessCpu,
    WindowCpu,
    core_times,
    pin_current_process,
    pinned_command,
    process_cpu,
)
from loadtests.konsylium_node import BookedRoom, KonsyliumNode
from loadtests.media_clients import CountingSubscriber, SyntheticPublisher
from loadtests.node import answers, free_port
from loadtests.picture import PictureCheck, check_picture
from loadtests.plot import plot_cpu_per_stream
from loadtests.profile_summary import load as load_profile
from loadtests.profile_summary import markdown as profile_markdown
from loadtests.progress import step
from loadtests.waiting import until

SFU_CORE, CLIENT_CORE = 0, 1
TARGETS = ("konsylium", "janus", "janus-el1")
#: Measured only when asked for (--targets ...,naive): it melts down at N = 32.
OPTIONAL_TARGETS = ("naive",)
LABELS = {"konsylium": "Konsylium", "janus": "Janus (default)", "janus-el1": "Janus (event_loops=1)",
          "naive": "aiortc MediaRelay (naive)"}
SAMPLE_PACKETS = 400  # video packets kept by subscriber 0 for the picture check (~3.5 s)


def progress(message: str) -> None:
    step("bench_sfu", message)


# --- the SFUs under test -------------------------------------------------------------------------


class MediaServer(Protocol):
    """One running SFU with a room for one publisher and `n` subscribers."""

    pid: int

    async def publish(self, publisher: SyntheticPublisher) -> None: ...

    async def subscribe(self, index: int, subscriber: CountingSubscriber, kinds: list[str]) -> None: ...

    async def forwarded_packets(self) -> int | None:
        """The SFU's own count of forwarded packets, read right after it last changed, or None
        to count at the subscribers."""
        ...


class KonsyliumServer:
    def __init__(self, node: KonsyliumNode, room: BookedRoom) -> None:
        self.node = node
        self.room = room
        self.pid = node.pid

    async def publish(self, publisher: SyntheticPublisher) -> None:
        await publisher.accept(await self.node.whip(self.room, await publisher.offer()))

    async def subscribe(self, index: int, subscriber: CountingSubscriber, kinds: list[str]) -> None:
        offer = await subscriber.offer(kinds)
        await subscriber.accept(await self.node.whep(self.room, self.room.viewer_tokens[index], offer))

    async def forwarded_packets(self) -> int | None:
        # aligned with a worker's report; the window ends ~0.1 s before the next is due
        return await self.node.forwarded_packets_aligned()


@asynccontextmanager
async def konsylium(n: int, workers: int | None) -> AsyncIterator[MediaServer]:
    async with KonsyliumNode(core=SFU_CORE, workers=workers) as node:
        room = await node.book_room(n)
        yield KonsyliumServer(node, room)


class NaiveServer:
    """The MediaRelay baseline (loadtests/naive_relay.py): decode once, encode per viewer."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid

    async def _post(self, path: str, offer: str) -> str:
        async with aiohttp.ClientSession() as http, http.post(
            f"{self.url}{path}", data=offer, headers={"Content-Type": "application/sdp"}
        ) as resp:
            if resp.status != 201:
                raise RuntimeError(f"naive relay answered {resp.status} to {path}")
            return await resp.text()

    async def publish(self, publisher: SyntheticPublisher) -> None:
        await publisher.accept(await self._post("/whip", await publisher.offer()))

    async def subscribe(self, index: int, subscriber: CountingSubscriber, kinds: list[str]) -> None:
        await subscriber.accept(await self._post("/whep", await subscriber.offer(kinds)))

    async def forwarded_packets(self) -> int | None:
        return None  # counted at the subscribers


@asynccontextmanager
async def naive() -> AsyncIterator[MediaServer]:
    port = free_port()
    command = pinned_command([sys.executable, "-m", "loadtests.naive_relay", "--port", str(port)], SFU_CORE)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            if not await answers(http, f"{url}/healthz", proc, 15):
                raise RuntimeError("the naive relay did not start")
        yield NaiveServer(url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_target(target: str, n: int, args: argparse.Namespace) -> AbstractAsyncContextManager[MediaServer]:
    if target == "konsylium":
        return konsylium(n, args.konsylium_workers)
    if target == "naive":
        return naive()
    from loadtests.janus import janus_server

    return janus_server(event_loops=1 if target == "janus-el1" else None, core=SFU_CORE, audio=args.audio)


def janus_available() -> str | None:
    """None if Janus can run here, else why not."""
    if shutil.which("janus") is None:
        return "janus is not installed (Debian: apt-get install -y janus): the Janus measurements are skipped"
    if shutil.which("gcc") is None:
        return "gcc is missing (needed for the getifaddrs shim that lets Janus use 127.0.0.1)"
    return None


# --- one measurement -------------------------------------------------------------------------------


@dataclass
class Measurement:
    target: str
    subscribers: int
    repetition: int
    window_seconds: float
    sfu_cpu_percent: float  # the SFU process and its children (Konsylium's media workers)
    sfu_main_cpu_percent: float  # the SFU's main process alone
    sfu_processes: int
    forwarded_packets: int  # in the window (SFU metric, or counted at the subscribers)
    forwarded_by: str  # "sfu-metric" or "subscribers"
    received_packets: int  # at the subscribers, in the window
    expected_packets: int  # from sequence numbers, in the window
    sfu_context_switches: int
    client_cpu_percent: float
    core_busy_percent: dict[int, float]
    publisher_packets: int  # sent by the publisher in the window
    keyframes_requested: int
    keyframes_sent: int
    setup_seconds: float
    picture: dict[str, object] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.forwarded_packets / self.window_seconds

    @property
    def us_per_packet(self) -> float:
        if not self.forwarded_packets:
            return float("nan")
        return self.sfu_cpu_percent / 100 * self.window_seconds / self.forwarded_packets * 1e6

    @property
    def loss_percent(self) -> float:
        if not self.expected_packets:
            return float("nan")
        return max(0.0, 100.0 * (1 - self.received_packets / self.expected_packets))

    @property
    def switches_per_packet(self) -> float:
        return self.sfu_context_switches / self.forwarded_packets if self.forwarded_packets else float("nan")


@dataclass(frozen=True, slots=True)
class _Snapshot:
    sfu: ProcessCpu
    sfu_main: ProcessCpu
    client: ProcessCpu
    cores: CoreTimes
    forwarded: int | None
    received: int
    expected: int
    published: int


async def _snapshot(server: MediaServer, publisher: SyntheticPublisher,
                    subscribers: list[CountingSubscriber]) -> _Snapshot:
    forwarded = await server.forwarded_packets()
    streams = [s for sub in subscribers for s in sub.streams.values()]
    return _Snapshot(
        sfu=process_cpu(server.pid, with_children=True),
        sfu_main=process_cpu(server.pid),
        client=process_cpu(os.getpid()),
        cores=core_times(),
        forwarded=forwarded,
        received=sum(s.received for s in streams),
        expected=sum(s.expected for s in streams),
        published=publisher.packets_sent,
    )


async def measure(target: str, n: int, repetition: int, args: argparse.Namespace,
                  during_window: Callable[[int], Awaitable[None]] | None = None) -> Measurement:
    """Start `target`, connect 1 publisher and `n` subscribers, warm up, measure one window."""
    kinds = ["video", "audio"] if args.audio else ["video"]
    began = time.monotonic()
    async with start_target(target, n, args) as server:
        publisher = SyntheticPublisher(audio=args.audio, bitrate=args.bitrate)
        subscribers = [CountingSubscriber(keep_sample_packets=SAMPLE_PACKETS if i == 0 else 0, light=i > 0)
                       for i in range(n)]
        try:
            await server.publish(publisher)
            await until(lambda: publisher.packets_sent > 0, 20, "the publisher to send")
            limit = asyncio.Semaphore(4)

            async def join(index: int, subscriber: CountingSubscriber) -> None:
                async with limit:
                    await server.subscribe(index, subscriber, kinds)

            await asyncio.gather(*(join(i, s) for i, s in enumerate(subscribers)))
            await until(lambda: all(s.packets > 0 for s in subscribers), 20 + n,
                         "every subscriber to receive packets")
            setup = time.monotonic() - began
            progress(f"{LABELS[target]} N={n} rep {repetition}: {n} subscribers receiving after "
                     f"{setup:.1f} s; warming up {args.warmup:g} s")
            await asyncio.sleep(args.warmup)
            keyframes_before = (publisher.keyframes.requested, publisher.keyframes.produced)
            before = await _snapshot(server, publisher, subscribers)
            if during_window is not None:
                await during_window(server.pid)
            else:  # the end snapshot may then wait for the SFU's counter to move
                await asyncio.sleep(max(0.0, args.window - 0.1))
            after = await _snapshot(server, publisher, subscribers)
            picture = await asyncio.to_thread(check_picture, list(subscribers[0].sample))
        finally:
            await asyncio.gather(*(s.close() for s in subscribers), return_exceptions=True)
            await publisher.close()
    cpu = WindowCpu.between(before.sfu, after.sfu, before.cores, after.cores)
    main_cpu = WindowCpu.between(before.sfu_main, after.sfu_main, before.cores, after.cores)
    client = WindowCpu.between(before.client, after.client, before.cores, after.cores)
    received = after.received - before.received
    if before.forwarded is not None and after.forwarded is not None:
        forwarded, forwarded_by = after.forwarded - before.forwarded, "sfu-metric"
    else:
        forwarded, forwarded_by = received, "subscribers"
    result = Measurement(
        target=target, subscribers=n, repetition=repetition, window_seconds=cpu.seconds,
        sfu_cpu_percent=cpu.process_percent, sfu_main_cpu_percent=main_cpu.process_percent,
        sfu_processes=after.sfu.processes, forwarded_packets=forwarded, forwarded_by=forwarded_by,
        received_packets=received, expected_packets=after.expected - before.expected,
        sfu_context_switches=cpu.context_switches, client_cpu_percent=client.process_percent,
        core_busy_percent=cpu.core_busy_percent, publisher_packets=after.published - before.published,
        keyframes_requested=publisher.keyframes.requested - keyframes_before[0],
        keyframes_sent=publisher.keyframes.produced - keyframes_before[1],
        setup_seconds=setup, picture=_picture_dict(picture),
    )
    progress(f"{LABELS[target]} N={n} rep {repetition}: {result.rate:,.0f} pkt/s forwarded, "
             f"SFU {result.sfu_cpu_percent:.1f} % CPU ({result.sfu_processes} process(es), main "
             f"{result.sfu_main_cpu_percent:.1f} %) = {result.us_per_packet:.1f} µs/pkt, "
             f"subscribers got {result.received_packets / max(1, result.forwarded_packets):.3f} of it, "
             f"loss {result.loss_percent:.2f} %, client {result.client_cpu_percent:.0f} % CPU, "
             f"picture {'moves' if picture.moving else 'NOT OK'} ({picture.frames_decoded} frames, "
             f"latency p50 {_fmt(picture.latency_p50_ms, 0)} ms)")
    return result


def _picture_dict(picture: PictureCheck) -> dict[str, object]:
    return {**asdict(picture), "moving": picture.moving, "latency_p50_ms": picture.latency_p50_ms,
            "latency_p95_ms": picture.latency_p95_ms, "latency_max_ms": picture.latency_max_ms}


# --- report ----------------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"  # NaN → -


def measurements_table(results: list[Measurement]) -> str:
    lines = [
        "| SFU | N | rep | forwarded pkt/s | SFU CPU % | µs/pkt | ctx switches/pkt | loss % "
        "| client CPU % | core 0 busy % | core 1 busy % | picture |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        lines.append(
            f"| {LABELS[r.target]} | {r.subscribers} | {r.repetition} | {_fmt(r.rate, 0)} | "
            f"{_fmt(r.sfu_cpu_percent)} | {_fmt(r.us_per_packet)} | {_fmt(r.switches_per_packet, 2)} | "
            f"{_fmt(r.loss_percent, 2)} | {_fmt(r.client_cpu_percent, 0)} | "
            f"{_fmt(r.core_busy_percent.get(SFU_CORE, float('nan')), 0)} | "
            f"{_fmt(r.core_busy_percent.get(CLIENT_CORE, float('nan')), 0)} | "
            f"{'moves' if r.picture.get('moving') else 'NOT OK'} |"
        )
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Level:
    """Means over repetitions of one target at one N."""

    cpu_percent: float
    rate: float
    us_per_packet: float
    per_rep_cpu: tuple[float, ...]


def levels(results: list[Measurement]) -> dict[tuple[str, int], Level]:
    out: dict[tuple[str, int], Level] = {}
    for key in sorted({(r.target, r.subscribers) for r in results}):
        rows = sorted((r for r in results if (r.target, r.subscribers) == key), key=lambda r: r.repetition)
        out[key] = Level(mean(r.sfu_cpu_percent for r in rows), mean(r.rate for r in rows),
                         mean(r.us_per_packet for r in rows), tuple(r.sfu_cpu_percent for r in rows))
    return out


def marginal_us(low: Level, high: Level) -> float:
    """CPU per added forwarded packet between two N levels, in µs."""
    if high.rate == low.rate:
        return float("nan")
    return (high.cpu_percent - low.cpu_percent) / 100 / (high.rate - low.rate) * 1e6


def summary_table(results: list[Measurement]) -> str:
    by = levels(results)
    targets = [t for t in TARGETS + OPTIONAL_TARGETS if any(r.target == t for r in results)]
    ns = sorted({r.subscribers for r in results})
    head = "| N | " + " | ".join(f"{LABELS[t]} CPU % | µs/pkt" for t in targets)
    sep = "| ---: | " + " | ".join("---: | ---:" for _ in targets)
    janus = [t for t in targets if t != "konsylium"]
    if "konsylium" in targets:
        head += "".join(f" | Konsylium ÷ {LABELS[t]} (CPU, per rep)" for t in janus)
        sep += "".join(" | ---:" for _ in janus)
    lines = [head + " |", sep + " |"]
    for n in ns:
        cells = [str(n)]
        for t in targets:
            level = by.get((t, n))
            cells += ["-", "-"] if level is None else [_fmt(level.cpu_percent), _fmt(level.us_per_packet)]
        for t in janus if "konsylium" in targets else []:
            k, j = by.get(("konsylium", n)), by.get((t, n))
            if k is None or j is None:
                cells.append("-")
                continue
            per_rep = " / ".join(_fmt(a / b, 2) for a, b in zip(k.per_rep_cpu, j.per_rep_cpu, strict=False))
            cells.append(f"{_fmt(k.cpu_percent / j.cpu_percent, 2)} ({per_rep})")
        lines.append("| " + " | ".join(cells) + " |")
    for low, high in itertools.pairwise(ns):
        cells = [f"marginal {low}→{high}"]
        margins: dict[str, float] = {}
        for t in targets:
            a, b = by.get((t, low)), by.get((t, high))
            margins[t] = float("nan") if a is None or b is None else marginal_us(a, b)
            cells += ["", f"{_fmt(margins[t])} µs"]
        for t in janus if "konsylium" in targets else []:
            cells.append(_fmt(margins["konsylium"] / margins[t], 2))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- main ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--subscribers", default="1,8,32,99,200", help="comma-separated N levels (≤ 299)")
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before each window")
    parser.add_argument("--window", type=float, default=15.0, help="seconds measured")
    parser.add_argument("--targets", default=",".join(TARGETS),
                        help=f"some of {','.join(TARGETS + OPTIONAL_TARGETS)}")
    parser.add_argument("--audio", action="store_true", help="also publish Opus (default: video only)")
    parser.add_argument("--konsylium-workers", type=int, default=None,
                        help="KONSYLIUM_WORKERS for the node (default: the node's own, one per CPU)")
    parser.add_argument("--bitrate", type=int, default=1_000_000, help="VP8 target bits/s")
    parser.add_argument("--json", type=Path, help="results file (default loadtests/results/bench_sfu-<time>.json)")
    parser.add_argument("--profile", type=Path, metavar="DIR",
                        help="after the table, one more Konsylium run at the largest N under py-spy")
    parser.add_argument("--profile-seconds", type=float, default=30.0)
    parser.add_argument("--plot", type=Path, metavar="PNG",
                        help="also draw CPU per forwarded stream against N (needs matplotlib)")
    parser.add_argument("--quick", action="store_true", help="N=1, 1 s warm-up, 2 s window, Konsylium only")
    args = parser.parse_args(argv)
    if args.quick:
        args.subscribers, args.repetitions, args.warmup, args.window = "1", 1, 1.0, 2.0
        args.targets = "konsylium"
    try:
        args.levels = [int(n) for n in str(args.subscribers).split(",")]
    except ValueError:
        parser.error(f"--subscribers: comma-separated whole numbers, not {args.subscribers!r}")
    if not all(1 <= n <= 299 for n in args.levels):
        parser.error("--subscribers: every N from 1 to 299 (one room of at most 300 people)")
    args.target_list = [t for t in str(args.targets).split(",") if t]
    unknown = set(args.target_list) - set(TARGETS) - set(OPTIONAL_TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    return args


async def run_all(args: argparse.Namespace, targets: list[str]) -> list[Measurement]:
    results: list[Measurement] = []
    for repetition in range(1, args.repetitions + 1):
        for n in args.levels:
            for target in targets:  # interleaved: every target at this N before the next N
                progress(f"{LABELS[target]} N={n} rep {repetition}: starting")
                try:
                    results.append(await measure(target, n, repetition, args))
                except Exception as exc:
                    progress(f"{LABELS[target]} N={n} rep {repetition}: FAILED: {exc!r}")
    return results


async def profile_konsylium(args: argparse.Namespace, out_dir: Path) -> Path | None:
    """One extra Konsylium run at the largest N with py-spy recording the SFU during the window."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not os.access(py_spy, os.X_OK):
        progress("py-spy not found; no profile")
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    n = max(args.levels)
    target = out_dir / f"konsylium-n{n}.txt"

    async def record(pid: int) -> None:
        command = [py_spy, "record", "--subprocesses", "-p", str(pid), "-d", str(int(args.profile_seconds)),
                   "-r", "200",
                   "--format", "raw", "-o", str(target)]
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            progress(f"py-spy failed: {done.stderr.strip()[-300:]}")

    progress(f"profiling Konsylium at N={n} with py-spy for {args.profile_seconds:g} s")
    await measure("konsylium", n, 0, args, during_window=record)
    return target if target.exists() else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    pinned = pin_current_process(CLIENT_CORE)
    if not pinned:
        progress("fewer than 2 cores: SFU and clients share the machine unpinned")
    targets = list(args.target_list)
    if any(t.startswith("janus") for t in targets):
        problem = janus_available()
        if problem is not None:
            progress(problem)
            targets = [t for t in targets if not t.startswith("janus")]
    if not targets:
        progress("nothing to measure")
        return 1
    started = datetime.now(UTC)
    results = asyncio.run(run_all(args, targets))
    profile = asyncio.run(profile_konsylium(args, args.profile)) if args.profile else None
    report = [measurements_table(results)]
    if len(args.levels) > 1 or len(targets) > 1:
        report += ["", summary_table(results)]
    if profile is not None:
        report += ["", f"py-spy profile of Konsylium at N={max(args.levels)} ({profile}):", "",
                   profile_markdown(load_profile(profile, "media_worker"), top=25)]
    print("\n".join(report))
    measurements = [{**asdict(r), "rate": r.rate, "us_per_packet": r.us_per_packet,
                     "loss_percent": r.loss_percent} for r in results]
    if args.plot:
        progress(f"plot written to {plot_cpu_per_stream(measurements, LABELS, args.plot)}")
    path = args.json or Path("loadtests/results") / f"bench_sfu-{started:%Y%m%d-%H%M%S}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "started": started.isoformat(), "command": " ".join(sys.argv), "host": platform.node(),
        "cpus": os.cpu_count(), "pinned": pinned, "targets": targets, "levels": args.levels,
        "warmup": args.warmup, "window": args.window, "audio": args.audio, "bitrate": args.bitrate,
        "konsylium_workers": args.konsylium_workers,
        "measurements": measurements,
        "profile": None if profile is None else str(profile),
    }, indent=2))
    progress(f"results written to {path}")
    expected = len(targets) * len(args.levels) * args.repetitions
    return 0 if len(results) == expected else 1


if __name__ == "__main__":
    sys.exit(main())
