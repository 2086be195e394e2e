"""Counters kept by the SFU (plain integers, cheap to bump on the packet path)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ForwardingStats", "SfuCounters", "TrackStats"]


@dataclass(slots=True)
class SfuCounters:
    """Totals of one SFU, for Prometheus counters/gauges."""

    packets_received: int = 0
    bytes_received: int = 0
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    keyframe_requests_sent: int = 0
    publishers: int = 0
    subscribers: int = 0


@dataclass(slots=True)
class TrackStats:
    """Counters of one published track (publisher side)."""

    packets_received: int = 0
    bytes_received: int = 0
    packets_repaired: int = 0
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    keyframe_requests_received: int = 0
    keyframe_requests_sent: int = 0
    sender_reports: int = 0


@dataclass(slots=True)
class ForwardingStats:
    """Counters of one track forwarded to one subscriber."""

    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    packets_dropped_before_keyframe: int = 0
    packets_dropped_paused: int = 0  # while the subscriber was paused (`Subscriber.paused`)
    keyframe_requests_received: int = 0
