"""udp_drops counts what the kernel dropped on a process's full UDP socket."""

from __future__ import annotations

import os
import socket

from loadtests.udp_drops import dropped_between, socket_drops, udp_drops


def test_a_socket_nobody_reads_drops_what_does_not_fit() -> None:
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sink.bind(("127.0.0.1", 0))
        before = udp_drops([os.getpid()])
        for _ in range(200):
            sender.sendto(b"x" * 1200, sink.getsockname())
        dropped = dropped_between(before, udp_drops([os.getpid()]))
        assert 0 < dropped < 200  # a few fitted in the buffer, the rest were dropped
        assert socket_drops()[os.fstat(sink.fileno()).st_ino] >= dropped
    finally:
        sink.close()
        sender.close()


def test_bad_inputs_count_nothing() -> None:
    assert udp_drops([]) == {}
    assert udp_drops([2**22 + 12345]) == {}  # no such process
    assert socket_drops(["/nonexistent/udp"]) == {}


def test_sockets_closed_or_opened_in_between() -> None:
    assert dropped_between({1: 5, 2: 7}, {2: 9, 3: 4}) == 2 + 4  # socket 1 closed, socket 3 new
