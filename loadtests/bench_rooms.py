"""Room scenarios on Konsylium: broadcast (1 → N), meetings (K ↔ K) and many small rooms.

Each scenario books its rooms, publishes 1 Mbps video by WHIP and pulls it by WHEP,
warms up, then measures one window; the same scenario runs against a node with 1
media worker and with 2, one after the other:

* `broadcast:N` or `broadcast:RxN` — R rooms (default 1), each one publisher and N ≤ 299 viewers;
* `meeting:K` — one room of K members, everyone pulls everyone (K·(K-1) streams);
* `rooms:RxM` — R rooms of M members (50 consultations of two: `rooms:50x2`).

The first publisher encodes live (its frames carry a time stamp); the others replay
one encoded cycle, so that dozens fit in this process. One subscriber of the live
publisher decodes a sample (picture check and end-to-end latency from the stamps);
every other subscriber is light: it counts SRTP datagrams from their clear RTP
header and never decrypts past its first keyframe (time to first frame). Loss is
first transmissions missing (light subscribers send no NACKs). Bounded in count and
time; loopback only.

    python -m loadtests.bench_rooms --scenarios broadcast:32,meeting:6,meeting:12,rooms:50x2 --workers 1,2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp

from loadtests.cpu import ProcessCpu, descendants, pin_current_process, process_cpu
from loadtests.konsylium_node import KonsyliumNode
from loadtests.media_clients import CountingSubscriber, SyntheticPublisher
from loadtests.percentiles import percentile
from loadtests.picture import check_picture
from loadtests.progress import ProgressBar, step
from loadtests.socket_participant import SocketParticipant
from loadtests.udp_drops import dropped_between, udp_drops
from loadtests.waiting import until

SAMPLE_PACKETS = 400  # video packets the sampled subscriber keeps (~3.5 s at 1 Mbps)
SETUP_CONCURRENCY = 6  # WHEP sessions being set up at once
MAX_ROOM = 100  # a meeting's participant limit (rooms.policy.KIND_LIMITS)
MAX_AUDIENCE = 299  # a broadcast is booked as a council session (300 people) beyond a meeting's limit


def _step(message: str) -> None:
    step("bench_rooms", message)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One line of `--scenarios`: a kind, a number of rooms and a room size."""

    text: str
    kind: str  # broadcast | meeting | rooms
    rooms: int
    size: int  # broadcast: viewers per room; otherwise members per room

    @classmethod
    def parse(cls, text: str) -> Scenario:
        kind, _, size = text.partition(":")
        rooms, _, per_room = size.rpartition("x")
        try:
            count, members = int(rooms or 1), int(per_room)
        except ValueError:
            raise ValueError(f"bad scenario {text!r}: broadcast:[Rx]N, meeting:K or rooms:RxM") from None
        room_count_allowed = {"broadcast": True, "meeting": False, "rooms": True}.get(kind)
        room_count_needed = kind == "rooms"
        if room_count_allowed is None or (rooms and not room_count_allowed) or (room_count_needed and not rooms):
            raise ValueError(f"bad scenario {text!r}: broadcast:[Rx]N, meeting:K or rooms:RxM")
        least, most = (1, MAX_AUDIENCE) if kind == "broadcast" else (2, MAX_ROOM)
        if count < 1 or not least <= members <= most:
            raise ValueError(f"bad scenario {text!r}: 1 ≤ R and {least}..{most} per room")
        return cls(text, kind, count, members)

    @property
    def streams(self) -> int:
        if self.kind == "broadcast":
            return self.rooms * self.size
        return self.rooms * self.size * (self.size - 1)

    @property
    def publishers(self) -> int:
        return self.rooms if self.kind == "broadcast" else self.rooms * self.size


@dataclass
class Result:
    scenario: str
    workers: int
    codec: str
    signalling: str  # whip (WHIP/WHEP) or socketio (as the browser client)
    rooms: int
    streams: int
    setup_seconds: float
    window: float
    offered_per_second: float  # what the publishers sent, times their subscribers: what full delivery forwards
    cpu_percent: float  # the node: front process and media workers, % of one core
    process_cpu_percent: list[float]  # each process of the node, the front first
    sfu_socket_drops: int  # datagrams the kernel dropped on the node's full UDP sockets (SFU overload)
    client_socket_drops: int  # ... on this load generator's (the clients could not keep up)
    client_cpu_percent: float
    forwarded_per_second: float
    received_per_second: float
    loss_percent: float
    counted_streams: int  # streams whose subscriber counted (the rest: kernel sinks, --count-every)
    failed_subscriptions: list[str]  # WHEP sessions the node refused or that timed out, and why
    publishers: int
    publishers_sending: int  # still sending in the window (an overloaded node can lose a publisher)
    mbps_per_stream: float  # what a subscriber received on the wire (SRTP), on average
    fps_per_stream: float  # video frames a subscriber received per second (marker bits), on average
    first_frame_ms: list[float] = field(default_factory=list)  # per subscriber: WHEP POST → keyframe
    no_first_frame: int = 0
    latency_ms: list[float] = field(default_factory=list)  # per decoded frame of the sample
    frames_decoded: int = 0
    picture_moves: bool = False

    @property
    def us_per_packet(self) -> float:
        return self.cpu_percent / 100 / self.forwarded_per_second * 1e6 if self.forwarded_per_second else 0.0

    @property
    def delivered(self) -> float:
        """Forwarded ÷ offered: below 1 when the SFU drops what it cannot keep up with."""
        return self.forwarded_per_second / self.offered_per_second if self.offered_per_second else 0.0

    @property
    def streams_per_core(self) -> float:
        return self.streams / (self.cpu_percent / 100) if self.cpu_percent else 0.0

    def summary(self) -> dict[str, object]:
        """Everything, with the per-subscriber lists also reduced to percentiles (for JSON)."""
        return {**asdict(self), "us_per_packet": self.us_per_packet, "streams_per_core": self.streams_per_core,
                "delivered": self.delivered,
                "first_frame_p50_ms": percentile(self.first_frame_ms, 0.5),
                "first_frame_p95_ms": percentile(self.first_frame_ms, 0.95),
                "latency_p50_ms": percentile(self.latency_ms, 0.5),
                "latency_p95_ms": percentile(self.latency_ms, 0.95)}


@dataclass
class _Subscription:
    room_id: str
    source_id: str
    token: str
    source: SyntheticPublisher
    subscriber: CountingSubscriber | None = None
    requested_at: float = 0.0
    failed: str = ""  # why the WHEP session could not be set up (an overloaded node refuses some)

    @property
    def live(self) -> bool:
        """Pulls the live (stamped) publisher."""
        return not self.source.replay


@dataclass
class _Load:
    """Everything one scenario set up on the node, closed together."""

    codec: str = "vp8"
    bitrate: int = 1_000_000
    audio: bool = False  # publishers also send an Opus tone; WHEP sessions pull it too
    count_every: int = 1  # WHEP subscribers that count; the others' RTP is dropped by the kernel
    publishers: list[SyntheticPublisher] = field(default_factory=list)
    subscriptions: list[_Subscription] = field(default_factory=list)  # WHEP sessions
    participants: list[SocketParticipant] = field(default_factory=list)  # --signalling socketio
    audience: list[SyntheticPublisher] = field(default_factory=list)  # the source of each Socket.IO stream

    @property
    def subscribers(self) -> list[CountingSubscriber]:
        return ([s.subscriber for s in self.subscriptions if s.subscriber is not None]
                + [p.subscriber for p in self.participants if p.subscriber is not None])

    @property
    def streams(self) -> int:
        return sum(1 for s in self.subscriptions if not s.failed) + len(self.audience)

    @property
    def failed(self) -> list[str]:
        return [s.failed for s in self.subscriptions if s.failed]

    @property
    def counted_streams(self) -> int:
        """Streams whose subscriber counts what it gets (all but the kernel sinks)."""
        return self.streams - sum(1 for s in self.subscriptions if s.subscriber is not None and s.subscriber.sink)

    @property
    def sink_inodes(self) -> set[int]:
        return {inode for s in self.subscribers for inode in s.sink_inodes}

    def first_frames_ms(self) -> list[float]:
        """Per subscriber: WHEP request (or Socket.IO join) → first packet of a keyframe."""
        waits = [(s.requested_at, s.subscriber.first_keyframe_at) for s in self.subscriptions
                 if s.subscriber is not None and not s.subscriber.sink]
        waits += [(p.joined_at, p.first_keyframe_at) for p in self.participants if p.expects_media]
        return [1000 * (seen - asked) for asked, seen in waits if seen is not None]

    @property
    def waiting_for_video(self) -> int:
        """Subscribers (or Socket.IO participants) that never saw a keyframe."""
        expecting = (sum(1 for s in self.subscriptions if s.subscriber is not None and not s.subscriber.sink)
                     + sum(p.expects_media for p in self.participants))
        return expecting - len(self.first_frames_ms())

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.participants), return_exceptions=True)
        await asyncio.gather(*(s.close() for s in self.subscribers), return_exceptions=True)
        await asyncio.gather(*(p.close() for p in self.publishers), return_exceptions=True)


def _new_publisher(load: _Load) -> SyntheticPublisher:
    live = not load.publishers  # the first publisher of the run encodes live
    publisher = SyntheticPublisher(codec=load.codec, bitrate=load.bitrate, replay=not live, audio=load.audio)
    load.publishers.append(publisher)
    return publisher


async def _publish(node: KonsyliumNode, load: _Load, room_id: str, token: str) -> SyntheticPublisher:
    publisher = _new_publisher(load)
    await publisher.accept(await node.whip_as(room_id, token, await publisher.offer()))
    return publisher


async def _join_socketio(node: KonsyliumNode, scenario: Scenario, load: _Load) -> None:
    """Every participant joins over Socket.IO as a browser does; publishers publish; the server
    then offers each one the others' media. One WHEP session of the live publisher is added
    for the picture check and the latency (a participant's light subscriber decodes nothing)."""
    bar = ProgressBar("  joining", scenario.rooms * (scenario.size + (scenario.kind == "broadcast")))
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)
    joined = 0

    async def join(token: str, publish: bool, alone: bool = False) -> SyntheticPublisher | None:
        nonlocal joined
        async with limit:
            participant = SocketParticipant(node.url, token, load.codec)
            participant.expects_media = not alone
            load.participants.append(participant)
            await participant.join()
            publisher = _new_publisher(load) if publish else None
            if publisher is not None:
                await participant.publish(publisher)
        joined += 1
        bar.update(joined)
        return publisher

    for _ in range(scenario.rooms):
        if scenario.kind == "broadcast":
            room = await node.book_room(scenario.size)
            host = await join(room.host_token, True, alone=True)
            assert host is not None
            await asyncio.gather(*(join(token, False) for token in room.viewer_tokens))
            load.audience += [host] * scenario.size
            sample = (room.id, room.host_id, room.viewer_tokens[0], host)
        else:
            room_id, people = await node.book_members(scenario.size)
            sources = [await join(token, True) for _, token in people]
            load.audience += [p for p in sources if p is not None for _ in range(scenario.size - 1)]
            assert sources[0] is not None
            sample = (room_id, people[0][0], people[1][1], sources[0])
        if not load.subscriptions and not sample[3].replay:
            load.subscriptions.append(_Subscription(*sample))
    bar.finish()


async def _book(node: KonsyliumNode, scenario: Scenario, load: _Load) -> None:
    """Book every room, start its publishers and list who pulls whom."""
    for _ in range(scenario.rooms):
        if scenario.kind == "broadcast":
            room = await node.book_room(scenario.size)
            host = await _publish(node, load, room.id, room.host_token)
            load.subscriptions += [_Subscription(room.id, room.host_id, token, host) for token in room.viewer_tokens]
            continue
        room_id, people = await node.book_members(scenario.size)
        sources = [await _publish(node, load, room_id, token) for _, token in people]
        load.subscriptions += [_Subscription(room_id, source_id, token, publisher)
                               for viewer, (_, token) in enumerate(people)
                               for source, ((source_id, _), publisher) in enumerate(zip(people, sources, strict=True))
                               if source != viewer]


async def _subscribe_all(node: KonsyliumNode, load: _Load) -> None:
    """Open every WHEP session, SETUP_CONCURRENCY at a time; one of the live publisher's is sampled."""
    sampled = next((s for s in load.subscriptions if s.live), None)
    bar = ProgressBar("  subscribing", len(load.subscriptions))
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)
    done = 0

    async def one(index: int, sub: _Subscription) -> None:
        nonlocal done
        async with limit:
            is_sample = sub is sampled
            sink = not is_sample and index % load.count_every != 0
            subscriber = CountingSubscriber(keep_sample_packets=SAMPLE_PACKETS if is_sample else 0,
                                            light=not is_sample, sink=sink, codec=load.codec)
            sub.subscriber = subscriber
            sub.requested_at = time.monotonic()
            offer = await subscriber.offer(["video", "audio"] if load.audio else ["video"])
            try:
                await subscriber.accept(await node.whep_of(sub.room_id, sub.source_id, sub.token, offer))
            except (RuntimeError, OSError, TimeoutError, aiohttp.ClientError) as error:
                sub.failed, sub.subscriber = str(error)[:200] or type(error).__name__, None
                await subscriber.close()
        done += 1
        bar.update(done)

    await asyncio.gather(*(one(i, s) for i, s in enumerate(load.subscriptions)))
    bar.finish()


def _offered(load: _Load) -> int:
    """Packets sent by each publisher, once per subscriber of it."""
    return (sum(s.source.packets_sent for s in load.subscriptions if not s.failed)
            + sum(p.packets_sent for p in load.audience))


def _without(drops: dict[int, int], inodes: set[int]) -> dict[int, int]:
    return {inode: count for inode, count in drops.items() if inode not in inodes}


def _node_cpu(pid: int) -> dict[int, ProcessCpu]:
    return {one: process_cpu(one) for one in [pid, *descendants(pid)]}


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Every counter a window is measured by, at one moment."""

    forwarded: int  # the node's konsylium_forwarded_packets_total
    node: dict[int, ProcessCpu]  # each process of the node
    client: ProcessCpu  # this load generator
    node_drops: dict[int, int]  # per UDP socket of the node
    client_drops: dict[int, int]  # per UDP socket of the generator
    offered: int
    sent: list[int]  # per publisher
    expected: int
    received: int
    octets: int
    frames: int


async def _snapshot(node: KonsyliumNode, load: _Load) -> _Snapshot:
    forwarded = await node.forwarded_packets_aligned()  # first: the CPU readings follow it closely
    processes = _node_cpu(node.pid)
    streams = [st for s in load.subscribers for st in s.streams.values()]
    return _Snapshot(
        forwarded=forwarded, node=processes, client=process_cpu(os.getpid()),
        node_drops=udp_drops(processes), client_drops=udp_drops([os.getpid()]),
        offered=_offered(load), sent=[p.packets_sent for p in load.publishers],
        expected=sum(st.expected for st in streams), received=sum(st.received for st in streams),
        octets=sum(st.octets for st in streams), frames=sum(st.frames for st in streams),
    )


async def _window(load: _Load, seconds: float) -> None:
    bar = ProgressBar("  measuring", seconds)
    began = time.monotonic()
    start = sum(s.packets for s in load.subscribers)
    while (elapsed := time.monotonic() - began) < seconds:
        await asyncio.sleep(min(0.5, seconds - elapsed))
        elapsed = time.monotonic() - began
        rate = (sum(s.packets for s in load.subscribers) - start) / max(elapsed, 1e-9)
        bar.update(elapsed, f"{rate:,.0f} pkt/s received")
    bar.finish()


async def run(scenario: Scenario, workers: int, args: argparse.Namespace) -> Result:
    """Set `scenario` up on a fresh node with `workers` media workers, warm up, measure one window."""
    load = _Load(codec=args.codec, bitrate=args.bitrate, audio=args.audio, count_every=args.count_every)
    began = time.monotonic()
    async with KonsyliumNode(workers=workers, core=args.sfu_core) as node:
        try:
            _step(f"{scenario.text} workers={workers}: booking {scenario.rooms} room(s), "
                  f"{scenario.publishers} publisher(s), {scenario.streams} streams")
            if args.signalling == "socketio":
                await _join_socketio(node, scenario, load)
            else:
                await _book(node, scenario, load)
            await until(lambda: all(p.packets_sent > 0 for p in load.publishers), 30, "every publisher to send")
            await asyncio.sleep(0.5)  # the SFU has their tracks
            await _subscribe_all(node, load)
            setup = time.monotonic() - began
            _step(f"{scenario.text} workers={workers}: set up in {setup:.1f} s; warming up {args.warmup:g} s")
            await asyncio.sleep(args.warmup)
            before = await _snapshot(node, load)
            await _window(load, max(0.0, args.window - 0.1))
            after = await _snapshot(node, load)
            sample = next((s.sample for s in load.subscribers if s.sample), [])
            picture = await asyncio.to_thread(check_picture, list(sample), args.codec)
        finally:
            await load.close()
    elapsed = after.client.at - before.client.at
    per_process = [100 * (after.node[pid].cpu_seconds - before.node[pid].cpu_seconds) / elapsed
                   for pid in after.node if pid in before.node]
    sinks = load.sink_inodes
    expected, received = after.expected - before.expected, after.received - before.received
    result = Result(
        scenario=scenario.text, workers=workers, codec=args.codec + ("+opus" if args.audio else ""),
        rooms=scenario.rooms,
        signalling=args.signalling, streams=load.streams, setup_seconds=setup, window=elapsed,
        offered_per_second=(after.offered - before.offered) / elapsed, cpu_percent=sum(per_process),
        sfu_socket_drops=dropped_between(before.node_drops, after.node_drops),
        client_socket_drops=dropped_between(_without(before.client_drops, sinks), _without(after.client_drops, sinks)),
        process_cpu_percent=per_process,
        client_cpu_percent=100 * (after.client.cpu_seconds - before.client.cpu_seconds) / elapsed,
        forwarded_per_second=(after.forwarded - before.forwarded) / elapsed, received_per_second=received / elapsed,
        loss_percent=100 * (1 - received / expected) if expected else 0.0,
        mbps_per_stream=8 * (after.octets - before.octets) / elapsed / max(1, load.counted_streams) / 1e6,
        fps_per_stream=(after.frames - before.frames) / elapsed / max(1, load.counted_streams),
        counted_streams=load.counted_streams, failed_subscriptions=load.failed,
        publishers=len(load.publishers),
        publishers_sending=sum(a > b for a, b in zip(after.sent, before.sent, strict=True)),
        first_frame_ms=load.first_frames_ms(), no_first_frame=load.waiting_for_video,
        latency_ms=list(picture.latencies_ms), frames_decoded=picture.frames_decoded,
        picture_moves=picture.moving,
    )
    _step(f"{scenario.text} workers={workers}: {result.forwarded_per_second:,.0f} pkt/s forwarded, "
          f"SFU {result.cpu_percent:.1f} % CPU, loss {result.loss_percent:.2f} %, "
          f"picture {'moves' if picture.moving else 'NOT OK'}")
    return result


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:,.0f}"


def table(results: list[Result]) -> str:
    lines = ["| scenario | codec | media workers | streams | Mbit/s, fps per stream | offered pkt/s | forwarded pkt/s "
             "| dropped at SFU / client sockets | SFU CPU % (all cores) | per process % "
             "| µs/pkt | streams per core | loss % | first frame p50/p95 ms | latency p50/p95 ms | picture "
             "| client CPU % |",
             "| --- | --- " + "| ---: " * 7 + "| --- " + "| ---: " * 5 + "| --- | ---: |"]
    for r in results:
        processes = " / ".join(f"{p:.0f}" for p in r.process_cpu_percent)
        first = f"{_ms(percentile(r.first_frame_ms, 0.5))} / {_ms(percentile(r.first_frame_ms, 0.95))}"
        if r.no_first_frame:
            first += f" ({r.no_first_frame} none)"
        latency = f"{_ms(percentile(r.latency_ms, 0.5))} / {_ms(percentile(r.latency_ms, 0.95))}"
        picture = f"{'moves' if r.picture_moves else 'NOT OK'} ({r.frames_decoded})"
        via = " via Socket.IO" if r.signalling == "socketio" else ""
        refused = f" ({len(r.failed_subscriptions)} refused)" if r.failed_subscriptions else ""
        if r.publishers_sending < r.publishers:
            refused += f" ({r.publishers - r.publishers_sending} of {r.publishers} publishers lost)"
        lines.append(f"| {r.scenario}{via} | {r.codec} | {r.workers} | {r.streams}{refused} | "
                     f"{r.mbps_per_stream:.2f}, {r.fps_per_stream:.1f} | {r.offered_per_second:,.0f} | "
                     f"{r.forwarded_per_second:,.0f} | "
                     f"{r.sfu_socket_drops:,} / {r.client_socket_drops:,} | "
                     f"{r.cpu_percent:.1f} | {processes} | {r.us_per_packet:.1f} | {r.streams_per_core:,.0f} | "
                     f"{r.loss_percent:.2f} | {first} | {latency} | {picture} | {r.client_cpu_percent:.0f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--scenarios", default="broadcast:32,meeting:6,meeting:12,rooms:50x2",
                        help="comma-separated: broadcast:[Rx]N, meeting:K, rooms:RxM")
    parser.add_argument("--workers", default="1,2", help="media worker counts, one node each")
    parser.add_argument("--codec", choices=("vp8", "h264"), default="vp8")
    parser.add_argument("--audio", action="store_true", help="publishers also send Opus (a 440 Hz tone)")
    parser.add_argument("--count-every", type=int, default=1, metavar="K",
                        help="only every K-th WHEP subscriber counts; the kernel drops the others' RTP "
                             "(loadtests.kernel_sink), so the generator's core is free for the SFU")
    parser.add_argument("--signalling", choices=("whip", "socketio"), default="whip",
                        help="how clients join: WHIP/WHEP per stream, or Socket.IO with one publish and one "
                             "subscribe connection each, as the browser client")
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--bitrate", type=int, default=1_000_000)
    parser.add_argument("--sfu-core", type=int, default=None, help="pin the node (and its workers) to this core")
    parser.add_argument("--client-core", type=int, default=None, help="pin this load generator to this core")
    parser.add_argument("--nice", action="store_true",
                        help="run this load generator at the lowest CPU priority, so that the node's workers get "
                             "the cores they need; the clients may then lose packets, forwarded ÷ offered does not")
    parser.add_argument("--json", type=Path, help="write every result (with per-subscriber figures) here")
    args = parser.parse_args(argv)
    if args.count_every < 1:
        parser.error("--count-every: 1 or more")
    try:
        args.scenario_list = [Scenario.parse(text) for text in args.scenarios.split(",")]
        args.worker_counts = [int(w) for w in args.workers.split(",")]
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client_core is not None:
        pin_current_process(args.client_core)
    if args.nice:
        os.nice(19)  # the node does not inherit it: KonsyliumNode starts it at normal priority
    results = []
    for scenario in args.scenario_list:
        for workers in args.worker_counts:
            results.append(asyncio.run(run(scenario, workers, args)))
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.summary() for r in results], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
