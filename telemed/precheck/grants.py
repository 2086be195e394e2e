"""Recently verified join tokens of the connection test, so that its samples measure the network.

Verifying a join token reads the store, whose one thread also commits (and syncs) every write of the
node; a ping that waited behind a commit would report the disk's latency as the network's. The connection
test's pings and uploads therefore reuse a grant verified less than ``TTL`` ago (the browser's first,
discarded ping pays for the check); results and their reads always verify afresh. A cancelled room or a
withdrawn invitation stops the connection test within ``TTL``. The cache holds at most ``MAX_ENTRIES``
grants and forgets expired ones first, then the oldest.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from datetime import datetime, timedelta

from rooms.clock import Clock
from rooms.store import RoomStore
from rooms.tokens import JoinGrant, JoinTokens

__all__ = ["MAX_ENTRIES", "TTL", "RecentGrants"]

TTL = timedelta(seconds=10)
MAX_ENTRIES = 10_000


class RecentGrants:
    """Join-token grants verified within ``TTL``, keyed by the token's digest (never the token itself)."""

    def __init__(self, tokens: JoinTokens, store: RoomStore, clock: Clock, *, ttl: timedelta = TTL,
                 max_entries: int = MAX_ENTRIES) -> None:
        self.tokens = tokens
        self.store = store
        self.clock = clock
        self.ttl = ttl
        self.max_entries = max_entries
        self._grants: OrderedDict[bytes, tuple[datetime, JoinGrant]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._grants)

    async def verify(self, token: str) -> JoinGrant:
        """The grant of *token*: the cached one if verified within ``TTL``, else verified now (raising as
        `JoinTokens.verify` does) and cached."""
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        now = self.clock.now()
        found = self._grants.get(key)
        if found is not None and now - found[0] < self.ttl and now >= found[0]:
            return found[1]
        self._grants.pop(key, None)
        grant = await self.tokens.verify(token, self.store)
        self._grants[key] = (now, grant)
        if len(self._grants) > self.max_entries:
            for stale in [k for k, (at, _) in self._grants.items() if now - at >= self.ttl or now < at]:
                del self._grants[stale]
            while len(self._grants) > self.max_entries:
                self._grants.popitem(last=False)
        return grant
