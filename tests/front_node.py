"""A ``konsylium serve`` subprocess for the front's limit tests: its stderr kept apart, optional fd limit."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.processes import free_port

__all__ = ["API_KEY", "FrontNode", "book_open_room", "front_node", "raw_connection"]

API_KEY = "k-front-0123456789abcdef-SECRETKEY"


@dataclass
class FrontNode:
    proc: subprocess.Popen[bytes]
    url: str
    port: int
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def signal_group(self, signum: int) -> None:
        """Signal the node and its media workers at once (what systemd does on stop)."""
        os.killpg(self.proc.pid, signum)

    def stop(self, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def _limit_files(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    return apply


@contextmanager
def front_node(tmp_path: Path, *, workers: int = 0, open_files: int | None = None,
               env: dict[str, str] | None = None) -> Iterator[FrontNode]:
    """Start ``konsylium serve`` (stdout and stderr to a file) and stop it with SIGTERM."""
    port = free_port()
    full = {"PATH": os.environ["PATH"], "KONSYLIUM_PORT": str(port), "KONSYLIUM_DATA_DIR": str(tmp_path / "data"),
            "KONSYLIUM_WORKERS": str(workers), "KONSYLIUM_API_KEYS": f"portal={API_KEY}",
            "KONSYLIUM_MEDIA_ADDRESSES": "127.0.0.1", **(env or {})}
    stderr_path = tmp_path / f"serve-{port}.log"
    with open(stderr_path, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "konsylium", "serve"], env=full, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=_limit_files(open_files) if open_files else None,
            start_new_session=True,  # its own process group, as under systemd
        )
    node = FrontNode(proc, f"http://127.0.0.1:{port}", port, stderr_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}: {node.stderr()}")
            try:
                with urllib.request.urlopen(f"{node.url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(node.stderr()) from None
                time.sleep(0.05)
        yield node
    finally:
        node.stop()


def raw_connection(port: int, data: bytes = b"", source: str = "127.0.0.1") -> socket.socket:
    """A TCP connection to the node from *source* that has sent *data* (and maybe no more)."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    if data:
        sock.sendall(data)
    return sock


def book_open_room(url: str, people: int = 2) -> dict[str, Any]:
    """Book a meeting open now through the API; return its JSON (participants carry join tokens)."""
    start = datetime.now(UTC) - timedelta(minutes=5)
    body = {
        "title": "Front test", "kind": "meeting", "model": "A2A",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
        "participants": [{"display_name": f"P{i}", "role": "host" if i == 0 else "member",
                          "party": "administration"} for i in range(people)],
    }
    request = urllib.request.Request(
        f"{url}/api/v1/rooms", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        room: dict[str, Any] = json.load(resp)
        return room
