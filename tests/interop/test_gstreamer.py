"""GStreamer's webrtcbin (Debian's packages) as a WHIP publisher and a WHEP subscriber against a real node.

webrtcbin is a WebRTC stack independent of aiortc and of the browsers: its own ICE (libnice), its
own DTLS (OpenSSL with an RSA certificate), ``a=setup:actpass`` offers and ``max-bundle``. Each
test runs ``gst_webrtc_client.py`` under Debian's ``/usr/bin/python3`` as a subprocess, while the
node serves on the test's event loop, and asserts on the JSON line it prints.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.signalling.clients import Client, WhepViewer, until
from tests.signalling.conftest import DOCTOR, PATIENT, VIEWER, LiveNode, running_node

GST_PYTHON = "/usr/bin/python3"  # Debian's: python3-gi and python3-gst-1.0 are installed for it
SCRIPT = Path(__file__).with_name("gst_webrtc_client.py")


async def gst(mode: str, url: str, token: str, *flags: str, seconds: float = 4.0) -> dict[str, Any]:
    """Run the webrtcbin client for *seconds* and return its JSON line of results."""
    proc = await asyncio.create_subprocess_exec(
        GST_PYTHON, str(SCRIPT), mode, url, "--token", token, "--seconds", str(seconds), *flags,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout=seconds + 25)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    lines = out.decode().strip().splitlines()
    assert proc.returncode == 0 and lines, err.decode()[-2000:]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def shown(result: dict[str, Any]) -> str:
    """The client's whole result as the assertion message (pytest would cut a dict short)."""
    return json.dumps({key: value for key, value in result.items() if key != "location"})


def connected(result: dict[str, Any]) -> None:
    """The session got through ICE and DTLS and was ended by its DELETE."""
    assert result["post_status"] == 201, shown(result)
    assert result["answer_candidates"] > 0, shown(result)
    assert "connected" in result["dtls_states"], shown(result)
    assert "connected" in result["connection_states"], shown(result)
    assert result["delete_status"] == 200, shown(result)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[LiveNode]:
    """A node with its media in-process (the cases that do not depend on where media runs)."""
    async with running_node(tmp_path, 0) as live:
        yield live


async def publishing_doctor(live: LiveNode) -> tuple[dict[str, Any], Client]:
    """A room whose host publishes moving video and a tone from aiortc over Socket.IO."""
    room = await live.book(DOCTOR, PATIENT, VIEWER)
    doctor = live.client(room["participants"][0]["token"])
    await doctor.connect()
    assert (await doctor.publish())["ok"]
    return room, doctor


async def test_webrtcbin_publishes_over_whip_to_aiortc_and_webrtcbin(live: LiveNode) -> None:
    """webrtcbin's VP8 and Opus reach an aiortc WHEP viewer and a second webrtcbin over WHEP."""
    room = await live.book(DOCTOR, VIEWER)
    doctor_p, viewer_p = room["participants"]
    publishing = asyncio.create_task(gst("whip", f"{live.url}/whip/{room['id']}", doctor_p["token"], seconds=12))
    await until(lambda: live.node.rooms.totals().publishers == 1 or publishing.done(), timeout=20,
                what="WHIP publisher")
    viewer = WhepViewer()
    subscribed: dict[str, Any] | None = None
    try:
        if not publishing.done():
            url = f"{live.url}/whep/{room['id']}?participant={doctor_p['id']}"
            async with aiohttp.ClientSession() as http, http.post(
                url, data=await viewer.offer(),
                headers={"Authorization": f"Bearer {viewer_p['token']}", "Content-Type": "application/sdp"},
            ) as resp:
                assert resp.status == 201, await resp.text()
                await viewer.accept(await resp.text())
            subscribed = await gst("whep", url, viewer_p["token"], seconds=4)
        result = await publishing  # its ICE and DTLS states tell why, when no media came
        assert result["offer_setup"] == "actpass" and result["offer_has_bundle"], shown(result)
        connected(result)
        assert not result["errors"], shown(result)
        assert viewer.video_moving(), "aiortc decoded no moving video from webrtcbin"
        assert subscribed is not None
        connected(subscribed)
        assert subscribed["video_frames"] > 10 and subscribed["audio_buffers"] > 10, shown(subscribed)
        await until(lambda: live.node.rooms.totals().publishers == 0, what="publisher freed by DELETE")
    finally:
        await viewer.close()


async def test_h264_from_webrtcbin_to_webrtcbin(node: LiveNode) -> None:
    """OpenH264 (GStreamer's plugins-bad) over WHIP, forwarded untouched, decoded by a WHEP webrtcbin."""
    room = await node.book(DOCTOR, VIEWER)
    doctor_p, viewer_p = room["participants"]
    publishing = asyncio.create_task(gst("whip", f"{node.url}/whip/{room['id']}", doctor_p["token"], "--codec",
                                         "h264", seconds=9))
    await until(lambda: node.node.rooms.totals().publishers == 1 or publishing.done(), timeout=20,
                what="WHIP publisher")
    subscribed: dict[str, Any] | None = None
    if not publishing.done():
        subscribed = await gst("whep", f"{node.url}/whep/{room['id']}?participant={doctor_p['id']}",
                               viewer_p["token"], "--codec", "h264", seconds=4)
    result = await publishing
    connected(result)
    assert not result["errors"], shown(result)
    assert subscribed is not None
    connected(subscribed)
    assert subscribed["video_frames"] > 10 and subscribed["audio_buffers"] > 10, shown(subscribed)


async def test_webrtcbin_subscribes_over_whep_to_audio_and_video(live: LiveNode) -> None:
    room, _ = await publishing_doctor(live)
    doctor_p, _, viewer_p = room["participants"]
    result = await gst("whep", f"{live.url}/whep/{room['id']}?participant={doctor_p['id']}", viewer_p["token"])
    connected(result)
    assert result["answer_media"] == ["video", "audio"], shown(result)
    assert result["video_frames"] > 10, shown(result)
    assert result["audio_buffers"] > 10, shown(result)
    assert not result["errors"], shown(result)


async def test_audio_level_extension_with_vad_attribute_is_accepted(node: LiveNode) -> None:
    room = await node.book(DOCTOR)
    result = await gst("whip", f"{node.url}/whip/{room['id']}", room["participants"][0]["token"], "--audio-level",
                       seconds=3)
    assert any(line.endswith("ssrc-audio-level vad=on") for line in result["offer_extmaps"]), shown(result)
    connected(result)


async def test_offer_without_bundle_is_refused_clearly_or_works(node: LiveNode) -> None:
    """RFC 9725 clients must use BUNDLE; one that does not gets a 400 problem, never a broken 201."""
    room = await node.book(DOCTOR)
    result = await gst("whip", f"{node.url}/whip/{room['id']}", room["participants"][0]["token"], "--no-bundle",
                       seconds=3)
    assert not result["offer_has_bundle"] and result["offer_candidates"] > 0, shown(result)
    if result["post_status"] == 201:  # supported: then it must connect, without a group the offer never had
        assert not result["answer_has_bundle"], shown(result)
        connected(result)
    else:
        assert result["post_status"] == 400, shown(result)
        assert result["post_content_type"].startswith("application/problem+json"), shown(result)
        assert "bundle" in json.dumps(result["problem"]).lower(), shown(result)
        assert node.node.rooms.totals().publishers == 0


async def test_whep_subscriber_gets_only_the_kind_it_asked_for(node: LiveNode) -> None:
    room, _ = await publishing_doctor(node)
    doctor_p, _, viewer_p = room["participants"]
    url = f"{node.url}/whep/{room['id']}?participant={doctor_p['id']}"
    audio, video = await asyncio.gather(gst("whep", url, viewer_p["token"], "--no-video"),
                                        gst("whep", url, viewer_p["token"], "--no-audio"))
    connected(audio)
    assert audio["answer_media"] == ["audio"], shown(audio)
    assert audio["audio_buffers"] > 10 and audio["video_frames"] == 0, shown(audio)
    connected(video)
    assert video["answer_media"] == ["video"], shown(video)
    assert video["video_frames"] > 10 and video["audio_buffers"] == 0, shown(video)


async def test_offer_with_only_mdns_candidates_still_connects(node: LiveNode) -> None:
    """What browsers send without camera permission: every host candidate an unresolvable .local name."""
    room = await node.book(DOCTOR)
    result = await gst("whip", f"{node.url}/whip/{room['id']}", room["participants"][0]["token"], "--mdns",
                       seconds=4)
    assert result["offer_candidates"] > 0 and result["offer_mdns"], shown(result)
    connected(result)
