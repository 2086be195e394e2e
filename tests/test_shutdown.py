"""SIGTERM during a call: clients are told, the node and its media workers exit cleanly and promptly."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from tests.front_node import book_open_room, front_node
from tests.signalling.clients import Client, until


@pytest.mark.parametrize("group", [False, True], ids=["front", "process-group"])
async def test_sigterm_during_a_call_tells_clients_and_exits_0_quickly(tmp_path: Path, group: bool) -> None:
    with front_node(tmp_path, workers=1) as node:
        room = book_open_room(node.url)
        host, member = (Client(node.url, p["token"]) for p in room["participants"])
        try:
            await host.connect()
            await member.connect()
            ack = await host.publish()
            assert ack["ok"], ack
            await until(lambda: (r := member.video_from(room["participants"][0]["id"])) is not None
                        and r.frames > 3, timeout=20, what="video at the member")
            started = time.monotonic()
            if group:
                node.signal_group(signal.SIGTERM)
            else:
                node.proc.send_signal(signal.SIGTERM)
            await until(lambda: not host.sio.connected and not member.sio.connected, timeout=5,
                        what="sockets closed by the server")
            code = await asyncio.get_running_loop().run_in_executor(None, node.proc.wait, 10)
            took = time.monotonic() - started
        finally:
            await host.close()
            await member.close()
        log = node.stderr()
    assert code == 0, log[-3000:]
    assert took < 5, took
    for client in (host, member):
        assert {"code": "server_shutdown", "event": "session",
                "message": "the server is stopping; reconnect in a moment"} in client.named("error")
    assert "Traceback" not in log, log[log.find("Traceback") - 300:][:3000]
    assert "LinkClosed" not in log
    assert "went away" not in log  # the media worker did not die before the front stopped it
    assert "media worker" in log and "stopped" in log.splitlines()[-1]
