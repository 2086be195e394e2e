"""Datagrams the kernel dropped because a process did not read its UDP sockets fast enough.

An overloaded SFU shows it here first: its sockets' receive buffers fill and the kernel
drops what arrives (the `drops` column of /proc/net/udp, per socket). Summed per process
over the sockets it holds, this tells SFU-side loss from loss in the load generator.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["dropped_between", "socket_drops", "udp_drops"]


def socket_drops(tables: Iterable[str] = ("/proc/net/udp", "/proc/net/udp6")) -> dict[int, int]:
    """Drops of every UDP socket on the machine, by socket inode."""
    drops: dict[int, int] = {}
    for table in tables:
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) >= 13:
                drops[int(fields[9])] = drops.get(int(fields[9]), 0) + int(fields[12])
    return drops


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # it ended meanwhile
        return inodes
    for name in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def udp_drops(pids: Iterable[int]) -> dict[int, int]:
    """Datagrams dropped so far on each UDP socket these processes hold now, by inode."""
    inodes: set[int] = set()
    for pid in pids:
        inodes |= _socket_inodes(pid)
    return {inode: count for inode, count in socket_drops().items() if inode in inodes}


def dropped_between(before: dict[int, int], after: dict[int, int]) -> int:
    """Drops in between, on the sockets open at the end (a socket closed meanwhile takes its
    count with it; one opened meanwhile counts from zero)."""
    return sum(count - before.get(inode, 0) for inode, count in after.items())
