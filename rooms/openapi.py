"""The OpenAPI 3.1 document of the booking API, served at /api/v1/openapi.json.

Written by hand next to the handlers; the test suite runs schemathesis against
the live app so that the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rooms.admissions import AdmissionOutcome
from rooms.gate_openapi import gate_paths, gate_schemas
from rooms.model import EXTERNAL_REF_MAX, NAME_MAX, TITLE_MAX, ConferencingModel, Kind, Party, Role
from rooms.requests import MAX_PARTICIPANTS_PER_REQUEST
from rooms.webhooks.openapi import webhook_paths, webhook_schemas

__all__ = ["OpenApiPart", "openapi_document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _text(max_len: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": r"\S"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _ok(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}
    if headers:
        out["headers"] = headers
    return out


ERRORS = {
    "401": _problem("Missing or unknown integration key"),
    "500": _problem("Unexpected failure (the body carries an error id)"),
}
BODY_ERRORS = {
    "400": _problem("The body is not valid JSON"),
    "413": _problem("The body is too large"),
    "415": _problem("The body is not application/json"),
    "422": _problem("Invalid fields (every one is listed in errors), or an Idempotency-Key reused"),
}
LOCATION = {"Location": {"description": "URL of the created resource", "schema": {"type": "string"}}}
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "present (true) when an Idempotency-Key replayed an earlier result",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retrying a write with the same key returns the first result (kept 24 h).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
ROOM_ID = {"name": "room_id", "in": "path", "required": True, "schema": {"type": "string"}}
PARTICIPANT_ID = {"name": "participant_id", "in": "path", "required": True, "schema": {"type": "string"}}
EXAMPLE = {
    "title": "Konsultacja kardiologiczna",
    "kind": "consultation",
    "model": "A2C",
    "starts_at": "2030-12-01T09:00:00+01:00",
    "ends_at": "2030-12-01T09:30:00+01:00",
    "external_ref": "EOD/2030/123",
    "participants": [
        {"display_name": "dr Anna Nowak", "role": "host", "party": "administration"},
        {"display_name": "Jan Kowalski", "role": "member", "party": "citizen"},
    ],
}
ROOM_LINKS = {
    name: {"operationId": op, "parameters": {"room_id": "$response.body#/id"}}
    for name, op in [("GetRoom", "getRoom"), ("EditRoom", "editRoom"), ("CancelRoom", "cancelRoom"),
                     ("AddParticipant", "addParticipant"), ("GetLive", "getLive"), ("LockRoom", "lockRoom"),
                     ("UnlockRoom", "unlockRoom"), ("GetAudit", "getAudit")]
}
PARTICIPANT_LINKS = {
    name: {"operationId": op, "parameters": {"room_id": "$request.path.room_id",
                                             "participant_id": "$response.body#/id"}}
    for name, op in [("GetParticipant", "getParticipant"), ("RemoveParticipant", "removeParticipant"),
                     ("AdmitParticipant", "admitParticipant"), ("DenyParticipant", "denyParticipant"),
                     ("MuteParticipant", "muteParticipant"), ("GetInvite", "getInvite")]
}
DATE_TIME = {"type": "string", "format": "date-time"}
INVITE = {
    "description": "An iCalendar object (the Content-Type's method parameter repeats its METHOD); "
                   "UID stable, SEQUENCE grows with every change of the room",
    "headers": {
        "Content-Disposition": {"description": "attachment with a file name (zaproszenie.ics or odwolanie.ics)",
                                "schema": {"type": "string"}},
    },
    "content": {"text/calendar": {"schema": {"type": "string"}}},
}
#: The states of a participant in a live room (``left`` ones are no longer listed).
LIVE_STATES = ("waiting", "in_call", "on_hold", "reconnecting")
DENY_MESSAGE_MAX = 300
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _schemas() -> dict[str, Any]:
    participant_request = {
        "type": "object",
        "required": ["display_name", "role", "party"],
        "properties": {
            "display_name": _text(NAME_MAX),
            "role": {"type": "string", "enum": [r.value for r in Role]},
            "party": {"type": "string", "enum": [p.value for p in Party]},
        },
        "additionalProperties": True,
    }
    return {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "error_id": {"type": "string"},
                "errors": {
                    "type": "array",
                    "description": "validation problems: every bad field, by JSON pointer",
                    "items": {
                        "type": "object",
                        "required": ["pointer", "detail"],
                        "properties": {
                            "pointer": {"type": "string", "description": "JSON pointer to the bad field"},
                            "detail": {"type": "string"},
                        },
                    },
                },
            },
        },
        "ParticipantRequest": participant_request,
        "BookingRequest": {
            "type": "object",
            "required": ["title", "kind", "model", "starts_at", "ends_at"],
            "properties": {
                "title": _text(TITLE_MAX),
                "kind": {"type": "string", "enum": [k.value for k in Kind]},
                "model": {"type": "string", "enum": [m.value for m in ConferencingModel]},
                "starts_at": DATE_TIME,
                "ends_at": DATE_TIME,
                "external_ref": {"anyOf": [_text(EXTERNAL_REF_MAX), {"type": "null"}]},
                "participants": {
                    "type": "array",
                    "maxItems": MAX_PARTICIPANTS_PER_REQUEST,
                    "items": _ref("ParticipantRequest"),
                },
            },
            "additionalProperties": True,
        },
        "RoomPatch": {
            "type": "object",
            "properties": {
                "title": _text(TITLE_MAX),
                "kind": {"type": "string", "enum": [k.value for k in Kind]},
                "model": {"type": "string", "enum": [m.value for m in ConferencingModel]},
                "starts_at": DATE_TIME,
                "ends_at": DATE_TIME,
                "external_ref": {"anyOf": [_text(EXTERNAL_REF_MAX), {"type": "null"}]},
            },
            "additionalProperties": True,
        },
        "Participant": {
            "type": "object",
            "required": ["id", "display_name", "role", "party", "created_at", "token", "join_url", "admission"],
            "properties": {
                "id": {"type": "string"},
                "display_name": {"type": "string"},
                "role": {"type": "string", "enum": [r.value for r in Role]},
                "party": {"type": "string", "enum": [p.value for p in Party]},
                "created_at": DATE_TIME,
                "token": {"type": "string", "description": "join token (JWT, HS256)"},
                "join_url": {"type": "string", "description": "opens the web client for this person"},
                "admission": {"anyOf": [_ref("Admission"), {"type": "null"}],
                              "description": "the latest admit or deny of this person in the lobby; "
                                             "null when there was none"},
                "invite_id": {"type": ["string", "null"],
                              "description": "the guest invite this person came through (they wait in the lobby "
                                             "until a host lets them in); null when booked"},
            },
        },
        "Admission": {
            "type": "object",
            "required": ["outcome", "by", "at"],
            "properties": {
                "outcome": {"type": "string", "enum": [o.value for o in AdmissionOutcome]},
                "by": {"type": "string", "description": "the host's participant id, or \"api\" (the integrator)"},
                "at": DATE_TIME,
            },
        },
        "Room": {
            "type": "object",
            "required": [
                "id", "title", "kind", "model", "status", "starts_at", "ends_at", "external_ref",
                "created_at", "updated_at", "cancelled_at", "purged_at", "join_window", "policy", "participants",
            ],
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "kind": {"type": "string", "enum": [k.value for k in Kind]},
                "model": {"type": "string", "enum": [m.value for m in ConferencingModel]},
                "status": {"type": "string", "enum": ["scheduled", "cancelled", "ended"]},
                "starts_at": DATE_TIME,
                "ends_at": DATE_TIME,
                "external_ref": {"type": ["string", "null"]},
                "created_at": DATE_TIME,
                "updated_at": DATE_TIME,
                "cancelled_at": NULLABLE_TIME,
                "purged_at": {**NULLABLE_TIME, "description": "when retention erased the title and names"},
                "join_window": {
                    "type": "object",
                    "required": ["opens_at", "closes_at"],
                    "properties": {"opens_at": DATE_TIME, "closes_at": DATE_TIME},
                },
                "policy": {
                    "type": "object",
                    "required": ["parties", "host_parties", "lobby_for", "identity", "recording",
                                 "max_participants"],
                    "properties": {
                        "parties": {"type": "array", "items": {"type": "string"}},
                        "host_parties": {"type": "array", "items": {"type": "string"}},
                        "lobby_for": {"type": "array", "items": {"type": "string"}},
                        "identity": {"type": "string"},
                        "recording": {"type": "boolean"},
                        "max_participants": {"type": "integer"},
                    },
                },
                "participants": {"type": "array", "items": _ref("Participant")},
            },
        },
        "RoomList": {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {
                "items": {"type": "array", "items": _ref("Room")},
                "next_cursor": {"type": ["string", "null"]},
            },
        },
        "Live": {
            "type": "object",
            "required": ["room_id", "participants", "locked"],
            "properties": {
                "room_id": {"type": "string"},
                "locked": {"type": "boolean", "description": "new arrivals but hosts wait in the lobby"},
                "participants": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "display_name", "role", "party", "state", "connected_at",
                                     "publishing", "muted"],
                        "properties": {
                            "id": {"type": "string"},
                            "display_name": {"type": "string"},
                            "role": {"type": "string", "description": "the role in this call (a host may "
                                     "change member and viewer live; the booking keeps its role)"},
                            "party": {"type": "string"},
                            "state": {"type": "string", "enum": list(LIVE_STATES)},
                            "connected_at": DATE_TIME,
                            "publishing": {"type": "array", "items": {"type": "string",
                                                                       "enum": ["audio", "video"]}},
                            "muted": {"type": "object", "required": ["audio", "video"],
                                      "properties": {"audio": {"type": "boolean"},
                                                     "video": {"type": "boolean"}}},
                            "sharing": {"type": "boolean", "description": "sharing their screen now"},
                            "hand_raised_at": {**NULLABLE_TIME, "description": "when they raised their hand "
                                               "(the queue is in this order), or null"},
                        },
                    },
                },
            },
        },
        "Audit": {
            "type": "object",
            "required": ["room_id", "entries", "verification"],
            "properties": {
                "room_id": {"type": "string"},
                "entries": {"type": "array", "items": _ref("AuditEntry")},
                "verification": {
                    "type": "object",
                    "required": ["ok", "entries", "head", "first_bad_seq", "problem"],
                    "properties": {
                        "ok": {"type": "boolean", "description": "every entry holds and the chain ends at its head"},
                        "entries": {"type": "integer", "minimum": 0},
                        "head": {"type": "string", "description": "the hash the chain ends with (SHA-256, hex)"},
                        "first_bad_seq": {"type": ["integer", "null"]},
                        "problem": {"type": ["string", "null"]},
                    },
                },
            },
        },
        "AuditEntry": {
            "type": "object",
            "required": ["seq", "event", "prev_hash", "hash"],
            "properties": {
                "seq": {"type": "integer", "minimum": 1},
                "event": {"type": ["object", "null"], "description": "the event as stored (ids and states only)",
                          "properties": {"type": {"type": "string"}, "tenant": {"type": "string"},
                                         "room_id": {"type": "string"}, "at": DATE_TIME,
                                         "participant_id": {"type": ["string", "null"]},
                                         "by": {"type": ["string", "null"]}, "data": {"type": "object"}}},
                "prev_hash": {"type": "string"},
                "hash": {"type": "string"},
            },
        },
        "MuteRequest": {
            "type": "object",
            "required": ["kind"],
            "properties": {"kind": {"type": "string", "enum": ["audio", "video"]}},
            "additionalProperties": True,
        },
        "DenyRequest": {
            "type": "object",
            "properties": {"message": {"anyOf": [_text(DENY_MESSAGE_MAX), {"type": "null"}],
                                       "description": "shown to the person turned away"}},
            "additionalProperties": True,
        },
    }


def _paths() -> dict[str, Any]:
    not_found = {"404": _problem("No such room for this tenant")}
    conflict = {"409": _problem("The room is cancelled, full, or was changed meanwhile")}
    query = [
        {"name": "from", "in": "query", "required": False, "schema": DATE_TIME,
         "description": "rooms that end after this time"},
        {"name": "to", "in": "query", "required": False, "schema": DATE_TIME,
         "description": "rooms that start before this time"},
        {"name": "external_ref", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "kind", "in": "query", "required": False,
         "schema": {"type": "string", "enum": [k.value for k in Kind]}},
        {"name": "status", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["scheduled", "cancelled", "ended"]}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "next_cursor of the previous page"},
    ]
    return {
        "/api/v1/rooms": {
            "post": {
                "operationId": "bookRoom",
                "summary": "Book a room",
                "parameters": [IDEMPOTENCY],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": _ref("BookingRequest"), "examples": {"consultation": {"value": EXAMPLE}},
                }}},
                "responses": {
                    "201": {**_ok("The booked room, with each participant's token and join link", "Room",
                                  {**LOCATION, **REPLAYED}), "links": ROOM_LINKS},
                    **BODY_ERRORS, **ERRORS, "404": _problem("The room of a replayed key is gone"),
                },
            },
            "get": {
                "operationId": "listRooms",
                "summary": "List the tenant's rooms, ordered by start",
                "parameters": query,
                "responses": {"200": _ok("A page of rooms", "RoomList"),
                              "422": BODY_ERRORS["422"], **ERRORS},
            },
        },
        "/api/v1/rooms/{room_id}": {
            "parameters": [ROOM_ID],
            "get": {
                "operationId": "getRoom",
                "responses": {"200": _ok("The room", "Room"), **not_found, **ERRORS},
            },
            "patch": {
                "operationId": "editRoom",
                "summary": "Reschedule or edit a room (JSON merge patch of its own fields)",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": _ref("RoomPatch")},
                    "application/merge-patch+json": {"schema": _ref("RoomPatch")},
                }},
                "responses": {"200": _ok("The edited room; tokens follow the new window", "Room"),
                              **not_found, **conflict, **BODY_ERRORS, **ERRORS},
            },
            "delete": {
                "operationId": "cancelRoom",
                "summary": "Cancel a room; its join tokens stop working",
                "responses": {"204": {"description": "Cancelled (or already was)"},
                              **not_found, **conflict, **ERRORS},
            },
        },
        "/api/v1/rooms/{room_id}/participants": {
            "parameters": [ROOM_ID],
            "post": {
                "operationId": "addParticipant",
                "parameters": [IDEMPOTENCY],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("ParticipantRequest")}}},
                "responses": {"201": {**_ok("The new participant with token and join link", "Participant",
                                            {**LOCATION, **REPLAYED}), "links": PARTICIPANT_LINKS},
                              **not_found, **conflict, **BODY_ERRORS, **ERRORS},
            },
        },
        "/api/v1/rooms/{room_id}/participants/{participant_id}": {
            "parameters": [ROOM_ID, PARTICIPANT_ID],
            "get": {
                "operationId": "getParticipant",
                "responses": {"200": _ok("The participant", "Participant"), **not_found, **ERRORS},
            },
            "delete": {
                "operationId": "removeParticipant",
                "summary": "Remove a participant; their token stops working",
                "responses": {"204": {"description": "Removed"}, **not_found, **conflict, **ERRORS},
            },
        },
        "/api/v1/rooms/{room_id}/participants/{participant_id}/invite.ics": {
            "parameters": [ROOM_ID, PARTICIPANT_ID],
            "get": {
                "operationId": "getInvite",
                "summary": "The participant's calendar invitation (RFC 5545): METHOD:REQUEST with their join "
                           "link, or METHOD:CANCEL once the room is cancelled; attach it to your e-mail",
                "responses": {"200": INVITE, **not_found, **ERRORS},
            },
        },
        "/api/v1/rooms/{room_id}/end": {
            "parameters": [ROOM_ID],
            "post": {
                "operationId": "endRoom",
                "summary": "End the meeting now: every live session ends, its links answer 410",
                "responses": {"204": {"description": "Ended (or already was)"},
                              **not_found, **conflict, **ERRORS},
            },
        },
        "/api/v1/rooms/{room_id}/live": {
            "parameters": [ROOM_ID],
            "get": {
                "operationId": "getLive",
                "summary": "Who is in the live room now (waiting, in the call, on hold, reconnecting), "
                           "publishing what, muted or not; whether the room is locked",
                "responses": {"200": _ok("The live room (no participants when nobody is there)", "Live"),
                              **not_found, **ERRORS},
            },
        },
        "/api/v1/rooms/{room_id}/audit": {
            "parameters": [ROOM_ID],
            "get": {
                "operationId": "getAudit",
                "summary": "The room's audit trail (a hash chain of its events) and whether it verifies",
                "responses": {"200": _ok("Every entry in order, and the verdict on the chain", "Audit"),
                              **not_found, **ERRORS},
            },
        },
        **_live_controls(not_found),
        **webhook_paths(ERRORS, BODY_ERRORS, _problem, _ok),
        **gate_paths(ERRORS, BODY_ERRORS, _problem, _ok),
    }


def _live_controls(not_found: dict[str, Any]) -> dict[str, Any]:
    """The integrator's live controls: the same as a host's in the call."""
    person = "/api/v1/rooms/{room_id}/participants/{participant_id}"
    not_waiting = {"409": _problem("That participant is not waiting in the lobby (or the room is not live)")}
    not_in_call = {"409": _problem("That participant is not in the live room now")}
    bad_body = {"400": _problem("The body is not valid JSON, or a field is wrong (the detail names it)"),
                "413": BODY_ERRORS["413"], "415": BODY_ERRORS["415"]}
    done = {"204": {"description": "Done"}}

    def post(operation: str, summary: str, responses: dict[str, Any], body: dict[str, Any] | None = None
             ) -> dict[str, Any]:
        out: dict[str, Any] = {"operationId": operation, "summary": summary,
                               "responses": {**done, **responses, **not_found, **ERRORS}}
        if body is not None:
            out["requestBody"] = body
        return out

    return {
        f"{person}/admit": {"parameters": [ROOM_ID, PARTICIPANT_ID], "post": post(
            "admitParticipant", "Let a waiting participant into the call", not_waiting)},
        f"{person}/deny": {"parameters": [ROOM_ID, PARTICIPANT_ID], "post": post(
            "denyParticipant", "Turn a waiting participant away; their link is refused while the room is live",
            {**not_waiting, **bad_body},
            {"required": False, "content": {"application/json": {"schema": _ref("DenyRequest")}}})},
        f"{person}/mute": {"parameters": [ROOM_ID, PARTICIPANT_ID], "post": post(
            "muteParticipant", "Mute a participant's audio or video: the server stops forwarding it within "
            "a second and their client is told (they may unmute themselves)", {**not_in_call, **bad_body},
            {"required": True, "content": {"application/json": {"schema": _ref("MuteRequest")}}})},
        "/api/v1/rooms/{room_id}/lock": {"parameters": [ROOM_ID], "post": post(
            "lockRoom", "Lock the live room: every new arrival but a host waits in the lobby",
            {"409": _problem("The room is not live now")})},
        "/api/v1/rooms/{room_id}/unlock": {"parameters": [ROOM_ID], "post": post(
            "unlockRoom", "Unlock the room: arrivals follow the room's policy again", {})},
    }


@dataclass(frozen=True, slots=True)
class OpenApiPart:
    """Paths (and their schemas) that a package above rooms serves under /api/v1, added to the document by
    the composition root (konsylium/app.py); rooms never imports those packages."""

    paths: Mapping[str, Any]
    schemas: Mapping[str, Any] = field(default_factory=dict)


def openapi_document(public_url: str, parts: Sequence[OpenApiPart] = ()) -> dict[str, Any]:
    """Return the OpenAPI 3.1 document, with *public_url* as the server and *parts* added."""
    schemas = {**_schemas(), **webhook_schemas(), **gate_schemas()}
    paths = _paths()
    for part in parts:
        schemas.update(part.schemas)
        paths.update(part.paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Konsylium room-booking API",
            "version": "1.0.0",
            "description": "Book rooms and hand out join links. Errors are RFC 9457 problem+json.",
        },
        "servers": [{"url": public_url}],
        "security": [{"apiKey": []}],
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "integration key of a tenant"}},
            "schemas": schemas,
        },
        "paths": paths,
    }
