"""JSON representations of rooms and participants as the booking API returns them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from rooms.admissions import AdmissionRecord
from rooms.model import Participant, Room
from rooms.policy import policy_for
from rooms.presence import LiveParticipant
from rooms.tokens import JoinTokens

__all__ = ["RoomViews", "iso"]


def iso(value: datetime | None) -> str | None:
    """Render an aware datetime as RFC 3339 in UTC (``Z``), the API's one time format."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class RoomViews:
    """Render rooms with each participant's token and join link."""

    def __init__(self, tokens: JoinTokens, public_url: str) -> None:
        self.tokens = tokens
        self.public_url = public_url.rstrip("/")

    def room_url(self, room: Room) -> str:
        return f"{self.public_url}/api/v1/rooms/{quote(room.id)}"

    def join_url(self, room: Room, token: str) -> str:
        return f"{self.public_url}/join/{quote(room.id)}?t={token}"

    def participant(self, room: Room, person: Participant, admission: AdmissionRecord | None) -> dict[str, Any]:
        """One participant; *admission* is their latest admission decision (rooms.admissions), if any."""
        token = self.tokens.issue(room, person)
        return {
            "id": person.id,
            "display_name": person.display_name,
            "role": person.role.value,
            "party": person.party.value,
            "created_at": iso(person.created_at),
            "token": token,
            "join_url": self.join_url(room, token),
            "admission": None if admission is None else {
                "outcome": admission.outcome.value, "by": admission.by, "at": iso(admission.at)},
            "invite_id": person.invite_id,
        }

    def room(self, room: Room, admissions: Mapping[str, AdmissionRecord]) -> dict[str, Any]:
        """The room; *admissions*: the latest admission decision of each participant (by id) that has one."""
        return {
            "id": room.id,
            "title": room.title,
            "kind": room.kind.value,
            "model": room.model.value,
            "status": room.status.value,
            "starts_at": iso(room.starts_at),
            "ends_at": iso(room.ends_at),
            "external_ref": room.external_ref,
            "created_at": iso(room.created_at),
            "updated_at": iso(room.updated_at),
            "cancelled_at": iso(room.cancelled_at),
            "purged_at": iso(room.purged_at),
            "join_window": {
                "opens_at": iso(self.tokens.window.opens_at(room)),
                "closes_at": iso(self.tokens.window.closes_at(room)),
            },
            "policy": policy_for(room.model).as_dict(room.kind),
            "participants": [self.participant(room, p, admissions.get(p.id)) for p in room.active_participants],
        }

    def live(self, room: Room, people: list[LiveParticipant]) -> dict[str, Any]:
        items = []
        for live in people:
            person = room.participant(live.participant_id)
            if person is None:
                continue
            items.append(
                {
                    "id": person.id,
                    "display_name": person.display_name,
                    "role": person.role.value,
                    "party": person.party.value,
                    "connected_at": iso(live.connected_at),
                    "publishing": sorted(live.publishing),
                }
            )
        return {"room_id": room.id, "participants": items}
