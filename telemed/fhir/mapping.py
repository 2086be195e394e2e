"""Map R4 Appointments onto consultation bookings and back (docs/telemedicine.md, "Mapping").

Incoming Appointments are validated by ``fhir.resources`` (its R4B models: R4B left
Appointment as it was in R4), then by the rules below, naming each bad element
with a FHIRPath expression. Nothing here logs: titles and names are health data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.appointment import Appointment
from pydantic import ValidationError

from rooms.errors import FieldError
from rooms.model import (
    EXTERNAL_REF_MAX,
    NAME_MAX,
    TITLE_MAX,
    ConferencingModel,
    Kind,
    Party,
    Role,
    Room,
    RoomStatus,
    check_text,
)
from rooms.policy import KIND_LIMITS
from rooms.requests import BookingRequest, ParticipantRequest
from rooms.views import RoomViews, iso
from telemed.fhir.outcome import FhirError, Issue

__all__ = [
    "CHANNEL_SYSTEM",
    "ROOM_SYSTEM",
    "VIRTUAL_SERVICE",
    "AppointmentIn",
    "appointment_of",
    "expression_of",
    "parse_appointment",
    "status_of",
]

#: The R5 ``Appointment.virtualService`` (a VirtualServiceDetail) carried in R4.
VIRTUAL_SERVICE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-Appointment.virtualService"
#: Our channel type (VirtualServiceDetail.channelType) and the system of room ids.
CHANNEL_SYSTEM = "urn:konsylium:fhir:virtual-service-type"
CHANNEL_CODE = "konsylium"
ROOM_SYSTEM = "urn:konsylium:room"
PARTICIPANT_SYSTEM = "urn:konsylium:participant"
ACCEPTED_STATUSES = ("booked", "proposed", "pending")
#: Actor type → (role, party) in a consultation (model A2C).
ACTORS: dict[str, tuple[Role, Party]] = {
    "Practitioner": (Role.HOST, Party.ADMINISTRATION),
    "Patient": (Role.MEMBER, Party.CITIZEN),
    "RelatedPerson": (Role.MEMBER, Party.CITIZEN),
}
REFERENCE = re.compile(r"(?:.*/)?(?P<type>[A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[A-Za-z0-9\-.]{1,64})?")
ROOT = "Appointment"


@dataclass(frozen=True, slots=True)
class AppointmentIn:
    """What a booking needs from a valid incoming Appointment."""

    start: datetime
    end: datetime
    title: str
    external_ref: str | None
    participants: tuple[ParticipantRequest, ...]
    status: str

    def booking(self) -> BookingRequest:
        """The consultation booking this Appointment asks for."""
        return BookingRequest(title=self.title, kind=Kind.CONSULTATION, model=ConferencingModel.A2C,
                              starts_at=self.start, ends_at=self.end, external_ref=self.external_ref,
                              participants=self.participants)


def _expression(loc: Sequence[int | str]) -> str:
    path = ROOT
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part.isidentifier():
            path += f".{part}"
    return path


def _validated(body: Any) -> Appointment:
    if not isinstance(body, dict):
        raise FhirError(400, [Issue("structure", "the body must be a JSON object (a FHIR resource)")])
    if body.get("resourceType") != "Appointment":
        raise FhirError(400, [Issue("structure", "resourceType must be Appointment", f"{ROOT}.resourceType")
                               if "resourceType" in body else
                               Issue("required", "resourceType is required", f"{ROOT}.resourceType")])
    try:
        return Appointment.model_validate(body)
    except ValidationError as exc:
        issues = [Issue("structure", str(error.get("msg", "invalid")), _expression(error.get("loc", ())))
                  for error in exc.errors(include_input=False, include_url=False)]
        raise FhirError(422, issues or [Issue("structure", "not a valid Appointment")]) from exc
    except (ValueError, TypeError) as exc:  # the library's own checks outside pydantic's
        raise FhirError(422, [Issue("structure", "not a valid R4 Appointment", ROOT)]) from exc


def _time(value: Any, name: str, issues: list[Issue]) -> datetime | None:
    where = f"{ROOT}.{name}"
    if value is None:
        issues.append(Issue("required", f"{name} is required to book", where))
        return None
    if not isinstance(value, datetime) or value.tzinfo is None or not 1971 <= value.year <= 9997:
        issues.append(Issue("value", f"{name} must be an instant between 1971 and 9997", where))
        return None
    return value.astimezone(UTC)


def _text(value: str | None, where: str, max_len: int, issues: list[Issue]) -> str | None:
    if value is None:
        issues.append(Issue("required", "is required", where))
        return None
    problems = check_text(value, "", max_len)
    issues += [Issue("value", p.detail, where) for p in problems]
    return None if problems else value


def _actor_type(actor: Any) -> str | None:
    if actor.type:
        return str(actor.type)
    found = REFERENCE.fullmatch(actor.reference or "")
    return None if found is None else found["type"]


def _participants(appointment: Appointment, issues: list[Issue]) -> tuple[ParticipantRequest, ...]:
    people: list[ParticipantRequest] = []
    for i, participant in enumerate(appointment.participant or ()):
        where = f"{ROOT}.participant[{i}].actor"
        actor = participant.actor
        if actor is None:
            issues.append(Issue("required", "each participant needs an actor (Practitioner, Patient or "
                                            "RelatedPerson)", where))
            continue
        kind = _actor_type(actor)
        if kind not in ACTORS:
            issues.append(Issue("not-supported", "the actor must be a Practitioner, Patient or RelatedPerson "
                                                 "(by type or reference)", where))
            continue
        name = _text(actor.display, f"{where}.display", NAME_MAX, issues)
        if name is not None:
            role, party = ACTORS[kind]
            people.append(ParticipantRequest(name, role, party))
    if not any(p.role is Role.HOST for p in people) and not any(
            i.expression.startswith(f"{ROOT}.participant[") for i in issues):
        issues.append(Issue("required", "a consultation needs a Practitioner among the participants",
                            f"{ROOT}.participant"))
    limit = KIND_LIMITS[Kind.CONSULTATION]
    if len(appointment.participant or ()) > limit:
        issues.append(Issue("business-rule", f"a consultation has at most {limit} participants",
                            f"{ROOT}.participant"))
    return tuple(people)


def _title(appointment: Appointment, issues: list[Issue]) -> str | None:
    services = appointment.serviceType or []
    if not services:
        issues.append(Issue("required", "serviceType (its text) names the consultation", f"{ROOT}.serviceType"))
        return None
    first = services[0]
    text = first.text
    if text is None and first.coding:
        text = first.coding[0].display
    return _text(text, f"{ROOT}.serviceType[0].text", TITLE_MAX, issues)


def _external_ref(appointment: Appointment, room_id: str | None, issues: list[Issue]) -> str | None:
    identifiers = [i for i in appointment.identifier or []
                   if room_id is None or (i.system, i.value) != (ROOM_SYSTEM, room_id)]
    if len(identifiers) > 1:
        issues.append(Issue("not-supported", "send at most one identifier", f"{ROOT}.identifier"))
        return None
    if not identifiers:
        return None
    ident = identifiers[0]
    where = f"{ROOT}.identifier[0]"
    if ident.system == ROOM_SYSTEM:
        issues.append(Issue("value", "room ids are given by the server", f"{where}.system"))
        return None
    if ident.value is None:
        issues.append(Issue("required", "the identifier needs a value", f"{where}.value"))
        return None
    if ident.system is not None and "|" in ident.system:
        issues.append(Issue("value", "a system must not contain '|'", f"{where}.system"))
        return None
    ref = ident.value if ident.system is None else f"{ident.system}|{ident.value}"
    return _text(ref, where, EXTERNAL_REF_MAX, issues)


def parse_appointment(body: Any, room_id: str | None = None) -> AppointmentIn:
    """Validate an incoming Appointment (library, then booking rules); raise FhirError naming each bad element.

    *room_id*: the Appointment's room when it is updated (its room identifier may then come back).
    """
    appointment = _validated(body)
    issues: list[Issue] = []
    status = str(appointment.status)
    if status not in ACCEPTED_STATUSES:
        issues.append(Issue("value", "status must be one of: " + ", ".join(ACCEPTED_STATUSES), f"{ROOT}.status"))
    start = _time(appointment.start, "start", issues)
    end = _time(appointment.end, "end", issues)
    if start is not None and end is not None and end <= start:
        issues.append(Issue("value", "end must be after start", f"{ROOT}.end"))
    title = _title(appointment, issues)
    external_ref = _external_ref(appointment, room_id, issues)
    participants = _participants(appointment, issues)
    if issues or start is None or end is None or title is None:
        raise FhirError(422, issues)
    return AppointmentIn(start, end, title, external_ref, participants, status)


def expression_of(error: FieldError) -> str:
    """The Appointment element that a booking's JSON pointer (rooms.requests) stands for."""
    parts = error.pointer.strip("/").split("/")
    match parts:
        case ["starts_at"]:
            return f"{ROOT}.start"
        case ["ends_at"]:
            return f"{ROOT}.end"
        case ["title"]:
            return f"{ROOT}.serviceType[0].text"
        case ["external_ref"]:
            return f"{ROOT}.identifier[0]"
        case ["participants", index, *_] if index.isdigit():
            return f"{ROOT}.participant[{index}]"
        case ["participants"]:
            return f"{ROOT}.participant"
    return ROOT


def _identifiers(room: Room) -> list[dict[str, str]]:
    found = [{"system": ROOM_SYSTEM, "value": room.id}]
    if room.external_ref is not None:
        system, bar, value = room.external_ref.rpartition("|")
        found.append({"system": system, "value": value} if bar and system else {"value": room.external_ref})
    return found


def status_of(room: Room) -> str:
    """The Appointment status of a room (booked, cancelled, fulfilled)."""
    return {RoomStatus.SCHEDULED: "booked", RoomStatus.CANCELLED: "cancelled",
            RoomStatus.ENDED: "fulfilled"}[room.status]


def appointment_of(room: Room, views: RoomViews) -> dict[str, Any]:
    """The Appointment of a consultation room, with its virtual service and each person's join link."""
    participants = []
    for person in room.active_participants:
        kind = "Practitioner" if person.party is Party.ADMINISTRATION else "Patient"
        link = views.join_url(room, views.tokens.issue(room, person))
        participants.append({
            "extension": [{"url": VIRTUAL_SERVICE, "extension": [{"url": "address", "valueUrl": link}]}],
            "actor": {"type": kind, "display": person.display_name,
                      "identifier": {"system": PARTICIPANT_SYSTEM, "value": person.id}},
            "required": "required",
            "status": "accepted" if room.status is not RoomStatus.CANCELLED else "declined",
        })
    resource: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": room.id,
        "meta": {"versionId": str(room.version), "lastUpdated": iso(room.updated_at)},
        "extension": [{"url": VIRTUAL_SERVICE, "extension": [
            {"url": "channelType", "valueCoding": {"system": CHANNEL_SYSTEM, "code": CHANNEL_CODE,
                                                   "display": "Konsylium video room"}},
            {"url": "sessionKey", "valueString": room.id},
            {"url": "maxParticipants", "valuePositiveInt": KIND_LIMITS[room.kind]},
        ]}],
        "identifier": _identifiers(room),
        "status": status_of(room),
        "serviceType": [{"text": room.title}],
        "start": iso(room.starts_at),
        "end": iso(room.ends_at),
        "created": iso(room.created_at),
        "participant": participants,
    }
    if room.status is RoomStatus.CANCELLED:
        resource["cancelationReason"] = {"text": "cancelled through Konsylium"}
    return resource
