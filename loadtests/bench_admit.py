"""Time from a host's "Wpuść …" to the admitted citizen's first remote video frame, in headless Chromium.

Each repetition books an A2C meeting (an official hosts and publishes, a citizen waits in the
lobby), opens both pages, waits until the citizen sees the waiting view and the host's page offers
"Wpuść <name>", then clicks it. The clock starts in the host's page just before the click
(``performance.timeOrigin + performance.now()``: what the host experiences, the host → server leg
included) and stops in the citizen's page at the first decoded frame of the host's video, by the
same test as bench_join (``videoWidth`` known and ``currentTime`` moving, polled every 5 ms). The
citizen's page also stamps the way there: ``admitted`` received, ``subscriber_offer`` received,
answer sent, ICE and DTLS connected, the host's <video> attached and sized.

Same-run reference, after each admission: bench_join's run (a plain join in an A2A meeting, click
"Dołącz" → first remote frame; and two peer connections inside one page, no server).

    python -m loadtests.bench_admit --runs 20 --json loadtests/results/bench_admit.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright
from playwright.async_api import Error as PlaywrightError

from loadtests import bench_join
from loadtests.chromium import FRAME_PLAYING_JS, book, join_publishing, launch
from loadtests.node import local_node
from loadtests.percentiles import percentile

__all__ = ["STAGES", "AdmitRun", "Repetition", "main", "summary"]

OFFICIAL = "Jan Kowalski"
CITIZEN = "Anna Nowak"

# The citizen's page, before the click: stamp the events on the way to the host's first frame
# (wall-clock ms, comparable with the host page's click). `onAny` runs before the page's own handlers.
ARM_CITIZEN_JS = """([hostId, limitMs]) => {
  const k = window.konsylium;
  const now = () => performance.timeOrigin + performance.now();
  const marks = {};
  const mark = (name) => { if (!(name in marks)) marks[name] = now(); };
  window.__admitBench = marks;
  k.socket.onAny((event) => {
    if (event === 'admitted') mark('admitted');
    if (event === 'subscriber_offer') mark('offer');
  });
  k.socket.onAnyOutgoing((event) => {
    if (event === 'subscriber_answer') mark('answer_sent');
    if (event === 'publish') mark('publish_sent');
  });
  const start = now();
  (async () => {
    for (;;) {
      if (k.view === 'room') mark('room_view');
      const sub = k.subscriber;
      if (sub) {
        mark('subscriber_created');
        if (['connected', 'completed'].includes(sub.iceConnectionState)) mark('ice_connected');
        if (sub.connectionState === 'connected') mark('dtls_connected');
      }
      const v = document.querySelector(`video[data-participant-id="${hostId}"]`);
      if (v && v.srcObject) mark('video_attached');
      if (v && v.videoWidth > 0) mark('video_sized');
      if (FRAME_PLAYING) { mark('frame'); return; }
      if (now() - start > limitMs) { marks.timeout = now(); return; }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
}""".replace("FRAME_PLAYING", FRAME_PLAYING_JS)

# The host's page: stamp the click (then click), the `admit` leaving and the lobby update after it.
CLICK_ADMIT_JS = """(button) => {
  const k = window.konsylium;
  const now = () => performance.timeOrigin + performance.now();
  const marks = {};
  window.__admitBench = marks;
  k.socket.onAnyOutgoing((event) => { if (event === 'admit' && !('admit_sent' in marks)) marks.admit_sent = now(); });
  k.socket.onAny((event) => { if (event === 'lobby' && !('host_lobby' in marks)) marks.host_lobby = now(); });
  marks.click = now();
  button.click();
  return marks.click;
}"""

NOW_JS = "() => performance.timeOrigin + performance.now()"

# What each stamp means (ms after the click); the table lists them in the order they happened (by p50).
STAGES: dict[str, str] = {
    "admit_sent": "host page: `admit` handed to Socket.IO",
    "admitted": "citizen page: `admitted` received",
    "room_view": "citizen page: the room view shown",
    "host_lobby": "host page: `lobby` update received (the server's admit handler done)",
    "publish_sent": "citizen page: own `publish` sent (often only after the first frame, then not counted)",
    "offer": "citizen page: `subscriber_offer` received",
    "subscriber_created": "citizen page: subscribe RTCPeerConnection exists",
    "answer_sent": "citizen page: `subscriber_answer` sent (after ICE gathering)",
    "video_attached": "citizen page: the host's <video> has its stream",
    "ice_connected": "citizen page: subscriber ICE connected",
    "dtls_connected": "citizen page: subscriber connectionState connected (DTLS)",
    "video_sized": "citizen page: the host's <video> knows its size",
    "frame": "citizen page: first frame playing (videoWidth > 0, currentTime > 0)",
}


@dataclass(frozen=True, slots=True)
class AdmitRun:
    """One admission: click → first frame, the stages (ms after the click) and the two pages' clock skew."""

    ms: float
    stages: dict[str, float]
    skew_ms: float


@dataclass(slots=True)
class Repetition:
    """One repetition: an admission and the same-run references (None when that part timed out)."""

    admit: AdmitRun | None = None
    join_ms: float | None = None
    direct_ms: float | None = None
    errors: list[str] = field(default_factory=list)


async def clock_skew(a: Page, b: Page) -> float:
    """Page b's wall clock minus page a's, in ms (best of 5 round trips: a, b, a)."""
    best: tuple[float, float] | None = None
    for _ in range(5):
        a1 = float(await a.evaluate(NOW_JS))
        b1 = float(await b.evaluate(NOW_JS))
        a2 = float(await a.evaluate(NOW_JS))
        if best is None or a2 - a1 < best[0]:
            best = (a2 - a1, b1 - (a1 + a2) / 2)
    assert best is not None
    return best[1]


async def admit_run(browser: Browser, url: str, limit_s: float) -> AdmitRun:
    """Book an A2C meeting, the official publishing and the citizen waiting; time "Wpuść" → first frame."""
    room = await asyncio.to_thread(book, url, "A2C", [(OFFICIAL, "host", "administration"),
                                                     (CITIZEN, "member", "citizen")], "Wizyta w urzędzie")
    host, citizen = room["participants"]
    ctx_host = await browser.new_context(locale="pl-PL")
    ctx_citizen = await browser.new_context(locale="pl-PL")
    try:
        page_host = await join_publishing(ctx_host, host)
        page_citizen = await ctx_citizen.new_page()
        await page_citizen.goto(citizen["join_url"])
        await page_citizen.get_by_role("button", name="Dołącz", exact=True).click()
        await page_citizen.wait_for_function("() => window.konsylium?.view === 'waiting'", timeout=10_000)
        admit = page_host.get_by_role("button", name=f"Wpuść {CITIZEN}", exact=True)
        await admit.wait_for(timeout=10_000)
        skew = await clock_skew(page_host, page_citizen)
        await page_citizen.evaluate(ARM_CITIZEN_JS, [host["id"], limit_s * 1000])
        click = float(await admit.evaluate(CLICK_ADMIT_JS))
        await page_citizen.wait_for_function("() => 'frame' in window.__admitBench || 'timeout' in window.__admitBench",
                                             timeout=(limit_s + 5) * 1000)
        marks: dict[str, float] = await page_citizen.evaluate("() => window.__admitBench")
        marks.update(await page_host.evaluate("() => window.__admitBench"))
        if "frame" not in marks:
            raise TimeoutError(f"no frame of the host's video {limit_s:.0f} s after the admission")
        stages = {name: marks[name] - click for name in STAGES if name in marks}
        return AdmitRun(stages["frame"], stages, skew)
    finally:
        await ctx_host.close()
        await ctx_citizen.close()


async def repetition(browser: Browser, url: str, timeout: float) -> Repetition:
    """An admission, then bench_join's run, each bounded by *timeout* seconds."""
    rep = Repetition()
    try:
        rep.admit = await asyncio.wait_for(admit_run(browser, url, timeout), timeout + 20)
    except (TimeoutError, RuntimeError, PlaywrightError) as exc:
        rep.errors.append(f"admit: {type(exc).__name__}: {exc}")
    try:
        join_ms, direct_ms = await asyncio.wait_for(bench_join.one_run(browser, url), timeout + 20)
        rep.join_ms = join_ms if join_ms >= 0 else None
        rep.direct_ms = direct_ms if direct_ms >= 0 else None
        if join_ms < 0 or direct_ms < 0:
            rep.errors.append("join: no first frame within 20 s")
    except (TimeoutError, RuntimeError, PlaywrightError) as exc:
        rep.errors.append(f"join: {type(exc).__name__}: {exc}")
    return rep


async def measure(url: str, runs: int, timeout: float) -> list[Repetition]:
    async with async_playwright() as pw:
        browser = await launch(pw)
        try:
            await repetition(browser, url, timeout)  # warm-up: first page loads, codecs, workers
            reps = []
            for n in range(runs):
                rep = await repetition(browser, url, timeout)
                for error in rep.errors:
                    print(f"run {n + 1}: {error}", file=sys.stderr)
                reps.append(rep)
            return reps
        finally:
            await browser.close()


def _row(values: list[float], runs: int) -> dict[str, Any]:
    return {"n": len(values), "failed": runs - len(values), "p50": percentile(values, 0.5),
            "p95": percentile(values, 0.95), "max": max(values, default=float("nan")),
            "median": statistics.median(values) if values else float("nan")}


def summary(reps: list[Repetition]) -> dict[str, dict[str, Any]]:
    """p50/p95/max/n of the admission, of each of its stages and of the two references."""
    admits = [r.admit for r in reps if r.admit is not None]
    out = {"admit": _row([a.ms for a in admits], len(reps)),
           "join": _row([r.join_ms for r in reps if r.join_ms is not None], len(reps)),
           "direct": _row([r.direct_ms for r in reps if r.direct_ms is not None], len(reps))}
    for name in STAGES:
        out[f"stage:{name}"] = _row([a.stages[name] for a in admits if name in a.stages], len(admits))
    out["clock_skew_abs"] = _row([abs(a.skew_ms) for a in admits], len(admits))
    return out


def _cells(row: dict[str, Any]) -> str:
    return f"{row['p50']:.0f} | {row['p95']:.0f} | {row['max']:.0f} | {row['n']}"


def tables(stats: dict[str, dict[str, Any]]) -> str:
    lines = ["| measure | p50 ms | p95 ms | max ms | n | failed |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for key, label in (("admit", "admit (host's click on \"Wpuść …\") → citizen's first remote frame, A2C"),
                       ("join", "reference: join (click \"Dołącz\") → first remote frame, A2A"),
                       ("direct", "reference: direct loopback in one page, no server")):
        lines.append(f"| {label} | {_cells(stats[key])} | {stats[key]['failed']} |")
    ratio = stats["admit"]["p50"] / stats["join"]["p50"] if stats["join"]["n"] else float("nan")
    lines += ["", f"admit ÷ join (p50): {ratio:.2f}", "",
              "| stage of the admission (ms after the click) | p50 | p95 | max | n |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for name in sorted((n for n in STAGES if stats[f"stage:{n}"]["n"]), key=lambda n: stats[f"stage:{n}"]["p50"]):
        lines.append(f"| {STAGES[name]} | {_cells(stats[f'stage:{name}'])} |")
    skew = stats["clock_skew_abs"]
    if skew["n"]:
        lines += ["", f"clock skew between the two pages (|citizen - host|, best of 5 round trips): "
                      f"p50 {skew['p50']:.1f} ms, max {skew['max']:.1f} ms"]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {"when": datetime.now(UTC).isoformat(timespec="seconds"), "cpus": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="repetitions after one warm-up (default 20)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds allowed for each first frame")
    parser.add_argument("--workers", type=int, default=None, help="KONSYLIUM_WORKERS (default: the node's)")
    parser.add_argument("--json", type=Path, default=None, help="write every run and the summary here")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    env = {"KONSYLIUM_MEDIA_ADDRESSES": "127.0.0.1"}
    if args.workers is not None:
        env["KONSYLIUM_WORKERS"] = str(args.workers)
    with local_node(**env) as node:
        reps = asyncio.run(measure(node.url, args.runs, args.timeout))
    stats = summary(reps)
    print(tables(stats))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "summary": stats,
                                         "runs": [asdict(r) for r in reps]}, indent=2))
    if stats["admit"]["n"] == 0:
        sys.exit("no admission reached a first frame")


if __name__ == "__main__":
    main()
