"""The webhook API under /api/v1/webhooks: endpoints, their secrets, tests and the delivery log.

Scoped to the caller's tenant like the rest of the API (another tenant's endpoint
is a 404). The secret is in the answers of creation and rotation only.
Destinations are checked here (`destinations.check_destination`) and again by the
dispatcher on every attempt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from rooms.api import PREFIX, read_json
from rooms.auth import ApiKeys
from rooms.clock import Clock
from rooms.errors import FieldError, ValidationFailed
from rooms.webhooks.destinations import DestinationRefused, Resolve, check_destination, system_resolve
from rooms.webhooks.model import Endpoint
from rooms.webhooks.requests import encode_message_cursor, parse_endpoint, parse_message_filters
from rooms.webhooks.store import WebhookStore

__all__ = ["ForbiddenDestination", "WebhookApi"]


class ForbiddenDestination(ValidationFailed):
    """The URL's host is, or resolves to, an address webhooks may not call."""

    slug = "forbidden-destination"
    title = "Webhooks may not call this destination"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=json.dumps(data, ensure_ascii=False).encode(),
                        content_type="application/json", headers=headers)


class WebhookApi:
    """Handlers of /api/v1/webhooks, bound to the node's webhook store and dispatcher."""

    def __init__(self, store: WebhookStore, keys: ApiKeys, clock: Clock, public_url: str, *, allow_private: bool,
                 wake: Callable[[], None] | None = None, resolve: Resolve = system_resolve) -> None:
        self.store = store
        self.keys = keys
        self.clock = clock
        self.public_url = public_url.rstrip("/")
        self.allow_private = allow_private
        self.wake = wake
        self.resolve = resolve

    def routes(self) -> list[web.RouteDef]:
        hooks = f"{PREFIX}/webhooks"
        one = f"{hooks}/{{webhook_id}}"
        return [
            web.post(hooks, self.create),
            web.get(hooks, self.list, allow_head=False),
            web.get(one, self.get, allow_head=False),
            web.delete(one, self.delete),
            web.post(f"{one}/rotate-secret", self.rotate),
            web.post(f"{one}/test", self.test),
            web.get(f"{one}/messages", self.messages, allow_head=False),
            web.get(f"{one}/messages/{{message_id}}", self.message, allow_head=False),
            web.post(f"{one}/messages/{{message_id}}/redeliver", self.redeliver),
        ]

    def _url(self, endpoint: Endpoint) -> str:
        return f"{self.public_url}{PREFIX}/webhooks/{quote(endpoint.id)}"

    def _woken(self) -> None:
        if self.wake is not None:
            self.wake()

    async def create(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        wanted = parse_endpoint(await read_json(request))
        try:
            await check_destination(wanted.url, self.allow_private, self.resolve)
        except DestinationRefused as exc:
            raise ForbiddenDestination([FieldError("/url", f"{exc}; webhooks call public addresses only")]) from exc
        now = self.clock.now()
        endpoint = await self.store.create(tenant, str(wanted.url), wanted.event_types, now)
        return _json({**endpoint.as_json(now), "secret": endpoint.secret}, 201, {"Location": self._url(endpoint)})

    async def list(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        now = self.clock.now()
        return _json({"items": [e.as_json(now) for e in await self.store.list(tenant)]})

    async def get(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        return _json((await self.store.get(tenant, request.match_info["webhook_id"])).as_json(self.clock.now()))

    async def delete(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        await self.store.delete(tenant, request.match_info["webhook_id"])
        return web.Response(status=204)

    async def rotate(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        now = self.clock.now()
        endpoint = await self.store.rotate(tenant, request.match_info["webhook_id"], now)
        return _json({**endpoint.as_json(now), "secret": endpoint.secret})

    async def test(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        message = await self.store.queue_probe(tenant, request.match_info["webhook_id"], self.clock.now())
        self._woken()
        return _json(message.as_json(), 202)

    async def messages(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        filters = parse_message_filters(request.query)
        page = await self.store.messages(tenant, request.match_info["webhook_id"], filters.status, filters.before,
                                         filters.limit)
        return _json({"items": [m.as_json() for m in page.messages],
                      "next_cursor": None if page.next_before is None else encode_message_cursor(page.next_before)})

    async def message(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        found = await self.store.message(tenant, request.match_info["webhook_id"], request.match_info["message_id"])
        return _json(found.as_json())

    async def redeliver(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        message = await self.store.redeliver(tenant, request.match_info["webhook_id"],
                                             request.match_info["message_id"], self.clock.now())
        self._woken()
        return _json(message.as_json(), 202)
