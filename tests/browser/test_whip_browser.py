"""WHIP and WHEP meet the browser: standard tools on one side, Chromium on the other."""

from __future__ import annotations

import asyncio

import aiohttp
from aiortc import RTCSessionDescription
from playwright.async_api import Browser

from tests.browser.conftest import VIDEO_PLAYING_JS, book, join, until
from tests.processes import ServerProcess
from tests.signalling.clients import WhepViewer, client_pc, publish_offer
from tests.signalling.clients import until as until_here


async def post_sdp(url: str, token: str, sdp: str) -> tuple[int, dict[str, str], str]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"}
    async with aiohttp.ClientSession() as http, http.post(url, data=sdp, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.text()


async def test_aiortc_whip_publisher_is_seen_in_chromium(node: ServerProcess, browser: Browser) -> None:
    room = await asyncio.to_thread(book, node, [("Kamera sali", "host"), ("Radna", "member")])
    camera, councillor = room["participants"]
    pc = client_pc()
    try:
        status, headers, answer = await post_sdp(f"{node.url}/whip/{room['id']}", camera["token"],
                                                 await publish_offer(pc))
        assert status == 201, answer
        await pc.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        page = await join(browser, councillor)
        await until(page, VIDEO_PLAYING_JS, camera["id"], timeout=15, node=node,
                    what="the WHIP publisher's video playing in Chromium")
        async with aiohttp.ClientSession() as http, http.delete(headers["Location"]) as resp:
            assert resp.status == 200
        await until(page, "(pid) => !document.querySelector(`.tile[data-participant-id='${pid}']`)",
                    camera["id"], node=node, what="the WHIP publisher's tile gone after DELETE")
    finally:
        await pc.close()


async def test_chromium_participant_is_received_by_an_aiortc_whep_client(
    node: ServerProcess, browser: Browser
) -> None:
    room = await asyncio.to_thread(book, node, [("Prowadząca", "host"), ("Nagrywarka", "viewer")])
    host, recorder = room["participants"]
    page = await join(browser, host)
    await until(page, "() => window.konsylium?.publisher?.connectionState === 'connected'",
                node=node, what="the browser publishing")
    viewer = WhepViewer()
    try:
        offer = await viewer.offer()
        url = f"{node.url}/whep/{room['id']}?participant={host['id']}"
        for _ in range(50):  # the browser's tracks go live a moment after it connects
            status, headers, answer = await post_sdp(url, recorder["token"], offer)
            if status != 404:
                break
            await asyncio.sleep(0.1)
        assert status == 201, answer
        await viewer.accept(answer)
        await until_here(viewer.video_moving, timeout=15, what="the WHEP client decoding Chromium's video")
        await until_here(viewer.audio_flowing, what="the WHEP client decoding Chromium's audio")
        async with aiohttp.ClientSession() as http, http.delete(headers["Location"]) as resp:
            assert resp.status == 200
    finally:
        await viewer.close()
