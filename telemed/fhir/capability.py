"""The node's FHIR CapabilityStatement (``GET /fhir/r4/metadata``)."""

from __future__ import annotations

from typing import Any

__all__ = ["capability_statement"]

SEARCH_PARAMS = (
    ("date", "http://hl7.org/fhir/SearchParameter/clinical-date", "date",
     "Appointment.start; prefixes eq, ge, gt, le, lt; dates are days in UTC"),
    ("identifier", "http://hl7.org/fhir/SearchParameter/clinical-identifier", "token",
     "system|value: urn:konsylium:room|{id}, or the identifier sent when booking"),
)


def capability_statement(base_url: str, released: str) -> dict[str, Any]:
    """What this server does of FHIR R4: Appointment create, read, update and search (json only)."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": released,
        "publisher": "Konsylium",
        "kind": "instance",
        "software": {"name": "Konsylium"},
        "implementation": {"description": "Konsylium consultations as FHIR Appointments", "url": base_url},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {"description": "Authorization: Bearer <the tenant's integration key>, as the "
                                        "booking API (docs/api.md)"},
            "resource": [{
                "type": "Appointment",
                "interaction": [{"code": code} for code in ("read", "create", "update", "search-type")],
                "versioning": "no-version",
                "updateCreate": False,
                "searchParam": [{"name": name, "definition": definition, "type": type_, "documentation": doc}
                                for name, definition, type_, doc in SEARCH_PARAMS],
            }],
        }],
    }
