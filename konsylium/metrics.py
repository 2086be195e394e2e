"""Prometheus metrics of one node (CONTRACT.md §6), in a registry of its own."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from rooms.presence import LivePresence
from rooms.store import RoomStore
from rooms.webhooks.model import AttemptOutcome
from rooms.webhooks.outbox import Outbox
from signalling.room_service import MediaTotals

__all__ = ["NodeMetrics"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _MediaCollector(Collector):
    """Expose the SFU's own counters as they are at scrape time."""

    def __init__(self, read: Callable[[], MediaTotals]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        totals = self._read()
        yield CounterMetricFamily("konsylium_forwarded_packets", "RTP packets forwarded to subscribers",
                                  value=totals.packets_forwarded)
        yield CounterMetricFamily("konsylium_forwarded_bytes", "RTP bytes forwarded to subscribers",
                                  value=totals.bytes_forwarded)
        peers = GaugeMetricFamily("konsylium_media_peers", "Open peer connections", labels=["kind"])
        peers.add_metric(["publisher"], totals.publishers)
        peers.add_metric(["subscriber"], totals.subscribers)
        yield peers


class NodeMetrics:
    """The node's counters and gauges; gauges are refreshed from their sources on scrape."""

    def __init__(self, media: Callable[[], MediaTotals]) -> None:
        """*media* reads the SFU's running totals at each scrape."""
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.rooms = Gauge("konsylium_rooms", "Rooms by state", ["state"], registry=r)
        self.participants = Gauge(
            "konsylium_participants", "Participants by state", ["state"], registry=r
        )
        r.register(_MediaCollector(media))
        self.signalling_messages = Counter(
            "konsylium_signalling_messages", "Signalling messages received", ["event"],
            registry=r,
        )
        self.errors = Counter("konsylium_errors", "Errors answered, by kind", ["kind"], registry=r)
        self.requests = Counter(
            "konsylium_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.webhook_deliveries = Counter(
            "konsylium_webhook_deliveries", "Webhook delivery attempts by outcome", ["outcome"], registry=r
        )
        self.webhook_pending = Gauge(
            "konsylium_webhook_outbox_pending", "Webhook messages waiting to be delivered (pending or sending)",
            registry=r,
        )
        self.webhook_oldest = Gauge(
            "konsylium_webhook_outbox_oldest_pending_seconds",
            "Age of the oldest webhook message waiting to be delivered (0 when none)", registry=r,
        )
        self.latency = Histogram(
            "konsylium_http_request_duration_seconds",
            "HTTP request handling time",
            ["route"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count and time every request by its route template (never by its path)."""
        started = time.perf_counter()
        response = await handler(request)
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        self.requests.labels(request.method, route, str(response.status)).inc()
        self.latency.labels(route).observe(time.perf_counter() - started)
        if response.status >= 500:
            self.errors.labels("http_5xx").inc()
        elif response.status >= 400:
            self.errors.labels("http_4xx").inc()
        return response

    def webhook_outcome(self, outcome: AttemptOutcome) -> None:
        """Count one webhook attempt (the dispatcher's callback)."""
        self.webhook_deliveries.labels(outcome.value).inc()

    async def render(self, store: RoomStore, presence: LivePresence, outbox: Outbox, now: datetime) -> web.Response:
        """Refresh the gauges and return the exposition text."""
        stats = await store.stats()
        waiting = await outbox.stats()
        self.webhook_pending.set(waiting.pending)
        self.webhook_oldest.set(0 if waiting.oldest is None else max(0.0, (now - waiting.oldest).total_seconds()))
        live_rooms, connected = await presence.counts()
        self.rooms.labels("scheduled").set(stats.rooms_scheduled)
        self.rooms.labels("cancelled").set(stats.rooms_cancelled)
        self.rooms.labels("ended").set(stats.rooms_ended)
        self.rooms.labels("live").set(live_rooms)
        self.participants.labels("invited").set(stats.participants)
        self.participants.labels("connected").set(connected)
        body = generate_latest(self.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
