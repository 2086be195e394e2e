"""RFC 9457 problem details: the one error format of every HTTP endpoint.

Domain errors carry their status; this edge turns them, aiohttp's own HTTP
errors (404, 405, 413, ...) and unexpected failures into
``application/problem+json``. An unexpected failure is logged with an id that
the response repeats; the client never sees a traceback.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from typing import Any

from aiohttp import web

from rooms.errors import DomainError, TokenNotYetValid, ValidationFailed

__all__ = ["PROBLEM_JSON", "problem_middleware", "problem_response", "problem_type"]

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PASS_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


def problem_type(slug: str) -> str:
    """Return the problem type URI of a Konsylium problem (documented in docs/api.md)."""
    return f"urn:konsylium:problem:{slug}"


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    body: dict[str, Any] = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if extra:
        body.update(extra)
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode(),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def domain_problem(exc: DomainError) -> web.Response:
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, ValidationFailed):
        extra["errors"] = [e.as_dict() for e in exc.errors]
    if isinstance(exc, TokenNotYetValid):
        extra["opens_at"] = exc.opens_at_iso
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="konsylium"'
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return problem_response(
        exc.status,
        exc.detail,
        title=exc.title,
        type_=problem_type(exc.slug),
        extra=extra,
        headers=headers,
    )


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error raised by a handler into problem+json."""
    try:
        return await handler(request)
    except DomainError as exc:
        return domain_problem(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if exc.content_type == PROBLEM_JSON:
            raise
        headers = {k: exc.headers[k] for k in PASS_HEADERS if k in exc.headers}
        detail = {
            404: f"nothing is served at {request.path}",
            405: f"{request.method} is not allowed here",
            413: "the request body is too large",
        }.get(exc.status, exc.reason)
        return problem_response(exc.status, detail, headers=headers)
    except Exception:
        error_id = str(uuid.uuid4())
        log.exception("unexpected failure error_id=%s method=%s", error_id, request.method)
        return problem_response(
            500,
            "an unexpected error occurred; quote the error id when reporting it",
            extra={"instance": f"urn:uuid:{error_id}", "error_id": error_id},
        )
