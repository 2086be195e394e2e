"""Nothing a client sends reaches the log, and garbage costs one short, rate-limited line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from konsylium.app import create_app, runner_options
from konsylium.log_guard import ACCEPT_MESSAGE, AcceptErrorFilter, install_log_guards
from konsylium.settings import Settings
from tests.conftest import KEYS, SECRET
from tests.front_node import API_KEY, book_open_room, front_node, raw_connection

SECRET_MARK = "SeCrEt"


def _garbage_requests(key: str, token: str) -> Iterator[bytes]:
    """HTTP requests aiohttp cannot parse, each carrying a secret."""
    while True:
        yield f"GET /api/v1/rooms HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\x01\r\n\r\n".encode()
        yield f"GET /join/r?t={token} HTTP/1.1\r\nHost: x\r\nX-Token: {token}\x7f\r\n\r\n".encode()
        yield f"G\x00T /{token} HTTP/1.1\r\n\r\n".encode()
        yield f"GET /x HTTP/1.1\r\nHost: x\r\nX: {'a' * 9000}{key}\r\n\r\n".encode()
        yield f"{key} {token}\r\n\r\n".encode()
        yield f"GET /api/v1/rooms?limit={token} HTTP/9.9\r\n\r\n".encode()


def _send(port: int, data: bytes) -> None:
    sock = raw_connection(port, data)
    sock.settimeout(5)
    try:
        while sock.recv(65536):
            pass
    except OSError:
        pass
    sock.close()


async def _engineio_garbage(url: str, secret: str, count: int) -> None:
    """Garbage Engine.IO payloads over polling and over a WebSocket, each carrying *secret*."""
    bodies = [f"garbage{secret}", f"4{{{{{secret}", f'40{{"token":{secret}', f"42[{secret}", f"9{secret}",
              f"4\x1e{secret}\x1e\x00"]
    for i in range(count):  # each from its own address: anonymous sessions are capped per address
        connector = aiohttp.TCPConnector(local_addr=(f"127.0.7.{i + 1}", 0))
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(f"{url}/socket.io/?EIO=4&transport=polling") as resp:
                sid = json.loads((await resp.text())[1:])["sid"]
            if i % 2:
                async with http.post(f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}",
                                     data=bodies[i % len(bodies)].encode()) as resp:
                    await resp.read()
            else:
                async with http.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket") as ws:
                    await ws.receive()
                    await ws.send_str(bodies[i % len(bodies)])
                    await ws.send_str(f"40{{{secret}")
                    await ws.close()


async def test_garbage_requests_leave_no_secret_no_traceback_and_little_log(tmp_path: Path) -> None:
    with front_node(tmp_path) as node:
        room = book_open_room(node.url)
        token = room["participants"][0]["token"]
        before = len(node.stderr())
        garbage = _garbage_requests(API_KEY, token)
        for _ in range(60):
            _send(node.port, next(garbage))
            time.sleep(0.1)  # under the rate limit: each request gets its line
        await _engineio_garbage(node.url, token, 40)
        # A request with a well-formed line but a secret in the query: the access log keeps the path only.
        with urllib.request.urlopen(f"{node.url}/healthz?token={token}", timeout=5):
            pass
        await asyncio.sleep(0.5)
        log = node.stderr()[before:]
    assert API_KEY not in log and token not in log
    assert token.split(".")[1] not in log and token.split(".")[2] not in log
    assert "Traceback" not in log, log[log.find("Traceback") - 300:][:3000]
    assert len(log.encode()) / 100 < 200, log
    assert log.count("client error") >= 50, log


def test_a_flood_of_garbage_is_rate_limited(tmp_path: Path) -> None:
    with front_node(tmp_path) as node:
        before = len(node.stderr())
        started = time.monotonic()
        garbage = _garbage_requests(API_KEY, "t.o.ken")
        for _ in range(400):
            _send(node.port, next(garbage))
        elapsed = time.monotonic() - started
        time.sleep(1.1)
        _send(node.port, b"BAD\x00 / HTTP/1.1\r\n\r\n")  # the next line carries the count of dropped ones
        time.sleep(0.3)
        log = node.stderr()[before:]
    lines = [line for line in log.splitlines() if "client error" in line]
    assert len(lines) <= 10 * (elapsed + 1.5) + 10, (len(lines), elapsed)
    assert len(lines) < 300
    assert "similar lines dropped" in log
    assert "Traceback" not in log


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The log as an operator sees it: every record at DEBUG and up, through the guards."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    install_log_guards()
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(head=st.binary(max_size=60), tail=st.binary(max_size=60))
async def test_no_request_bytes_reach_the_log(tmp_path: Path, captured: io.StringIO, head: bytes,
                                              tail: bytes) -> None:
    """Whatever bytes surround a secret in a request, the secret never reaches the log."""
    app = create_app(Settings(port=8080, data_dir=tmp_path, api_keys=KEYS, secret=SECRET, workers=0))
    server = TestServer(app)
    await server.start_server(**runner_options())
    secret = f"{SECRET_MARK}-{KEYS['portal']}"
    try:
        for data in (head + secret.encode() + tail,
                     b"GET / HTTP/1.1\r\nAuthorization: Bearer " + secret.encode() + tail + b"\r\n\r\n",
                     b"GET /" + head + secret.encode() + b" HTTP/1.1\r\n\r\n"):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(data)
            writer.write_eof()
            await asyncio.wait_for(reader.read(), 5)
            writer.close()
    finally:
        await server.close()
    text = captured.getvalue()
    assert SECRET_MARK not in text and KEYS["portal"] not in text
    assert "Traceback" not in text


def test_accept_errors_are_one_line_per_interval() -> None:
    now = [0.0]
    guard = AcceptErrorFilter(every=10, clock=lambda: now[0])
    out = io.StringIO()
    logger = logging.getLogger("test_log_guard.accept")
    logger.propagate = False
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    logger.addFilter(guard)
    try:
        error = OSError(24, "Too many open files")
        for step in range(1000):
            now[0] = step * 0.05  # 20 failed accepts a second for 50 s
            logger.error(f"{ACCEPT_MESSAGE}\nsocket: <socket fd=5>", exc_info=(OSError, error, None))
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 5, lines
    assert all(line.startswith(ACCEPT_MESSAGE) and "Too many open files" in line for line in lines)
    assert "199 more since the last line" in lines[1]
    assert "Traceback" not in out.getvalue()
