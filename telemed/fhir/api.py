"""The HTTP handlers of the FHIR facade under /fhir/r4 (docs/telemedicine.md, "FHIR")."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import MultiMapping

from rooms.auth import ApiKeys
from rooms.booking import Bookings, encode_cursor
from rooms.errors import DomainError, NotFound, ValidationFailed
from rooms.json_body import JsonRefused, load_json
from rooms.model import Kind, Room, RoomStatus
from rooms.requests import ListFilters, RoomPatch, parse_time
from rooms.views import RoomViews
from telemed.fhir.capability import capability_statement
from telemed.fhir.mapping import ROOM_SYSTEM, appointment_of, expression_of, parse_appointment, status_of
from telemed.fhir.outcome import FhirError, Issue, fhir_response, outcome

__all__ = ["FHIR_BASE", "FhirApi"]

FHIR_BASE = "/fhir/r4"
BODY_TYPES = ("application/fhir+json", "application/json")
MAX_RESULTS = 200
RELEASED = "2026-12-01"
DATE = re.compile(r"(?P<prefix>eq|ge|gt|le|lt)?(?P<day>[0-9]{4}-[0-9]{2}-[0-9]{2})(?P<time>T.+)?")
Handler = Callable[["FhirApi", web.Request], Awaitable[web.Response]]
#: The methods of each path of the facade (anything else under FHIR_BASE: 404 or 405, as an OperationOutcome).
METHODS = ((re.compile(r"/metadata"), "GET"), (re.compile(r"/Appointment"), "GET, POST"),
           (re.compile(r"/Appointment/[^/]+"), "GET, PUT"))
CODES = {401: "login", 404: "not-found", 409: "conflict", 410: "deleted", 413: "too-costly", 415: "not-supported"}


def _fhir_errors(handler: Handler) -> Callable[[FhirApi, web.Request], Awaitable[web.Response]]:
    """Answer every refusal of *handler* as an OperationOutcome (never problem+json)."""

    @functools.wraps(handler)
    async def wrapped(self: FhirApi, request: web.Request) -> web.Response:
        try:
            return await handler(self, request)
        except FhirError as exc:
            return fhir_response(outcome(exc.issues), exc.status, exc.headers)
        except ValidationFailed as exc:
            return fhir_response(outcome([Issue("business-rule", e.detail, expression_of(e)) for e in exc.errors]),
                                 422)
        except DomainError as exc:
            headers = {"WWW-Authenticate": 'Bearer realm="konsylium"'} if exc.status == 401 else None
            return fhir_response(outcome([Issue(CODES.get(exc.status, "processing"), exc.detail)]), exc.status,
                                 headers)
        except web.HTTPRequestEntityTooLarge:
            return fhir_response(outcome([Issue("too-costly", "the request body is too large")]), 413)

    return wrapped


async def _body(request: web.Request) -> Any:
    if request.content_type not in BODY_TYPES:
        raise FhirError(415, [Issue("not-supported", "send the resource as application/fhir+json")])
    try:
        return load_json(await request.read())
    except JsonRefused as exc:
        raise FhirError(400, [Issue("invalid", f"the body is not valid JSON: {exc}")]) from exc


def _date_bounds(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """The [lower, upper) bounds on Appointment.start of the ``date`` parameters."""
    lower: datetime | None = None
    upper: datetime | None = None
    for value in values:
        found = DATE.fullmatch(value)
        low: datetime | None = None
        high: datetime | None = None
        if found is not None and found["time"] is None:
            try:
                day: datetime | None = datetime.fromisoformat(found["day"]).replace(tzinfo=UTC)
            except ValueError:
                day = None
            if day is not None and 1970 <= day.year <= 9998:
                low, high = day, day + timedelta(days=1)
        elif found is not None:
            moment = parse_time(found["day"] + found["time"])
            if moment is not None:
                low, high = moment, moment + timedelta(microseconds=1)
        if found is None or low is None or high is None:
            raise FhirError(400, [Issue("value", "date must be [eq|ge|gt|le|lt]YYYY-MM-DD or a date-time with "
                                                 "seconds and an offset", "date")])
        prefix = found["prefix"] or "eq"
        lo, hi = {"eq": (low, high), "ge": (low, None), "gt": (high, None),
                  "lt": (None, low), "le": (None, high)}[prefix]
        if lo is not None:
            lower = lo if lower is None else max(lower, lo)
        if hi is not None:
            upper = hi if upper is None else min(upper, hi)
    return lower, upper


class FhirApi:
    """Appointments (consultations of the caller's tenant) as FHIR R4 resources."""

    def __init__(self, bookings: Bookings, views: RoomViews, keys: ApiKeys) -> None:
        self.bookings = bookings
        self.views = views
        self.keys = keys
        self.base = f"{views.public_url}{FHIR_BASE}"

    def routes(self) -> list[web.RouteDef]:
        one = f"{FHIR_BASE}/Appointment/{{id}}"
        return [
            web.get(f"{FHIR_BASE}/metadata", self.metadata, allow_head=False),
            web.post(f"{FHIR_BASE}/Appointment", self.create),
            web.get(f"{FHIR_BASE}/Appointment", self.search, allow_head=False),
            web.get(one, self.read, allow_head=False),
            web.put(one, self.update),
            web.route("*", f"{FHIR_BASE}/{{tail:.*}}", self.elsewhere),
        ]

    def _url(self, room: Room) -> str:
        return f"{self.base}/Appointment/{quote(room.id)}"

    def _answer(self, room: Room, status: int = 200) -> web.Response:
        headers = {"Cache-Control": "no-store",  # the join links carry tokens
                   "ETag": f'W/"{room.version}"',
                   "Last-Modified": format_datetime(room.updated_at.astimezone(UTC), usegmt=True)}
        if status == 201:
            headers["Location"] = self._url(room)
        return fhir_response(appointment_of(room, self.views), status, headers)

    async def _consultation(self, tenant: str, room_id: str) -> Room:
        try:
            room = await self.bookings.get(tenant, room_id)
        except NotFound:
            room = None
        if room is None or room.kind is not Kind.CONSULTATION:
            raise FhirError(404, [Issue("not-found", "no Appointment with this id")])
        return room

    @_fhir_errors
    async def elsewhere(self, request: web.Request) -> web.Response:
        """A path of the facade with another method (405 with Allow), or no path of it (404)."""
        tail = request.path[len(FHIR_BASE):]
        for path, allowed in METHODS:
            if path.fullmatch(tail):
                raise FhirError(405, [Issue("not-supported", f"{request.method} is not supported here")],
                                {"Allow": allowed})
        raise FhirError(404, [Issue("not-supported", "no such FHIR resource type or operation here")])

    @_fhir_errors
    async def metadata(self, request: web.Request) -> web.Response:
        return fhir_response(capability_statement(self.base, RELEASED))

    @_fhir_errors
    async def create(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        wanted = parse_appointment(await _body(request))
        stored = await self.bookings.book(tenant, wanted.booking(), None)
        return self._answer(stored.value, 201)

    @_fhir_errors
    async def read(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        return self._answer(await self._consultation(tenant, request.match_info["id"]))

    @_fhir_errors
    async def update(self, request: web.Request) -> web.Response:
        """Reschedule (start, end) or cancel (status ``cancelled``); other elements are not changed here."""
        tenant = self.keys.tenant_of(request)
        room = await self._consultation(tenant, request.match_info["id"])
        body = await _body(request)
        if isinstance(body, dict) and body.get("status") == "cancelled":
            if "id" in body and body["id"] != room.id:
                raise FhirError(400, [Issue("value", "id must be the id in the URL", "Appointment.id")])
            await self.bookings.cancel(tenant, room.id)
            return self._answer(await self._consultation(tenant, room.id))
        wanted = parse_appointment(body, room.id)
        if isinstance(body, dict) and body.get("id") != room.id:
            raise FhirError(400, [Issue("value", "id must be the id in the URL", "Appointment.id")])
        if room.status is not RoomStatus.SCHEDULED:
            raise FhirError(409, [Issue("conflict", f"the Appointment is {status_of(room)} and can no longer be "
                                                    "changed")])
        edited = await self.bookings.edit(tenant, room.id, RoomPatch(starts_at=wanted.start, ends_at=wanted.end))
        return self._answer(edited)

    @_fhir_errors
    async def search(self, request: web.Request) -> web.Response:
        tenant = self.keys.tenant_of(request)
        rooms = await self._found(tenant, request.query)
        entries = [{"fullUrl": self._url(room), "resource": appointment_of(room, self.views),
                    "search": {"mode": "match"}} for room in rooms]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
                  "link": [{"relation": "self", "url": f"{self.base}/Appointment?{request.query_string}"}],
                  "entry": entries}
        return fhir_response(bundle, headers={"Cache-Control": "no-store"})

    async def _found(self, tenant: str, query: MultiMapping[str]) -> list[Room]:
        unknown = sorted(set(query) - {"date", "identifier", "_format"})
        if unknown:
            raise FhirError(400, [Issue("not-supported", "search by date and identifier only", name)
                                  for name in unknown])
        lower, upper = _date_bounds(query.getall("date", []))
        identifiers = query.getall("identifier", [])
        if len(identifiers) > 1:
            raise FhirError(400, [Issue("not-supported", "give one identifier", "identifier")])
        external_ref: str | None = None
        if identifiers:
            system, bar, value = identifiers[0].partition("|")
            if not bar or not value:
                raise FhirError(400, [Issue("value", "identifier must be system|value", "identifier")])
            if system == ROOM_SYSTEM:
                try:
                    room: Room | None = await self._consultation(tenant, value)
                except FhirError:
                    room = None
                return [r for r in [room] if r is not None and _within(r, lower, upper)]
            external_ref = identifiers[0]
        return await self._listed(tenant, lower, upper, external_ref)

    async def _listed(self, tenant: str, lower: datetime | None, upper: datetime | None,
                      external_ref: str | None) -> list[Room]:
        found: list[Room] = []
        cursor: str | None = None
        while True:
            try:
                page = await self.bookings.list(tenant, ListFilters(
                    ends_after=lower, starts_before=upper, external_ref=external_ref, kind=Kind.CONSULTATION,
                    status=None, limit=MAX_RESULTS, cursor=cursor))
            except ValidationFailed as exc:  # an identifier no booking could hold
                raise FhirError(400, [Issue("value", "identifier is not one a booking holds", "identifier")]) \
                    from exc
            found += [room for room in page.rooms if _within(room, lower, upper)]
            if len(found) > MAX_RESULTS:
                raise FhirError(400, [Issue("too-costly", f"more than {MAX_RESULTS} Appointments match: "
                                                          "narrow the dates", "date")])
            if page.next_after is None:
                return found
            cursor = encode_cursor(page.next_after)


def _within(room: Room, lower: datetime | None, upper: datetime | None) -> bool:
    return (lower is None or room.starts_at >= lower) and (upper is None or room.starts_at < upper)
