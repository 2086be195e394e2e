"""Real processes for tests: a Konsylium server and a redis-server on free ports."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["RedisServer", "ServerProcess", "free_port", "redis_server", "run_cli", "server"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(args: list[str], env: Mapping[str, str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    """Run ``konsylium ARGS`` to completion with exactly *env* (plus PATH)."""
    full = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(
        [sys.executable, "-m", "konsylium", *args],
        env=full, capture_output=True, text=True, timeout=timeout, check=False,
    )


@dataclass
class ServerProcess:
    proc: subprocess.Popen[str]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text()


def _wait_http(url: str, proc: subprocess.Popen[str], log_path: Path, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"server did not answer /healthz: {log_path.read_text()}")


@contextmanager
def server(env: Mapping[str, str], log_path: Path, kill: bool = False) -> Iterator[ServerProcess]:
    """Start ``konsylium serve`` on a free port and stop it (SIGTERM, or SIGKILL if *kill*)."""
    port = free_port()
    full = {"PATH": os.environ["PATH"], "KONSYLIUM_PORT": str(port), **env}
    with open(log_path, "a") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "konsylium", "serve"],
            env=full, stdout=log, stderr=subprocess.STDOUT, text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url, proc, log_path, time.monotonic() + 20)
        yield ServerProcess(proc, url, log_path)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@dataclass
class RedisServer:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@contextmanager
def redis_server(workdir: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free loopback port, nothing persisted."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed: run `make test`, which installs it")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    server = RedisServer(port, proc)
    try:
        yield server
    finally:
        server.stop()
