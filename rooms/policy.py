"""The policy table: what each conferencing model and room kind allows by default.

The table is the project's own (DOMAIN.md asks for one that is documented and
enforced); docs/policy.md explains it for integrators.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rooms.errors import FieldError
from rooms.model import ConferencingModel, Kind, Party, Role

__all__ = ["KIND_LIMITS", "POLICIES", "ModelPolicy", "check_participants", "policy_for"]

A, C, B = Party.ADMINISTRATION, Party.CITIZEN, Party.BUSINESS


@dataclass(frozen=True, slots=True)
class ModelPolicy:
    """Defaults and limits of one conferencing model."""

    model: ConferencingModel
    parties: frozenset[Party]
    host_parties: frozenset[Party]
    lobby_for: frozenset[Party]
    identity: str
    recording_default: bool

    def as_dict(self, kind: Kind) -> dict[str, object]:
        return {
            "parties": sorted(self.parties),
            "host_parties": sorted(self.host_parties),
            "lobby_for": sorted(self.lobby_for),
            "identity": self.identity,
            "recording": self.recording_default or kind is Kind.COUNCIL_SESSION,
            "max_participants": KIND_LIMITS[kind],
        }


POLICIES: dict[ConferencingModel, ModelPolicy] = {
    ConferencingModel.A2A: ModelPolicy(
        ConferencingModel.A2A, frozenset({A}), frozenset({A}), frozenset(), "staff", False
    ),
    ConferencingModel.A2C: ModelPolicy(
        ConferencingModel.A2C, frozenset({A, C}), frozenset({A}), frozenset({C}), "link", False
    ),
    ConferencingModel.C2A: ModelPolicy(
        ConferencingModel.C2A, frozenset({A, C}), frozenset({A}), frozenset({C}), "link", False
    ),
    ConferencingModel.A2B: ModelPolicy(
        ConferencingModel.A2B, frozenset({A, B}), frozenset({A}), frozenset({B}), "link", False
    ),
    ConferencingModel.B2A: ModelPolicy(
        ConferencingModel.B2A, frozenset({A, B}), frozenset({A}), frozenset({B}), "link", False
    ),
}

#: Most participants (not counting removed ones) a room of each kind may have.
KIND_LIMITS: dict[Kind, int] = {
    Kind.CONSULTATION: 8,
    Kind.MEETING: 100,
    Kind.COUNCIL_SESSION: 300,
}


def policy_for(model: ConferencingModel) -> ModelPolicy:
    return POLICIES[model]


def check_participants(
    kind: Kind,
    model: ConferencingModel,
    participants: Iterable[tuple[str, Role, Party]],
    already: int = 0,
) -> list[FieldError]:
    """Return every way these (pointer, role, party) entries break the policy.

    *already* counts participants the room has before these are added.
    """
    policy = POLICIES[model]
    errors: list[FieldError] = []
    count = already
    for pointer, role, party in participants:
        count += 1
        if party not in policy.parties:
            allowed = ", ".join(sorted(policy.parties))
            errors.append(
                FieldError(f"{pointer}/party", f"model {model} admits only: {allowed}")
            )
        elif role is Role.HOST and party not in policy.host_parties:
            allowed = ", ".join(sorted(policy.host_parties))
            errors.append(FieldError(f"{pointer}/role", f"in {model} only {allowed} may host"))
    limit = KIND_LIMITS[kind]
    if count > limit:
        errors.append(
            FieldError("/participants", f"a {kind} room has at most {limit} participants")
        )
    return errors
