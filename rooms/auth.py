"""Integration API keys: which tenant a ``Bearer`` key belongs to."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from aiohttp import web

from rooms.errors import Unauthorized

__all__ = ["ApiKeys"]


class ApiKeys:
    """Map API keys to tenants; comparisons are on digests, in constant time."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        """*keys* maps tenant → key."""
        self._by_digest = {_digest(key): tenant for tenant, key in keys.items()}

    def tenant_of(self, request: web.Request) -> str:
        """Return the tenant of the request's Bearer key, or raise Unauthorized."""
        header = request.headers.get("Authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("send the integration key as 'Authorization: Bearer <key>'")
        wanted = _digest(key.strip())
        for digest, tenant in self._by_digest.items():
            if hmac.compare_digest(digest, wanted):
                return tenant
        raise Unauthorized("the integration key is not known")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
