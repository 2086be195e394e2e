"""FHIR OperationOutcome: the one error format of the FHIR endpoints."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

__all__ = ["FHIR_JSON", "FhirError", "Issue", "fhir_response", "outcome"]

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem: a FHIRPath *expression* naming the element (empty: the whole request)."""

    code: str
    diagnostics: str
    expression: str = ""


class FhirError(Exception):
    """Refuse a FHIR request with *status* and the issues that say why."""

    def __init__(self, status: int, issues: Sequence[Issue], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {len(issues)} issue(s)")
        self.status = status
        self.issues = tuple(issues)
        self.headers = headers or {}


def outcome(issues: Sequence[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource listing *issues* (all errors)."""
    rendered = []
    for issue in issues:
        item: dict[str, Any] = {"severity": "error", "code": issue.code, "diagnostics": issue.diagnostics}
        if issue.expression:
            item["expression"] = [issue.expression]
        rendered.append(item)
    return {"resourceType": "OperationOutcome", "issue": rendered}


def fhir_response(resource: dict[str, Any], status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    """A FHIR resource as ``application/fhir+json``."""
    return web.Response(status=status, body=json.dumps(resource, ensure_ascii=False).encode(),
                        content_type=FHIR_JSON, headers=headers)
