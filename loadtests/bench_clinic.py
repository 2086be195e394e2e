"""A clinic's morning on one node: V visits of two in parallel and a queue of Q patients waiting.

Books V + Q consultation rooms (model A2C: a clinician as host, a patient as citizen,
so the patient waits in the visit's lobby). First the Q queue patients join over
Socket.IO and wait (no clinician comes for them; they stay connected throughout).
Then the V visits start, `--concurrency` at a time (clinicians taking patients at
once): the clinician joins and publishes; the patient joins and waits; the
clinician admits (`admit`); the patient publishes when told it is in (as the
browser client does). Admit → first frame is measured in the generator from the
clinician's `admit` call to the first packet of a keyframe of the clinician's video
at the patient (both ends in this process, one clock). Once every visit runs, a
window of `--seconds` measures the node's CPU (its process and children: media
workers, webhook delivery) and the packets received against those the streams'
sequence numbers say were sent, both ways in every visit. A visit is *lost* when its admission fails or either side
gets no media in the window; a queue patient who is no longer waiting at the end
counts as lost too.

Participants are aiortc peers like bench_rooms's: video replayed from one encoded
cycle (`--bitrate`), an Opus tone, light subscribers counting SRTP datagrams (loss
is first transmissions missing: they send no NACKs). Bounded in count and time;
loopback only.

    python -m loadtests.bench_clinic --visits 20 --queue 40 --seconds 30 --json loadtests/results/bench_clinic.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from loadtests.bench_rooms import _node_cpu
from loadtests.konsylium_node import KEY, KonsyliumNode
from loadtests.media_clients import StreamCounter, SyntheticPublisher
from loadtests.percentiles import percentile
from loadtests.socket_participant import SignallingError, SocketParticipant

__all__ = ["Result", "Visit", "main", "run"]

ADMIT_TIMEOUT = 20.0  # admit → the patient's first keyframe, at most


@dataclass
class Visit:
    """One visit's two people and how its admission went."""

    room_id: str
    clinician: SocketParticipant
    patient: SocketParticipant
    admit_ms: float | None = None
    error: str | None = None
    publishers: list[SyntheticPublisher] = field(default_factory=list)

    def streams(self) -> list[StreamCounter]:
        return [st for p in (self.clinician, self.patient) if p.subscriber is not None
                for st in p.subscriber.streams.values()]

    def received(self) -> int:
        return sum(st.received for st in self.streams())

    def expected(self) -> int:
        """Packets the streams' sequence numbers say were sent (first transmissions)."""
        return sum(st.expected for st in self.streams())

    def both_receive(self, before: tuple[int, int]) -> bool:
        """Whether each side got packets since *before* (its counts then)."""
        now = [p.subscriber.packets if p.subscriber is not None else 0 for p in (self.clinician, self.patient)]
        return all(n > b for n, b in zip(now, before, strict=True))


@dataclass(frozen=True)
class Result:
    visits: int
    queue: int
    workers: int
    admitted: int
    admit_ms: list[float]
    lost_visits: int
    queue_lost: int
    expected: int
    received: int
    seconds: float
    cpu_seconds: float
    errors: list[str]

    @property
    def loss(self) -> float:
        return 1 - self.received / self.expected if self.expected else float("nan")

    @property
    def cores(self) -> float:
        return self.cpu_seconds / self.seconds if self.seconds else float("nan")

    def summary(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(loss=self.loss, node_cores=self.cores,
                   admit_p50_ms=percentile(self.admit_ms, 0.5), admit_p95_ms=percentile(self.admit_ms, 0.95),
                   admit_max_ms=max(self.admit_ms, default=float("nan")))
        return out


async def book_visit(node: KonsyliumNode, index: int) -> tuple[str, str, str]:
    """A consultation open now: (room id, clinician's token, patient's token)."""
    start = datetime.now(UTC)
    body = {"title": f"Wizyta {index}", "kind": "consultation", "model": "A2C",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "participants": [{"display_name": f"Lekarz {index}", "role": "host", "party": "administration"},
                             {"display_name": f"Pacjent {index}", "role": "member", "party": "citizen"}]}
    async with node.http.post(f"{node.url}/api/v1/rooms", json=body,
                              headers={"Authorization": f"Bearer {KEY}"}) as resp:
        room: dict[str, Any] = await resp.json()
        if resp.status != 201:
            raise RuntimeError(f"booking failed: {resp.status} {room}")
    by_role = {p["role"]: p["token"] for p in room["participants"]}
    return room["id"], by_role["host"], by_role["member"]


def _publisher(bitrate: int) -> SyntheticPublisher:
    return SyntheticPublisher(audio=True, bitrate=bitrate, replay=True)


async def start_visit(node: KonsyliumNode, index: int, bitrate: int) -> Visit:
    """Book, clinician in and publishing, patient waiting, admit; the patient publishes when admitted."""
    room_id, host_token, patient_token = await book_visit(node, index)
    visit = Visit(room_id, SocketParticipant(node.url, host_token), SocketParticipant(node.url, patient_token))
    admitted = asyncio.Event()
    visit.patient.sio.on("admitted", lambda _data: admitted.set())
    try:
        await visit.clinician.join()
        visit.publishers.append(_publisher(bitrate))
        await visit.clinician.publish(visit.publishers[-1])
        await visit.patient.join()
        state = (visit.patient.welcome or {}).get("you", {}).get("state")
        if state != "waiting":
            raise SignallingError(f"the patient was not waiting but {state!r}")
        started = time.monotonic()
        ack = await visit.clinician.sio.call("admit", {"participant_id": visit.patient.participant_id,
                                                         "identity_confirmed": True})
        if not ack.get("ok"):
            raise SignallingError(f"admit refused: {ack.get('error')}")
        await asyncio.wait_for(admitted.wait(), ADMIT_TIMEOUT)
        visit.publishers.append(_publisher(bitrate))
        await visit.patient.publish(visit.publishers[-1])
        deadline = started + ADMIT_TIMEOUT
        while visit.patient.first_keyframe_at is None and time.monotonic() < deadline:
            await asyncio.sleep(0.005)
        if visit.patient.first_keyframe_at is None:
            raise SignallingError("the patient saw no keyframe of the clinician's video")
        visit.admit_ms = 1000 * (visit.patient.first_keyframe_at - started)
    except (SignallingError, TimeoutError, OSError, RuntimeError) as error:
        visit.error = str(error)[:200] or type(error).__name__
    return visit


async def run(visits: int, queue: int, seconds: float, workers: int, concurrency: int, bitrate: int) -> Result:
    async with KonsyliumNode(workers=workers) as node:
        waiting: list[SocketParticipant] = []
        for index in range(queue):
            _, _, token = await book_visit(node, 1000 + index)
            patient = SocketParticipant(node.url, token)
            await patient.join()
            waiting.append(patient)
        print(f"  queue: {len(waiting)} patients waiting", file=sys.stderr, flush=True)
        limit = asyncio.Semaphore(concurrency)

        async def one(index: int) -> Visit:
            async with limit:
                return await start_visit(node, index, bitrate)

        started = await asyncio.gather(*(one(i) for i in range(visits)))
        admitted = [v for v in started if v.error is None]
        print(f"  visits: {len(admitted)} of {visits} admitted", file=sys.stderr, flush=True)
        await asyncio.sleep(2)  # every stream past its first keyframe before the window opens
        counts = [tuple(p.subscriber.packets if p.subscriber is not None else 0 for p in (v.clinician, v.patient))
                  for v in started]
        expected0, received0 = sum(v.expected() for v in admitted), sum(v.received() for v in admitted)
        cpu0, t0 = _node_cpu(node.pid), time.monotonic()
        await asyncio.sleep(seconds)
        cpu1, t1 = _node_cpu(node.pid), time.monotonic()
        expected1, received1 = sum(v.expected() for v in admitted), sum(v.received() for v in admitted)
        lost = sum(1 for v, before in zip(started, counts, strict=True)
                   if v.error is not None or not v.both_receive((int(before[0]), int(before[1]))))
        queue_lost = sum(1 for p in waiting if not p.sio.connected)
        cpu = sum(cpu1[pid].cpu_seconds - cpu0[pid].cpu_seconds for pid in cpu1 if pid in cpu0)
        result = Result(visits, queue, workers, len(admitted), [v.admit_ms for v in admitted if v.admit_ms is not None],
                        lost, queue_lost, expected1 - expected0, received1 - received0, t1 - t0, cpu,
                        [v.error for v in started if v.error is not None])
        await asyncio.gather(*(p.close() for v in started for p in (v.clinician, v.patient)), return_exceptions=True)
        await asyncio.gather(*(p.close() for v in started for p in v.publishers), return_exceptions=True)
        await asyncio.gather(*(p.close() for p in waiting), return_exceptions=True)
        return result


def table(results: list[Result]) -> str:
    rows = ["| visits | queue | workers | admitted | admit → first frame p50 / p95 / max ms | lost visits | "
            "queue lost | received / expected packets | loss % | node cores |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        s = r.summary()
        rows.append(f"| {r.visits} | {r.queue} | {r.workers} | {r.admitted} | {s['admit_p50_ms']:,.0f} / "
                    f"{s['admit_p95_ms']:,.0f} / {s['admit_max_ms']:,.0f} | {r.lost_visits} | {r.queue_lost} | "
                    f"{r.received:,} / {r.expected:,} | {100 * r.loss:.2f} | {r.cores:.2f} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--visits", type=int, default=20, help="visits of two running in parallel")
    parser.add_argument("--queue", type=int, default=40, help="patients waiting in lobbies throughout")
    parser.add_argument("--seconds", type=float, default=30.0, help="the measured window once every visit runs")
    parser.add_argument("--workers", default="2", help="media worker counts, one run each (e.g. 1,2)")
    parser.add_argument("--concurrency", type=int, default=4, help="visits being started at once")
    parser.add_argument("--bitrate", type=int, default=800_000, help="each publisher's video, bit/s")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if not 0 < args.visits <= 100 or not 0 <= args.queue <= 200 or not 0 < args.seconds <= 300:
        parser.error("bounded: --visits 1-100, --queue 0-200, --seconds up to 300")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr, flush=True)
    results = []
    for workers in (int(w) for w in args.workers.split(",")):
        print(f"workers {workers}", file=sys.stderr, flush=True)
        results.append(asyncio.run(run(args.visits, args.queue, args.seconds, workers, args.concurrency,
                                       args.bitrate)))
    print(table(results))
    for r in results:
        for error in r.errors[:5]:
            print(f"  error: {error}", file=sys.stderr)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "results": [r.summary() for r in results]}, indent=1))


if __name__ == "__main__":
    main()
