"""Webhooks are sent by a process of the front's own (konsylium/webhook_process.py): started when there is
something to send, counted in the front's metrics, restarted when it dies, and gone when the front is
killed (no orphan keeps sending)."""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from tests.processes import ServerProcess, server
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_webhook_durability import ENV, call

T = TypeVar("T")


def until(probe: Callable[[], T | None], timeout: float = 20.0) -> T:
    """*probe*'s first truthy answer, polled until *timeout*."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s")


def delivery_processes(data_dir: Path) -> list[tuple[int, int]]:
    """(pid, parent pid) of every live delivery process working on *data_dir*'s store."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"konsylium.webhook_process" in cmdline and str(data_dir).encode() in b" ".join(cmdline):
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if state != "Z":
                found.append((int(entry.name), int(ppid)))
    return found


def book(node: ServerProcess) -> None:
    start = datetime.now(UTC) + timedelta(minutes=5)
    call(f"{node.url}/api/v1/rooms", "POST", {
        "title": "Wizyta", "kind": "consultation", "model": "A2C",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(minutes=30)).isoformat()})


def delivered_metric(node: ServerProcess) -> float:
    with urllib.request.urlopen(f"{node.url}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    match = re.search(r'^konsylium_webhook_deliveries_total\{outcome="delivered"\} (\S+)$', text, re.M)
    return 0.0 if match is None else float(match.group(1))


def test_deliveries_run_in_a_child_of_the_front_started_with_the_first_message(tmp_path: Path) -> None:
    env = {**ENV, "KONSYLIUM_DATA_DIR": str(tmp_path)}
    receiver = Receiver().start()
    try:
        with server(env, tmp_path / "node.log") as node:
            book(node)  # no endpoint yet: nothing to send, no process
            time.sleep(0.5)
            assert delivery_processes(tmp_path) == []
            endpoint = call(f"{node.url}/api/v1/webhooks", "POST", {"url": receiver.url})
            receiver.secrets.append(endpoint["secret"])
            book(node)
            receiver.wait(lambda r: len(r.processed) == 1)
            [(pid, parent)] = delivery_processes(tmp_path)
            assert parent == node.proc.pid and pid != os.getpid()
            until(lambda: delivered_metric(node) == 1.0)  # the child's outcome, counted by the front
        until(lambda: delivery_processes(tmp_path) == [] or None, timeout=10)  # stopped with the front
        assert "webhook delivery process started" in node.log()
    finally:
        receiver.stop()


def test_a_killed_delivery_process_is_restarted_and_its_message_delivered(tmp_path: Path) -> None:
    env = {**ENV, "KONSYLIUM_DATA_DIR": str(tmp_path)}
    receiver = Receiver().start()
    try:
        with server(env, tmp_path / "node.log") as node:
            endpoint = call(f"{node.url}/api/v1/webhooks", "POST", {"url": receiver.url})
            receiver.secrets.append(endpoint["secret"])
            book(node)
            receiver.wait(lambda r: len(r.processed) == 1)
            [(first, _)] = delivery_processes(tmp_path)
            os.kill(first, signal.SIGKILL)
            book(node)
            receiver.wait(lambda r: len(r.processed) == 2)
            [(_, parent)] = until(lambda: [p for p in delivery_processes(tmp_path) if p[0] != first])
            assert parent == node.proc.pid
            assert "webhook delivery process died" in node.log()
    finally:
        receiver.stop()


def test_the_delivery_process_ends_when_the_front_is_killed(tmp_path: Path) -> None:
    env = {**ENV, "KONSYLIUM_DATA_DIR": str(tmp_path)}
    receiver = Receiver().start()
    try:
        with server(env, tmp_path / "node.log", kill=True) as node:
            endpoint = call(f"{node.url}/api/v1/webhooks", "POST", {"url": receiver.url})
            receiver.secrets.append(endpoint["secret"])
            book(node)
            receiver.wait(lambda r: len(r.processed) == 1)
            assert len(delivery_processes(tmp_path)) == 1
        # SIGKILL ran no shutdown: the child sees its stdin close and stops by itself
        until(lambda: delivery_processes(tmp_path) == [] or None, timeout=10)
    finally:
        receiver.stop()
