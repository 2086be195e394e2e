"""WHIP ingest and WHEP egress (RFC 9725; CONTRACT.md §4).

A WHIP publisher joins its room as the participant its token names and is seen
by everyone like a browser publisher; a WHEP session pulls one participant's
audio and video. Session URLs are unguessable ids; ``DELETE`` on one ends it.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from rooms.errors import DomainError, NotFound, Unauthorized
from rooms.problem import problem_type
from rooms.store import RoomStore
from rooms.tokens import JoinGrant, JoinTokens
from sfu import InvalidOffer
from signalling.live_room import Forbidden
from signalling.room_service import NotJoined, NotPublishing, RoomService

__all__ = ["WhipApi", "cors_middleware"]

log = logging.getLogger(__name__)
SDP = "application/sdp"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadSdp(DomainError):
    status = 400
    slug = "invalid-sdp"
    title = "The SDP offer cannot be used"


class MayNotPublish(DomainError):
    status = 403
    slug = "forbidden"
    title = "This role may not do this"


class NotSdp(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Send the offer as application/sdp"


@dataclass(frozen=True, slots=True)
class _Session:
    kind: str  # "whip" or "whep"
    room_id: str
    key: str  # whip: the participant id; whep: the service's session key


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

    def __init__(self, service: RoomService, tokens: JoinTokens, store: RoomStore, public_url: str) -> None:
        self.service = service
        self.tokens = tokens
        self.store = store
        self.public_url = public_url.rstrip("/")
        self._sessions: dict[str, _Session] = {}

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
        offer = await request.text()
        if not offer.strip():
            raise BadSdp("the body is empty; send an SDP offer")
        return grant, offer

    def _created(self, session: _Session, answer: str) -> web.Response:
        session_id = secrets.token_urlsafe(16)
        self._sessions[session_id] = session
        location = f"{self.public_url}/{session.kind}/{quote(session.room_id)}/sessions/{session_id}"
        return web.Response(status=201, text=answer, content_type=SDP,
                            headers={"Location": location, "ETag": f'"{session_id}"'})

    async def ingest(self, request: web.Request) -> web.Response:
        grant, offer = await self._grant(request)
        if not grant.role.may_publish:
            raise MayNotPublish(f"a {grant.role.value} may not publish")
        try:
            answer = await self.service.whip_publish(grant.room, grant.participant, offer)
        except InvalidOffer as exc:
            raise BadSdp(str(exc)) from exc
        except Forbidden as exc:
            raise MayNotPublish(str(exc)) from exc
        log.info("whip session room=%s participant=%s", grant.room.id, grant.participant.id)
        return self._created(_Session("whip", grant.room.id, grant.participant.id), answer)

    async def egress(self, request: web.Request) -> web.Response:
        grant, offer = await self._grant(request)
        wanted = request.query.get("participant", "")
        try:
            answer, key = await self.service.whep_subscribe(grant.room.id, wanted, offer)
        except NotPublishing as exc:
            raise NotFound(str(exc)) from exc
        except InvalidOffer as exc:
            raise BadSdp(str(exc)) from exc
        log.info("whep session room=%s participant=%s", grant.room.id, wanted)
        return self._created(_Session("whep", grant.room.id, key), answer)

    async def end(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        session = self._sessions.get(session_id)
        if session is None or session.room_id != request.match_info["room_id"]:
            raise NotFound("no such session")
        del self._sessions[session_id]
        if session.kind == "whep":
            await self.service.whep_end(session.room_id, session.key)
        else:
            with contextlib.suppress(NotJoined):  # already gone: its connection failed
                await self.service.whip_end(session.room_id, session.key)
        return web.Response(status=200)


async def _preflight(request: web.Request) -> web.Response:
    return web.Response(status=204)  # cors_middleware adds the headers


async def _no_trickle(request: web.Request) -> web.Response:
    from rooms.problem import problem_response

    return problem_response(405, "trickle ICE and ICE restarts are not supported; POST a new offer",
                            type_=problem_type("no-trickle"), headers={"Allow": "DELETE"})
