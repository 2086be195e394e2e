"""The OpenAPI paths and schemas of /api/v1/clinics (an `OpenApiPart` konsylium/app.py adds to the document)."""

from __future__ import annotations

from typing import Any

from rooms.model import EXTERNAL_REF_MAX, NAME_MAX, TITLE_MAX
from rooms.openapi import OpenApiPart
from telemed.clinics import (
    CLINICIAN_ID_MAX,
    CLINICIANS_MAX,
    CONSENT_TEXT_MAX,
    DASHBOARD_TTL_DEFAULT,
    DASHBOARD_TTL_MAX,
)

__all__ = ["CLINIC_OPENAPI"]

DATE_TIME = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": _ref("Problem")}}}


def _ok(description: str, schema: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}
    if headers:
        out["headers"] = headers
    return out


ERRORS = {"401": _problem("Missing or unknown integration key"),
          "500": _problem("Unexpected failure (the body carries an error id)")}
BODY_ERRORS = {"400": _problem("The body is not valid JSON"), "413": _problem("The body is too large"),
               "415": _problem("The body is not application/json"),
               "422": _problem("Invalid fields (every one is listed in errors), or an Idempotency-Key reused")}


def _text(max_len: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_len, "pattern": r"\S"}


def _schemas() -> dict[str, Any]:
    clinician = {"type": "object", "required": ["id", "display_name"],
                 "properties": {"id": {**_text(CLINICIAN_ID_MAX), "description": "the scheduling system's id"},
                                "display_name": _text(NAME_MAX)}}
    consent = {"type": "object", "required": ["version", "text", "language", "created_at"],
               "properties": {"version": {"type": "integer", "minimum": 1}, "text": {"type": "string"},
                              "language": {"type": "string"}, "created_at": DATE_TIME}}
    return {
        "Clinician": clinician,
        "ClinicRequest": {
            "type": "object", "required": ["name"],
            "properties": {"name": _text(TITLE_MAX),
                           "clinicians": {"type": "array", "maxItems": CLINICIANS_MAX, "items": clinician,
                                          "description": "the whole list (PUT removes those left out); ids "
                                                         "unique"}},
        },
        "Clinic": {
            "type": "object", "required": ["id", "name", "clinicians", "consent_version", "created_at",
                                           "updated_at"],
            "properties": {"id": {"type": "string"}, "name": {"type": "string"},
                           "clinicians": {"type": "array", "items": clinician},
                           "consent_version": {"type": ["integer", "null"],
                                               "description": "the current consent version (null: none yet, "
                                                              "so no visits)"},
                           "created_at": DATE_TIME, "updated_at": DATE_TIME},
        },
        "ClinicList": {"type": "object", "required": ["items"],
                       "properties": {"items": {"type": "array", "items": _ref("Clinic")}}},
        "ConsentRequest": {
            "type": "object", "required": ["text", "language"],
            "properties": {"text": {"type": "string", "minLength": 1, "maxLength": CONSENT_TEXT_MAX,
                                    "description": "plain text; line breaks allowed, no other controls"},
                           "language": {"type": "string", "pattern": "^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$",
                                        "maxLength": 35}},
        },
        "ConsentVersion": consent,
        "ConsentList": {"type": "object", "required": ["items", "current"],
                        "properties": {"items": {"type": "array", "items": consent},
                                       "current": {"type": ["integer", "null"]}}},
        "VisitRequest": {
            "type": "object", "required": ["starts_at", "ends_at", "patient"],
            "properties": {
                "starts_at": DATE_TIME, "ends_at": DATE_TIME,
                "patient": {"type": "object", "required": ["display_name"],
                            "properties": {"display_name": _text(NAME_MAX)}},
                "clinician_id": {**_text(CLINICIAN_ID_MAX), "description": "a clinician of the clinic: "
                                 "booked as the visit's host"},
                "title": {**_text(TITLE_MAX), "description": "the room's title (default: the clinic's name)"},
                "external_ref": _text(EXTERNAL_REF_MAX),
            },
        },
        "Visit": {
            "allOf": [_ref("Room"), {
                "type": "object", "required": ["visit"],
                "properties": {"visit": {
                    "type": "object", "required": ["clinic_id", "clinician_id", "patient_id"],
                    "properties": {"clinic_id": {"type": "string"}, "clinician_id": {"type": ["string", "null"]},
                                   "patient_id": {"type": "string",
                                                  "description": "the patient's participant id"}}}}}],
        },
        "DashboardLinkRequest": {
            "type": "object",
            "properties": {"ttl_minutes": {"type": "integer", "minimum": 5, "maximum": DASHBOARD_TTL_MAX,
                                           "default": DASHBOARD_TTL_DEFAULT}},
        },
        "DashboardLink": {
            "type": "object", "required": ["url", "token", "expires_at"],
            "properties": {"url": {"type": "string", "description": "the dashboard page, with the token"},
                           "token": {"type": "string"}, "expires_at": DATE_TIME},
        },
    }


def _paths() -> dict[str, Any]:
    errors, body_errors, problem = ERRORS, BODY_ERRORS, _problem
    clinic_id = {"name": "clinic_id", "in": "path", "required": True, "schema": {"type": "string"}}
    clinician_id = {"name": "clinician_id", "in": "path", "required": True, "schema": {"type": "string"}}
    not_found = {"404": problem("No such clinic for this tenant")}
    location = {"Location": {"description": "URL of the created resource", "schema": {"type": "string"}}}
    links = {name: {"operationId": op, "parameters": {"clinic_id": "$response.body#/id"}}
             for name, op in [("GetClinic", "getClinic"), ("ListConsents", "listConsents")]}

    def body(schema: str, required: bool = True) -> dict[str, Any]:
        return {"required": required, "content": {"application/json": {"schema": _ref(schema)}}}

    one = "/api/v1/clinics/{clinic_id}"
    paths = {
        "/api/v1/clinics": {
            "post": {"operationId": "createClinic", "summary": "Create a clinic with its clinicians",
                     "requestBody": body("ClinicRequest"),
                     "responses": {"201": {**_ok("The clinic", "Clinic", location), "links": links},
                                   **body_errors, "409": problem("The tenant has its maximum of clinics"),
                                   **errors}},
            "get": {"operationId": "listClinics", "summary": "The tenant's clinics",
                    "responses": {"200": _ok("The clinics, oldest first", "ClinicList"), **errors}},
        },
        one: {
            "parameters": [clinic_id],
            "get": {"operationId": "getClinic", "summary": "A clinic with its clinicians",
                    "responses": {"200": _ok("The clinic", "Clinic"), **not_found, **errors}},
            "put": {"operationId": "replaceClinic",
                    "summary": "Rename the clinic and set its clinicians (those left out are removed: their "
                               "dashboard links stop working)",
                    "requestBody": body("ClinicRequest"),
                    "responses": {"200": _ok("The clinic", "Clinic"), **not_found, **body_errors,
                                  "409": problem("The clinic has had too many clinicians"), **errors}},
        },
        f"{one}/consent": {
            "parameters": [clinic_id],
            "post": {"operationId": "addConsent",
                     "summary": "A new version of the clinic's consent to the teleconsultation (n + 1)",
                     "requestBody": body("ConsentRequest"),
                     "responses": {"201": _ok("The new version", "ConsentVersion", location), **not_found,
                                   **body_errors, "409": problem("The clinic keeps no more versions"),
                                   **errors}},
            "get": {"operationId": "listConsents", "summary": "Every version of the clinic's consent text",
                    "responses": {"200": _ok("The versions, oldest first, and the current one", "ConsentList"),
                                  **not_found, **errors}},
        },
        f"{one}/visits": {
            "parameters": [clinic_id],
            "post": {"operationId": "bookVisit",
                     "summary": "Book a visit: a consultation room with the patient (citizen) and, when "
                                "named, the clinician (host)",
                     "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                                     "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
                     "requestBody": body("VisitRequest"),
                     "responses": {"201": _ok("The room with its join links, and the visit", "Visit", location),
                                   **not_found, **body_errors,
                                   "409": problem("The clinic has no consent text yet "
                                                  "(urn:konsylium:problem:consent-missing)"),
                                   **errors}},
        },
        f"{one}/clinicians/{{clinician_id}}/dashboard-link": {
            "parameters": [clinic_id, clinician_id],
            "post": {"operationId": "createDashboardLink",
                     "summary": "A short-lived link to the clinic's dashboard for one of its clinicians",
                     "requestBody": body("DashboardLinkRequest", required=False),
                     "responses": {"201": _ok("The link", "DashboardLink"),
                                   "404": problem("No such clinic, or no such clinician in it"),
                                   **body_errors, **errors}},
        },
    }
    return paths


CLINIC_OPENAPI = OpenApiPart(_paths(), _schemas())
