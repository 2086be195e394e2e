"""The HTTP face of the pre-call check (docs/telemedicine.md, "Pre-call check"; docs/api.md).

The participant's own browser authenticates with its join token (``Authorization: Bearer <join token>``,
as WHIP does): ``GET …/precheck/ping`` answers at once (round-trip samples), ``POST …/precheck/upload``
reads a bounded body and says how many bytes arrived in how long (upstream bitrate), ``POST
…/precheck/result`` keeps what the browser found and answers the server's verdict, and a host's
``GET …/precheck/results`` lists the room's latest results for the lobby panel. The integrator reads the
same with the tenant's key: ``GET /api/v1/rooms/{room_id}/prechecks``. Nothing here logs a name or a token.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from aiohttp import web

from rooms.api import PREFIX, read_json
from rooms.auth import ApiKeys
from rooms.booking import Bookings
from rooms.errors import DomainError, Unauthorized
from rooms.model import Room
from rooms.tokens import JoinGrant, JoinTokens
from signalling.errors import Forbidden
from telemed.precheck.grants import RecentGrants
from telemed.precheck.limits import Budgets
from telemed.precheck.requests import parse_measurement
from telemed.precheck.store import PrecheckRecord, PrecheckStore
from telemed.precheck.verdict import judge

__all__ = ["MAX_UPLOAD", "PRECHECK", "PrecheckApi", "room_view"]

log = logging.getLogger(__name__)
PRECHECK = f"{PREFIX}/precheck"
#: The most one upload request may carry (the browser sends 32 KiB to 1 MiB, growing while fast).
MAX_UPLOAD = 1024 * 1024
CHUNK = 64 * 1024
NO_STORE = {"Cache-Control": "no-store"}


class UploadTooLarge(DomainError):
    status = 413
    slug = "too-large"
    title = "The upload is too large"


def room_view(room: Room, results: dict[str, list[PrecheckRecord]]) -> dict[str, Any]:
    """Each active participant's latest result with the ones before it (``earlier``, newest first), in the
    room's order of participants; participants who never ran the check are not listed."""
    items = []
    for person in room.active_participants:
        found = results.get(person.id)
        if found:
            latest, *earlier = found
            view = latest.as_json()
            view["earlier"] = [{k: v for k, v in r.as_json().items() if k != "participant_id"} for r in earlier]
            items.append(view)
    return {"room_id": room.id, "items": items}


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=json.dumps(data, ensure_ascii=False).encode(),
                        content_type="application/json", headers=NO_STORE)


class PrecheckApi:
    """Handlers of ``/api/v1/precheck/*`` (join token) and ``/api/v1/rooms/{room_id}/prechecks`` (API key)."""

    def __init__(self, tokens: JoinTokens, bookings: Bookings, results: PrecheckStore, keys: ApiKeys,
                 budgets: Budgets | None = None) -> None:
        self.tokens = tokens
        self.bookings = bookings
        self.results = results
        self.keys = keys
        self.budgets = budgets or Budgets(bookings.clock)
        self.recent = RecentGrants(tokens, bookings.store, bookings.clock)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(f"{PRECHECK}/ping", self.ping, allow_head=False),
            web.post(f"{PRECHECK}/upload", self.upload),
            web.post(f"{PRECHECK}/result", self.record),
            web.get(f"{PRECHECK}/results", self.host_results, allow_head=False),
            web.get(f"{PREFIX}/rooms/{{room_id}}/prechecks", self.tenant_results, allow_head=False),
        ]

    async def _grant(self, request: web.Request, kind: str, *, recent: bool = False) -> JoinGrant:
        """The bearer's grant (its join token, valid now; when *recent*, verified within the last seconds:
        `RecentGrants`), with one request of *kind* counted."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the join token as 'Authorization: Bearer <token>'")
        if recent:
            grant = await self.recent.verify(token.strip())
        else:
            grant = await self.tokens.verify(token.strip(), self.bookings.store)
        self.budgets.spend(grant.participant.id, kind)
        return grant

    async def ping(self, request: web.Request) -> web.Response:
        await self._grant(request, "ping", recent=True)
        return web.Response(status=204, headers=NO_STORE)

    async def upload(self, request: web.Request) -> web.Response:
        grant = await self._grant(request, "upload", recent=True)
        length = request.content_length
        if length is not None and length > MAX_UPLOAD:
            raise UploadTooLarge(f"send at most {MAX_UPLOAD} bytes per upload")
        with self.budgets.upload(grant.participant.id):
            started = time.perf_counter()
            received = 0
            async for chunk in request.content.iter_chunked(CHUNK):
                received += len(chunk)
                if received > MAX_UPLOAD:
                    raise UploadTooLarge(f"send at most {MAX_UPLOAD} bytes per upload")
            duration_ms = (time.perf_counter() - started) * 1000
        return _json({"bytes": received, "duration_ms": round(duration_ms, 3)})

    async def record(self, request: web.Request) -> web.Response:
        grant = await self._grant(request, "result")
        measurement = parse_measurement(await read_json(request))
        verdict, advice = judge(measurement)
        record = PrecheckRecord(grant.room.id, grant.participant.id, measurement, verdict, advice,
                                self.bookings.clock.now())
        await self.results.record(record)
        log.info("precheck result room=%s participant=%s verdict=%s", grant.room.id, grant.participant.id,
                 verdict.value)
        return _json(record.as_json(), 201)

    async def host_results(self, request: web.Request) -> web.Response:
        grant = await self._grant(request, "results")
        if not grant.role.may_moderate:
            raise Forbidden("only a host of the room sees the pre-call checks")
        return _json(room_view(grant.room, await self.results.of_room(grant.room.id)))

    async def tenant_results(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        room = await self.bookings.get(tenant, request.match_info["room_id"])
        return _json(room_view(room, await self.results.of_room(room.id)))
