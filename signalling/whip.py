"""WHIP ingest and WHEP egress (RFC 9725; CONTRACT.md §4).

A WHIP publisher joins its room as the participant its token names and is seen
by everyone like a browser publisher; a WHEP session pulls one participant's
audio and video. Session URLs are unguessable ids; ``DELETE`` on one ends it.
The sessions live in the room service (limits, revocation, failed connections);
this edge authenticates, reads the offer and maps refusals to problem+json.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from urllib.parse import quote

from aiohttp import web

from rooms.errors import DomainError, NotFound, Unauthorized
from rooms.model import Room
from rooms.problem import problem_response, problem_type
from rooms.store import RoomStore
from rooms.tokens import JoinGrant, JoinTokens
from sfu import InvalidOffer, SfuError
from signalling.errors import BadSdp, Forbidden, NotJoined, ServerBusy
from signalling.messages import SDP_MAX
from signalling.room_service import RoomService

__all__ = ["WhipApi", "cors_middleware"]

log = logging.getLogger(__name__)
SDP = "application/sdp"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class NotSdp(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Send the offer as application/sdp"


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let browser WHIP/WHEP clients on other origins read our answers (RFC 9725 §4.7)."""
    if not request.path.startswith(("/whip/", "/whep/")):
        return await handler(request)
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204)
    else:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "Location, ETag, Link"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "POST, DELETE, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, If-Match"
        response.headers["Access-Control-Max-Age"] = "600"
        response.headers["Accept-Post"] = SDP
    if isinstance(response, web.HTTPException):
        raise response
    return response


class WhipApi:
    """Handlers of ``/whip`` and ``/whep``."""

    def __init__(self, service: RoomService, tokens: JoinTokens, store: RoomStore, public_url: str,
                 on_session: Callable[[Room], None] = lambda room: None) -> None:
        self.service = service
        self.tokens = tokens
        self.store = store
        self.public_url = public_url.rstrip("/")
        self.on_session = on_session  # told of every room a session opens in (its window is watched)

    def routes(self) -> list[web.RouteDef]:
        out = []
        for kind, create in (("whip", self.ingest), ("whep", self.egress)):
            out += [
                web.post(f"/{kind}/{{room_id}}", create),
                web.options(f"/{kind}/{{room_id}}", _preflight),
                web.delete(f"/{kind}/{{room_id}}/sessions/{{session_id}}", self.end),
                web.options(f"/{kind}/{{room_id}}/sessions/{{session_id}}", _preflight),
                web.patch(f"/{kind}/{{room_id}}/sessions/{{session_id}}", _no_trickle),
            ]
        return out

    async def _grant(self, request: web.Request) -> tuple[JoinGrant, str]:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the join token as 'Authorization: Bearer <token>'")
        grant = await self.tokens.verify(token.strip(), self.store, request.match_info["room_id"])
        if request.content_type != SDP:
            raise NotSdp("the body must be an SDP offer with Content-Type: application/sdp")
        raw = await request.read()
        if len(raw) > SDP_MAX:
            raise BadSdp(f"the SDP offer is longer than {SDP_MAX} bytes")
        try:
            offer = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadSdp("the SDP offer is not UTF-8 text") from exc
        if not offer.strip():
            raise BadSdp("the body is empty; send an SDP offer")
        if any(c < " " and c not in "\r\n\t" for c in offer) or "\x7f" in offer:
            raise BadSdp("the SDP offer contains control characters")
        return grant, offer

    def _created(self, kind: str, room_id: str, session_id: str, answer: str) -> web.Response:
        location = f"{self.public_url}/{kind}/{quote(room_id)}/sessions/{session_id}"
        return web.Response(status=201, text=answer, content_type=SDP,
                            headers={"Location": location, "ETag": f'"{session_id}"'})

    async def ingest(self, request: web.Request) -> web.Response:
        grant, offer = await self._grant(request)
        if not grant.role.may_publish:
            raise Forbidden(f"a {grant.role.value} may not publish")
        self.on_session(grant.room)
        with _offer_errors():
            answer, session_id = await self.service.whip_publish(grant.room, grant.participant, offer)
        log.info("whip session room=%s participant=%s", grant.room.id, grant.participant.id)
        return self._created("whip", grant.room.id, session_id, answer)

    async def egress(self, request: web.Request) -> web.Response:
        grant, offer = await self._grant(request)
        wanted = request.query.get("participant", "")
        self.on_session(grant.room)
        with _offer_errors():
            answer, session_id = await self.service.whep_subscribe(grant.room, grant.participant, wanted, offer)
        log.info("whep session room=%s viewer=%s", grant.room.id, grant.participant.id)
        return self._created("whep", grant.room.id, session_id, answer)

    async def end(self, request: web.Request) -> web.Response:
        try:
            await self.service.end_session(request.match_info["room_id"], request.match_info["session_id"])
        except NotJoined as exc:
            raise NotFound("no such session") from exc
        return web.Response(status=200)


@contextlib.contextmanager
def _offer_errors() -> Iterator[None]:
    """Map the SFU's refusals of an offer: a bad offer is 400, a worker without resources 503."""
    try:
        yield
    except InvalidOffer as exc:
        raise BadSdp(str(exc)) from exc
    except SfuError as exc:
        raise ServerBusy(f"the media server cannot take this session now ({exc})") from exc


async def _preflight(request: web.Request) -> web.Response:
    return web.Response(status=204)  # cors_middleware adds the headers


async def _no_trickle(request: web.Request) -> web.Response:
    return problem_response(405, "trickle ICE and ICE restarts are not supported; POST a new offer",
                            type_=problem_type("no-trickle"), headers={"Allow": "DELETE"})
