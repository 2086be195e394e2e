"""The OpenAPI schemas and paths of guest invites and the recording gate, merged into `rooms.openapi`'s document.

Guest invites are `rooms.guest_invite_api`'s; the recording gate's routes are the live room's
(`signalling.recording_api`), documented here with the rest of the booking API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rooms.guest_invites import InviteStatus, Purpose

__all__ = ["gate_paths", "gate_schemas"]

DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
ROOM_ID = {"name": "room_id", "in": "path", "required": True, "schema": {"type": "string"}}
INVITE_ID = {"name": "invite_id", "in": "path", "required": True, "schema": {"type": "string"}}
IDS = {"type": "array", "items": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def gate_schemas() -> dict[str, Any]:
    invite = {
        "id": {"type": "string"},
        "room_id": {"type": "string"},
        "purpose": {"type": "string", "enum": [p.value for p in Purpose]},
        "status": {"type": "string", "enum": [s.value for s in InviteStatus]},
        "created_by": {"type": "string", "description": "the host's participant id, or \"api\""},
        "created_at": DATE_TIME,
        "expires_at": DATE_TIME,
        "used_at": NULLABLE_TIME,
        "participant_id": {"type": ["string", "null"], "description": "the guest it let in, once used"},
        "revoked_at": NULLABLE_TIME,
    }
    gate = {
        "active": {"type": "boolean", "description": "a host (or the integrator) started recording"},
        "since": NULLABLE_TIME,
        "paused": {"type": "boolean", "description": "active, but someone in the call has not agreed"},
        "missing": {**IDS, "description": "ids of those in the call who have not agreed"},
    }
    return {
        "InviteRequest": {
            "type": "object",
            "required": ["purpose", "expires_in_minutes"],
            "properties": {
                "purpose": {"type": "string", "enum": [p.value for p in Purpose]},
                "expires_in_minutes": {"type": "integer", "minimum": 5, "maximum": 300},
            },
            "additionalProperties": True,
        },
        "Invite": {"type": "object", "required": list(invite), "properties": invite},
        "NewInvite": {
            "type": "object", "required": [*invite, "url"],
            "properties": {**invite, "url": {"type": "string", "description": "the one-time link for the guest; "
                                                                               "shown only in this answer"}},
        },
        "InviteList": {"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": _ref("Invite")}}},
        "RecordingState": {"type": "object", "required": ["room_id", *gate],
                           "properties": {"room_id": {"type": "string"}, **gate}},
        "RecordingGate": {
            "type": "object", "required": ["room_id", *gate, "consents"],
            "properties": {"room_id": {"type": "string"}, **gate, "consents": {"type": "array", "items": {
                "type": "object", "required": ["participant_id", "granted", "at"],
                "properties": {"participant_id": {"type": "string"}, "granted": {"type": "boolean"},
                               "at": DATE_TIME}}}},
        },
    }


def gate_paths(errors: dict[str, Any], body_errors: dict[str, Any], problem: Callable[[str], dict[str, Any]],
               ok: Callable[[str, str], dict[str, Any]]) -> dict[str, Any]:
    not_found = {"404": problem("No such room for this tenant")}
    invites = "/api/v1/rooms/{room_id}/invites"
    recording = "/api/v1/rooms/{room_id}/recording"
    return {
        invites: {
            "parameters": [ROOM_ID],
            "post": {
                "operationId": "createInvite",
                "summary": "Make a one-time guest invite (5 minutes to 5 hours); the guest waits in the lobby",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("InviteRequest")}}},
                "responses": {"201": ok("The invite with its link", "NewInvite"), **body_errors, **not_found,
                              "409": problem("The room is not scheduled, or holds its maximum of live invites"),
                              **errors},
            },
            "get": {
                "operationId": "listInvites",
                "summary": "The room's guest invites, newest first (never their links)",
                "responses": {"200": ok("The invites", "InviteList"), **not_found, **errors},
            },
        },
        f"{invites}/{{invite_id}}": {
            "parameters": [ROOM_ID, INVITE_ID],
            "delete": {
                "operationId": "revokeInvite",
                "summary": "Revoke an unused invite (again: nothing happens)",
                "responses": {"204": {"description": "Revoked"},
                              "404": problem("No such room, or no such invite in it"),
                              "409": problem("The invite was used: remove the guest instead"), **errors},
            },
        },
        recording: {
            "parameters": [ROOM_ID],
            "get": {
                "operationId": "getRecording",
                "summary": "The recording gate: whether recording is on, and who agreed (ids)",
                "responses": {"200": ok("The gate", "RecordingGate"), **not_found, **errors},
            },
        },
        f"{recording}/start": {
            "parameters": [ROOM_ID],
            "post": {
                "operationId": "startRecording",
                "summary": "Start recording, once everyone in the call agreed",
                "responses": {"200": ok("Recording", "RecordingState"), **not_found,
                              "409": problem("Someone in the call has not agreed (or nobody is in it)"),
                              **errors},
            },
        },
        f"{recording}/stop": {
            "parameters": [ROOM_ID],
            "post": {
                "operationId": "stopRecording",
                "summary": "Stop recording",
                "responses": {"204": {"description": "Not recording"}, **not_found, **errors},
            },
        },
    }
