"""The OpenAPI schemas and paths of /api/v1/webhooks, merged into `rooms.openapi`'s document."""

from __future__ import annotations

from typing import Any

from rooms.events import EVENT_TYPES
from rooms.webhooks.model import AttemptOutcome, MessageStatus
from rooms.webhooks.requests import URL_MAX

__all__ = ["webhook_paths", "webhook_schemas"]

DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def webhook_schemas() -> dict[str, Any]:
    endpoint_properties: dict[str, Any] = {
        "id": {"type": "string"},
        "url": {"type": "string"},
        "event_types": {"type": ["array", "null"], "items": {"type": "string"},
                        "description": "the event types sent; null: every type"},
        "enabled": {"type": "boolean", "description": "false once the endpoint answered 410 Gone"},
        "disabled_reason": {"type": ["string", "null"]},
        "previous_secret_expires_at": {**NULLABLE_TIME, "description": "after a rotation, until when the "
                                       "previous secret still signs (null: only the current one signs)"},
        "created_at": DATE_TIME,
        "updated_at": DATE_TIME,
    }
    required = list(endpoint_properties)
    return {
        "WebhookRequest": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "minLength": 1, "maxLength": URL_MAX,
                        "description": "an http(s) URL of a public address (https in production)"},
                "event_types": {"anyOf": [{"type": "array", "minItems": 1,
                                           "items": {"type": "string", "enum": sorted(EVENT_TYPES)}},
                                          {"type": "null"}],
                                "description": "the event types to send; absent or null: every type"},
            },
            "additionalProperties": True,
        },
        "Webhook": {"type": "object", "required": required, "properties": endpoint_properties},
        "WebhookWithSecret": {
            "type": "object",
            "required": [*required, "secret"],
            "properties": {**endpoint_properties, "secret": {
                "type": "string", "pattern": "^whsec_",
                "description": "the signing secret (whsec_ + base64); shown only here"}},
        },
        "WebhookList": {"type": "object", "required": ["items"],
                        "properties": {"items": {"type": "array", "items": _ref("Webhook")}}},
        "WebhookMessage": {
            "type": "object",
            "required": ["id", "endpoint_id", "event_type", "status", "payload", "next_attempt_at", "created_at",
                         "updated_at", "attempts"],
            "properties": {
                "id": {"type": "string", "description": "the webhook-id header of every attempt"},
                "endpoint_id": {"type": "string"},
                "event_type": {"type": "string"},
                "status": {"type": "string", "enum": [s.value for s in MessageStatus]},
                "payload": {"type": "object", "description": "the JSON body sent"},
                "next_attempt_at": NULLABLE_TIME,
                "created_at": DATE_TIME,
                "updated_at": DATE_TIME,
                "attempts": {"type": "array", "items": {
                    "type": "object",
                    "required": ["at", "outcome", "status_code", "latency_ms", "error"],
                    "properties": {
                        "at": DATE_TIME,
                        "outcome": {"type": "string", "enum": [o.value for o in AttemptOutcome]},
                        "status_code": {"type": ["integer", "null"]},
                        "latency_ms": {"type": "number", "minimum": 0},
                        "error": {"type": ["string", "null"]},
                    },
                }},
            },
        },
        "WebhookMessageList": {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": _ref("WebhookMessage")},
                           "next_cursor": {"type": ["string", "null"]}},
        },
    }


def webhook_paths(errors: dict[str, Any], body_errors: dict[str, Any], problem: Any, ok: Any) -> dict[str, Any]:
    """The paths; *errors*, *body_errors*, *problem* and *ok* are `rooms.openapi`'s building blocks."""
    hook_id = {"name": "webhook_id", "in": "path", "required": True, "schema": {"type": "string"}}
    message_id = {"name": "message_id", "in": "path", "required": True, "schema": {"type": "string"}}
    not_found = {"404": problem("No such webhook endpoint (or message) for this tenant")}
    disabled = {"409": problem("The endpoint is disabled, or an attempt is under way")}
    location = {"Location": {"description": "URL of the endpoint", "schema": {"type": "string"}}}
    links = {name: {"operationId": op, "parameters": {"webhook_id": "$response.body#/id"}}
             for name, op in [("GetWebhook", "getWebhook"), ("DeleteWebhook", "deleteWebhook"),
                              ("RotateWebhookSecret", "rotateWebhookSecret"), ("TestWebhook", "testWebhook"),
                              ("ListWebhookMessages", "listWebhookMessages")]}
    message_links = {name: {"operationId": op, "parameters": {"webhook_id": "$request.path.webhook_id",
                                                              "message_id": "$response.body#/id"}}
                     for name, op in [("GetWebhookMessage", "getWebhookMessage"),
                                      ("RedeliverWebhookMessage", "redeliverWebhookMessage")]}
    query = [
        {"name": "status", "in": "query", "required": False,
         "schema": {"type": "string", "enum": [s.value for s in MessageStatus]}},
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "next_cursor of the previous page"},
    ]
    one = "/api/v1/webhooks/{webhook_id}"
    return {
        "/api/v1/webhooks": {
            "post": {
                "operationId": "createWebhook",
                "summary": "Register a webhook endpoint; the answer carries its signing secret (only here "
                           "and on rotation)",
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": _ref("WebhookRequest")}}},
                "responses": {
                    "201": {**ok("The endpoint, with its secret", "WebhookWithSecret", location), "links": links},
                    **body_errors,
                    "409": problem("The tenant has its maximum of endpoints"),
                    "422": problem("Invalid fields, or a destination webhooks may not call "
                                   "(urn:konsylium:problem:forbidden-destination)"),
                    **errors,
                },
            },
            "get": {
                "operationId": "listWebhooks",
                "summary": "The tenant's webhook endpoints",
                "responses": {"200": ok("Every endpoint of the tenant", "WebhookList"), **errors},
            },
        },
        one: {
            "parameters": [hook_id],
            "get": {"operationId": "getWebhook",
                    "responses": {"200": ok("The endpoint", "Webhook"), **not_found, **errors}},
            "delete": {"operationId": "deleteWebhook",
                       "summary": "Delete the endpoint with its messages and their log",
                       "responses": {"204": {"description": "Deleted"}, **not_found, **errors}},
        },
        f"{one}/rotate-secret": {
            "parameters": [hook_id],
            "post": {"operationId": "rotateWebhookSecret",
                     "summary": "A new secret; the previous one keeps signing for 24 h",
                     "responses": {"200": ok("The endpoint with its new secret", "WebhookWithSecret"),
                                   **not_found, **errors}},
        },
        f"{one}/test": {
            "parameters": [hook_id],
            "post": {"operationId": "testWebhook",
                     "summary": "Queue a webhook.test message to the endpoint",
                     "responses": {"202": {**ok("The queued message", "WebhookMessage"), "links": message_links},
                                   **not_found, **disabled, **errors}},
        },
        f"{one}/messages": {
            "parameters": [hook_id],
            "get": {"operationId": "listWebhookMessages",
                    "summary": "The delivery log: the endpoint's messages, newest first, with every attempt",
                    "parameters": query,
                    "responses": {"200": ok("A page of messages", "WebhookMessageList"),
                                  "422": body_errors["422"], **not_found, **errors}},
        },
        f"{one}/messages/{{message_id}}": {
            "parameters": [hook_id, message_id],
            "get": {"operationId": "getWebhookMessage",
                    "responses": {"200": ok("The message and its attempts", "WebhookMessage"),
                                  **not_found, **errors}},
        },
        f"{one}/messages/{{message_id}}/redeliver": {
            "parameters": [hook_id, message_id],
            "post": {"operationId": "redeliverWebhookMessage",
                     "summary": "Send the message again now, with a fresh retry schedule",
                     "responses": {"202": ok("The message, pending", "WebhookMessage"),
                                   **not_found, **disabled, **errors}},
        },
    }
