"""Visits of a clinic: consultation rooms booked through `rooms.booking.Bookings`, noted in ``visits``.

A visit is an ordinary ``consultation`` room (model A2C): the patient is its
citizen participant, the clinician (when the booking names one) a host. What
makes it a clinic's is the ``visits`` row (room → clinic, clinician, the
patient's participant id) and ``visit_hosts`` (which host participant stands for
which clinician). A clinician taking a patient from the shared queue becomes a
host of that visit through `Bookings.invite`, like any participant added over
the API (the audit chain says ``participant.added``).
"""

from __future__ import annotations

import asyncio
import logging

from rooms.booking import Bookings
from rooms.errors import Conflict, FieldError, ValidationFailed
from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room
from rooms.requests import BookingRequest, ParticipantRequest
from rooms.store import IdempotencyClaim, Stored
from telemed.clinic_store import ClinicStore, Visit
from telemed.clinics import Clinic, Clinician, VisitRequest

__all__ = ["ClinicVisits", "ConsentMissing"]

log = logging.getLogger(__name__)


class ConsentMissing(Conflict):
    """A clinic without a consent text takes no visits."""

    slug = "consent-missing"
    title = "The clinic has no consent text yet"


class ClinicVisits:
    """Book visits for clinics and seat clinicians as their hosts."""

    def __init__(self, bookings: Bookings, clinics: ClinicStore) -> None:
        self.bookings = bookings
        self.clinics = clinics
        self._seating: dict[tuple[str, str], asyncio.Lock] = {}

    async def book(self, tenant: str, clinic_id: str, req: VisitRequest,
                   claim: IdempotencyClaim | None) -> tuple[Stored[Room], Visit]:
        clinic = await self.clinics.get(tenant, clinic_id)
        if clinic.consent_version is None:
            raise ConsentMissing("the clinic has no consent text yet: POST one to /api/v1/clinics/"
                                 f"{clinic.id}/consent before booking visits")
        clinician: Clinician | None = None
        if req.clinician_id is not None:
            clinician = clinic.clinician(req.clinician_id)
            if clinician is None:
                raise ValidationFailed([FieldError("/clinician_id", "is not a clinician of this clinic")])
        people = [ParticipantRequest(req.patient_name, Role.MEMBER, Party.CITIZEN)]
        if clinician is not None:
            people.append(ParticipantRequest(clinician.display_name, Role.HOST, Party.ADMINISTRATION))
        booking = BookingRequest(title=req.title or clinic.name, kind=Kind.CONSULTATION, model=ConferencingModel.A2C,
                                 starts_at=req.starts_at, ends_at=req.ends_at, external_ref=req.external_ref,
                                 participants=tuple(people))
        stored = await self.bookings.book(tenant, booking, claim)
        room = stored.value
        patient = room.participants[0]
        hosts = () if clinician is None else ((clinician.id, room.participants[1].id),)
        visit = Visit(room.id, clinic.id, tenant, None if clinician is None else clinician.id, patient.id, hosts)
        await self.clinics.add_visit(visit, self.bookings.clock.now())
        if not stored.replayed:
            log.info("visit booked room=%s clinic=%s clinician=%s", room.id, clinic.id,
                     "-" if clinician is None else "set")
        return stored, visit

    async def seat_host(self, clinic: Clinic, clinician: Clinician, room_id: str) -> tuple[Room, Participant]:
        """*clinician*'s host participant in visit *room_id* of *clinic*, added through the booking when
        they have none yet (one at a time per clinician and visit)."""
        lock = self._seating.setdefault((room_id, clinician.id), asyncio.Lock())
        try:
            async with lock:
                visit = await self.clinics.visit(room_id)
                if visit is None or visit.clinic_id != clinic.id:
                    raise Conflict("this room is not a visit of the clinic")
                room = await self.bookings.get(clinic.tenant, room_id)
                seat = visit.host_of(clinician.id)
                person = None if seat is None else room.participant(seat)
                if person is None or not person.active:
                    room, added = await self.bookings.invite(
                        clinic.tenant, room_id,
                        ParticipantRequest(clinician.display_name, Role.HOST, Party.ADMINISTRATION), None)
                    kept = await self.clinics.add_host(room_id, clinician.id, added.value.id)
                    room = await self.bookings.get(clinic.tenant, room_id)
                    person = room.participant(kept)
                    log.info("clinician seated as host room=%s participant=%s", room_id, added.value.id)
                assert person is not None
                return room, person
        finally:
            if not lock.locked() and self._seating.get((room_id, clinician.id)) is lock:
                del self._seating[(room_id, clinician.id)]
