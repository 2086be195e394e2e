"""Time from pressing Join to the first remote video frame, in real headless Chromium.

One participant is already in the room and publishing; a second opens their
join link, and the page measures from the click on "Dołącz" to the first
decoded frame of the first participant's video (``videoWidth`` known and
``currentTime`` moving). Same-run reference: two peer connections inside one
Chromium page, camera to screen directly (no server, timed from an open
camera as the pre-join preview has it), so the ratio shows what the server path
adds on this machine.

    python -m loadtests.bench_join --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from playwright.async_api import Browser, async_playwright

from loadtests.chromium import FRAME_PLAYING_JS, book, join_publishing, launch
from loadtests.node import local_node

__all__ = ["DIRECT_JS", "one_run"]

CLICK_TO_FRAME_JS = """async (pid) => {
  const button = document.getElementById('join-button');
  const t0 = performance.now();
  button.click();
  for (;;) {
    const v = document.querySelector(`video[data-participant-id="${pid}"]`);
    if (FRAME_PLAYING) return performance.now() - t0;
    if (performance.now() - t0 > 20000) return -1;
    await new Promise((r) => setTimeout(r, 5));
  }
}""".replace("FRAME_PLAYING", FRAME_PLAYING_JS)

DIRECT_JS = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({video: true, audio: true});
  const t0 = performance.now();  // the camera is open, as in the pre-join preview
  const a = new RTCPeerConnection(), b = new RTCPeerConnection();
  a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate);
  b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate);
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; document.body.appendChild(video);
  b.ontrack = (e) => { video.srcObject = e.streams[0]; };
  stream.getTracks().forEach((t) => a.addTrack(t, stream));
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  for (;;) {
    if (video.videoWidth > 0 && video.currentTime > 0) break;
    if (performance.now() - t0 > 20000) return -1;
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  a.close(); b.close(); stream.getTracks().forEach((t) => t.stop());
  return ms;
}"""


async def one_run(browser: Browser, url: str) -> tuple[float, float]:
    room = await asyncio.to_thread(book, url, "A2A", [("Pierwsza", "member", "administration"),
                                                     ("Druga", "member", "administration")])
    first, second = room["participants"]
    ctx_a = await browser.new_context(locale="pl-PL")
    ctx_b = await browser.new_context(locale="pl-PL")
    try:
        await join_publishing(ctx_a, first)
        page_b = await ctx_b.new_page()
        await page_b.goto(second["join_url"])
        await page_b.get_by_role("button", name="Dołącz", exact=True).wait_for()
        await page_b.wait_for_function("() => !document.getElementById('join-button').disabled")
        via_server = float(await page_b.evaluate(CLICK_TO_FRAME_JS, first["id"]))
        page_c = await ctx_b.new_page()
        await page_c.goto(f"{url}/healthz")
        direct = float(await page_c.evaluate(DIRECT_JS))
        return via_server, direct
    finally:
        await ctx_a.close()
        await ctx_b.close()


async def measure(url: str, runs: int) -> list[tuple[float, float]]:
    async with async_playwright() as pw:
        browser = await launch(pw)
        try:
            await one_run(browser, url)  # warm-up: first page loads, codecs, workers
            return [await one_run(browser, url) for _ in range(runs)]
        finally:
            await browser.close()


def table(results: list[tuple[float, float]]) -> str:
    server = [r[0] for r in results]
    direct = [r[1] for r in results]
    lines = ["| run | Join → first remote frame via Konsylium (ms) | direct loopback in one page (ms) | ratio |",
             "| ---: | ---: | ---: | ---: |"]
    for n, (s, d) in enumerate(results, 1):
        lines.append(f"| {n} | {s:.0f} | {d:.0f} | {s / d:.2f} |")
    lines.append(f"| median | {statistics.median(server):.0f} | {statistics.median(direct):.0f} | "
                 f"{statistics.median(server) / statistics.median(direct):.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with local_node(KONSYLIUM_MEDIA_ADDRESSES="127.0.0.1") as node:
        results = asyncio.run(measure(node.url, args.runs))
    print(table(results))


if __name__ == "__main__":
    main()
