"""The SFU object: one per event loop, holding configuration, counters and the peers."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from types import MappingProxyType

from .config import SfuConfig
from .errors import SfuClosedError, SfuError
from .publisher import Publisher
from .stats import SfuCounters
from .subscriber import Subscriber
from .track import PublishedTrack

__all__ = ["Sfu"]

logger = logging.getLogger(__name__)


class Sfu:
    """Creates publishers and subscribers and keeps totals for metrics.

    It knows nothing of rooms: the signalling layer decides who subscribes to what.
    """

    def __init__(self, config: SfuConfig | None = None) -> None:
        self.config = config or SfuConfig()
        self.counters = SfuCounters()
        self._publishers: dict[str, Publisher] = {}
        self._subscribers: dict[str, Subscriber] = {}
        self._closed = False

    @property
    def publishers(self) -> Mapping[str, Publisher]:
        """Open publishers by id (read-only view)."""
        return MappingProxyType(self._publishers)

    @property
    def subscribers(self) -> Mapping[str, Subscriber]:
        """Open subscribers by id (read-only view)."""
        return MappingProxyType(self._subscribers)

    def track(self, track_id: str) -> PublishedTrack | None:
        """Find a published track by id (``"<publisher id>:<mid>"``)."""
        publisher_id = track_id.rsplit(":", 1)[0]
        publisher = self._publishers.get(publisher_id)
        if publisher is None:
            return None
        return next((t for t in publisher.tracks if t.id == track_id), None)

    def _check_open(self) -> None:
        if self._closed:
            raise SfuClosedError("SFU is closed")

    async def create_publisher(self, offer_sdp: str, *, publisher_id: str | None = None,
                               screen_mid: str | None = None) -> Publisher:
        """Create a publisher from a client's offer; its `answer` holds the SDP to return. The video
        on m-line *screen_mid*, if given, is a shared screen (its track's `source`).

        Raises `InvalidOffer` (nothing is left behind) for a malformed or media-less offer, and
        `UnknownTrack` when the offer sends no video on *screen_mid*.
        """
        self._check_open()
        publisher_id = publisher_id or uuid.uuid4().hex
        if publisher_id in self._publishers:
            raise SfuError(f"publisher {publisher_id} already exists")
        publisher = Publisher(publisher_id, self.config, self.counters, self._publisher_closed)
        self._publishers[publisher_id] = publisher
        self.counters.publishers += 1
        try:
            await publisher.negotiate(offer_sdp, screen_mid)
        except BaseException:
            await publisher.close()
            raise
        return publisher

    def create_subscriber(self, *, subscriber_id: str | None = None) -> Subscriber:
        """Create a subscriber (negotiate it with `answer` or `create_offer`)."""
        self._check_open()
        subscriber_id = subscriber_id or uuid.uuid4().hex
        if subscriber_id in self._subscribers:
            raise SfuError(f"subscriber {subscriber_id} already exists")
        subscriber = Subscriber(subscriber_id, self.config, self.counters, self._subscriber_closed)
        self._subscribers[subscriber_id] = subscriber
        self.counters.subscribers += 1
        return subscriber

    def _publisher_closed(self, publisher: Publisher) -> None:
        if self._publishers.pop(publisher.id, None) is not None:
            self.counters.publishers -= 1

    def _subscriber_closed(self, subscriber: Subscriber) -> None:
        if self._subscribers.pop(subscriber.id, None) is not None:
            self.counters.subscribers -= 1

    async def close(self) -> None:
        """Close every subscriber and publisher (idempotent)."""
        self._closed = True
        for subscriber in list(self._subscribers.values()):
            await subscriber.close()
        for publisher in list(self._publishers.values()):
            await publisher.close()
        logger.info("SFU closed")
