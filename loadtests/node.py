"""A Konsylium node in a subprocess for load tests, with the helpers to book and measure it."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from loadtests.cpu import descendants

__all__ = ["BENCH_KEY", "Node", "answers", "free_port", "local_node", "rss_bytes"]

BENCH_KEY = "bench-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def answers(http: aiohttp.ClientSession, url: str, proc: subprocess.Popen[Any], timeout: float) -> bool:
    """Poll GET *url* until it answers 200 (True), or *proc* exits or *timeout* passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            async with http.get(url) as resp:
                if resp.status == 200:
                    return True
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    return False


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (the media workers)."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


@dataclass
class Node:
    url: str
    pid: int


@contextmanager
def local_node(**env: str) -> Iterator[Node]:
    """Run a fresh node (temporary data dir) in a subprocess; extra KONSYLIUM_* settings in *env*."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="konsylium-bench-") as data:
        full = {**os.environ, "KONSYLIUM_PORT": str(port), "KONSYLIUM_DATA_DIR": data,
                "KONSYLIUM_API_KEYS": f"bench={BENCH_KEY}", "KONSYLIUM_LOG_LEVEL": "warning", **env}
        proc = subprocess.Popen([sys.executable, "-m", "konsylium", "serve"], env=full,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/healthz", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise RuntimeError("the node did not start") from None
                time.sleep(0.05)
        try:
            yield Node(url, proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
