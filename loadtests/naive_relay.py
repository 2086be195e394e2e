"""The baseline a Python developer would otherwise write: aiortc's MediaRelay.

Decode once, encode once per subscriber. It speaks just enough WHIP and WHEP for
the benchmark's clients (one publisher, any number of viewers, no auth):

    python -m loadtests.naive_relay --port 8099
    POST /whip            SDP offer → 201 + answer (the publisher)
    POST /whep            SDP offer → 201 + answer (a viewer of the publisher's tracks)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from aiohttp import web
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

from sfu.aiortc_internals import configure_host_addresses

LOOPBACK = ("127.0.0.1",)

__all__ = ["NaiveRelay", "main"]


class NaiveRelay:
    """One publisher's tracks, relayed (decoded, re-encoded per viewer) to every viewer."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.peers: set[RTCPeerConnection] = set()

    def _pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.peers.add(pc)
        return pc

    async def _answer(self, pc: RTCPeerConnection, offer: str) -> web.Response:
        await pc.setRemoteDescription(RTCSessionDescription(offer, "offer"))
        configure_host_addresses(pc, LOOPBACK)  # aioice alone would skip 127.0.0.1
        await pc.setLocalDescription(await pc.createAnswer())
        return web.Response(status=201, text=pc.localDescription.sdp, content_type="application/sdp",
                            headers={"Location": "/session"})

    async def whip(self, request: web.Request) -> web.Response:
        pc = self._pc()

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self.tracks[track.kind] = track

        return await self._answer(pc, await request.text())

    async def whep(self, request: web.Request) -> web.Response:
        pc = self._pc()
        for kind in ("video", "audio"):
            if kind in self.tracks:
                pc.addTrack(self.relay.subscribe(self.tracks[kind]))
        return await self._answer(pc, await request.text())

    async def close(self) -> None:
        for pc in list(self.peers):
            await pc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    relay = NaiveRelay()
    app = web.Application()
    app.router.add_post("/whip", relay.whip)
    app.router.add_post("/whep", relay.whep)
    app.router.add_get("/healthz", lambda request: asyncio.sleep(0, web.Response(text="ok")))

    async def cleanup(app: web.Application) -> None:
        await relay.close()

    app.on_cleanup.append(cleanup)
    with contextlib.suppress(KeyboardInterrupt):
        web.run_app(app, host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
