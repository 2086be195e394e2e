"""Let the kernel drop a load client's RTP, so that hundreds of subscribers cost it nothing.

A classic BPF socket filter on a subscriber's UDP socket drops every RTP datagram
(first byte 128-191, second byte not an RTCP type) before it is queued, and lets
STUN, DTLS and RTCP through (a datagram of one byte 128-191 too short to say
is dropped too; no protocol here sends one), so ICE consent, the DTLS session and receiver reports
go on as usual. The SFU still pays its whole cost per forwarded packet (SRTP and the
`sendto` with the kernel's loopback delivery up to the filter); the client pays
nothing. That frees the load generator's core, so that the SFU's use of every core
can be measured on a small machine. Linux only; the kernel counts each dropped
datagram in the socket's `drops` (/proc/net/udp).
"""

from __future__ import annotations

import ctypes
import os
import socket
import struct

__all__ = ["RTP_DROP_FILTER", "drop_rtp_in_kernel"]

SO_ATTACH_FILTER = 26  # asm-generic/socket.h

# (code, jt, jf, k); a UDP socket's filter sees the UDP header first, the payload at 8.
RTP_DROP_FILTER: tuple[tuple[int, int, int, int], ...] = (
    (0x30, 0, 0, 8),  # 0: A = payload[0]                      (ld b abs)
    (0x35, 0, 4, 128),  # 1: A >= 128 ? 2 : pass                 (jge)
    (0x35, 3, 0, 192),  # 2: A >= 192 ? pass : 3
    (0x30, 0, 0, 9),  # 3: A = payload[1]
    (0x35, 0, 2, 192),  # 4: A >= 192 ? 5 : drop               (RTP payload types are < 128 | marker)
    (0x25, 1, 0, 208),  # 5: A > 208 ? drop : pass              (RTCP is 192..208, as aiortc's is_rtcp)
    (0x06, 0, 0, 0xFFFFFFFF),  # 6: pass
    (0x06, 0, 0, 0),  # 7: drop
)


def drop_rtp_in_kernel(sock: socket.socket) -> int:
    """Attach the filter to `sock`; return the socket's inode (to leave it out of drop counts)."""
    program = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *op) for op in RTP_DROP_FILTER))
    fprog = struct.pack("HL", len(RTP_DROP_FILTER), ctypes.addressof(program))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)  # the kernel copies the program
    del program
    return os.fstat(sock.fileno()).st_ino
