"""JSON forms of rooms and participants, for the link to media worker processes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room, RoomStatus

__all__ = ["participant_from_wire", "participant_to_wire", "room_from_wire", "room_to_wire"]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def participant_to_wire(p: Participant) -> dict[str, Any]:
    return {"id": p.id, "room_id": p.room_id, "display_name": p.display_name, "role": p.role.value,
            "party": p.party.value, "jti": p.jti, "created_at": _time(p.created_at),
            "removed_at": _time(p.removed_at), "invite_id": p.invite_id}


def participant_from_wire(data: dict[str, Any]) -> Participant:
    created = _parse(data["created_at"])
    assert created is not None
    return Participant(id=data["id"], room_id=data["room_id"], display_name=data["display_name"],
                       role=Role(data["role"]), party=Party(data["party"]), jti=data["jti"],
                       created_at=created, removed_at=_parse(data["removed_at"]),
                       invite_id=data.get("invite_id"))


def room_to_wire(r: Room) -> dict[str, Any]:
    """The room's own fields; participants travel one by one as they arrive."""
    return {"id": r.id, "tenant": r.tenant, "title": r.title, "kind": r.kind.value,
            "model": r.model.value, "starts_at": _time(r.starts_at), "ends_at": _time(r.ends_at),
            "external_ref": r.external_ref, "created_at": _time(r.created_at),
            "updated_at": _time(r.updated_at), "status": r.status.value,
            "cancelled_at": _time(r.cancelled_at), "version": r.version}


def room_from_wire(data: dict[str, Any]) -> Room:
    times = {k: _parse(data[k]) for k in ("starts_at", "ends_at", "created_at", "updated_at")}
    assert all(v is not None for v in times.values())
    return Room(id=data["id"], tenant=data["tenant"], title=data["title"], kind=Kind(data["kind"]),
                model=ConferencingModel(data["model"]), starts_at=times["starts_at"],  # type: ignore[arg-type]
                ends_at=times["ends_at"], external_ref=data["external_ref"],  # type: ignore[arg-type]
                created_at=times["created_at"], updated_at=times["updated_at"],  # type: ignore[arg-type]
                status=RoomStatus(data["status"]), cancelled_at=_parse(data["cancelled_at"]),
                version=data["version"])
