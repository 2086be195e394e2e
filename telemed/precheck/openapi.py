"""The integrator's pre-call check endpoint in the OpenAPI document (added by konsylium/app.py).

Only ``GET /api/v1/rooms/{room_id}/prechecks`` is there: the ``/api/v1/precheck/*`` endpoints are the
browser client's, authenticated by a participant's join token, not by an integration key (docs/api.md).
"""

from __future__ import annotations

from typing import Any

from rooms.openapi import OpenApiPart
from telemed.precheck.requests import MAX_KBPS, MAX_RTT_MS
from telemed.precheck.store import HISTORY
from telemed.precheck.verdict import Advice, Verdict

__all__ = ["PRECHECK_OPENAPI"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _result_properties() -> dict[str, Any]:
    return {
        "camera": {"type": "boolean", "description": "the browser got a camera picture"},
        "microphone": {"type": "boolean", "description": "the browser got a microphone"},
        "speaker": {"type": ["boolean", "null"],
                    "description": "the person heard the test tone (false: did not; null: did not answer)"},
        "rtt_ms": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_RTT_MS,
                   "description": "median round trip to this server (null: no answer)"},
        "upstream_kbps": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_KBPS,
                          "description": "upload bitrate to this server, kbit/s (null: no answer)"},
        "verdict": {"type": "string", "enum": [v.value for v in Verdict]},
        "advice": {"type": "array", "items": {"type": "string", "enum": [a.value for a in Advice]}},
        "at": {"type": "string", "format": "date-time"},
    }


def _schemas() -> dict[str, Any]:
    result = _result_properties()
    earlier = {"type": "object", "required": list(result), "properties": result}
    latest = {
        "type": "object",
        "required": ["participant_id", *result, "earlier"],
        "properties": {"participant_id": {"type": "string"}, **result,
                       "earlier": {"type": "array", "items": earlier, "maxItems": HISTORY - 1,
                                   "description": "the participant's earlier results, newest first"}},
    }
    return {
        "Prechecks": {
            "type": "object",
            "required": ["room_id", "items"],
            "properties": {"room_id": {"type": "string"}, "items": {"type": "array", "items": latest}},
        },
    }


PRECHECK_OPENAPI = OpenApiPart(
    paths={
        "/api/v1/rooms/{room_id}/prechecks": {
            "parameters": [{"name": "room_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "operationId": "getPrechecks",
                "summary": "Each participant's latest pre-call check (devices, round trip, upstream, verdict)",
                "responses": {
                    "200": {"description": "Participants who ran the check, in the room's order",
                            "content": {"application/json": {"schema": _ref("Prechecks")}}},
                    "401": _problem("Missing or unknown integration key"),
                    "404": _problem("No such room for this tenant"),
                    "500": _problem("Unexpected failure (the body carries an error id)"),
                },
            },
        },
    },
    schemas=_schemas(),
)
