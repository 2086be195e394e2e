"""Domain types validate themselves; the policy table is enforced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rooms.errors import ValidationFailed
from rooms.model import ConferencingModel, Kind, Participant, Party, Role, Room
from rooms.policy import KIND_LIMITS, POLICIES, check_participants

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_room_refuses_bad_values() -> None:
    with pytest.raises(ValidationFailed) as caught:
        Room("r", "t", " ", Kind.MEETING, ConferencingModel.A2A, T0, T0, None, T0, T0)
    assert [e.pointer for e in caught.value.errors] == ["/title", "/ends_at"]
    with pytest.raises(ValidationFailed):
        Room("r", "t", "x", Kind.MEETING, ConferencingModel.A2A, T0.replace(tzinfo=None),
             T0 + timedelta(hours=1), None, T0, T0)
    with pytest.raises(ValidationFailed):
        Room("r", "t", "x", Kind.MEETING, ConferencingModel.A2A, T0, T0 + timedelta(hours=25),
             None, T0, T0)


def test_participant_refuses_control_characters() -> None:
    with pytest.raises(ValidationFailed):
        Participant("p", "r", "Jan\x00", Role.MEMBER, Party.CITIZEN, "j", T0)


def test_roles() -> None:
    assert Role.HOST.may_publish and Role.HOST.may_moderate
    assert Role.MEMBER.may_publish and not Role.MEMBER.may_moderate
    assert not Role.VIEWER.may_publish


@pytest.mark.parametrize("model", list(ConferencingModel))
def test_policy_table_covers_every_model(model: ConferencingModel) -> None:
    policy = POLICIES[model]
    assert Party.ADMINISTRATION in policy.parties
    assert policy.host_parties <= policy.parties
    sides = {"A": Party.ADMINISTRATION, "C": Party.CITIZEN, "B": Party.BUSINESS}
    assert policy.parties == {sides[model.value[0]], sides[model.value[2]]}


def test_only_administration_hosts_and_limits_hold() -> None:
    errors = check_participants(
        Kind.CONSULTATION, ConferencingModel.B2A,
        [("/p/0", Role.HOST, Party.BUSINESS), ("/p/1", Role.MEMBER, Party.CITIZEN)],
    )
    assert [e.pointer for e in errors] == ["/p/0/role", "/p/1/party"]
    many = [("/p", Role.VIEWER, Party.ADMINISTRATION)] * (KIND_LIMITS[Kind.MEETING] + 1)
    assert [e.pointer for e in check_participants(Kind.MEETING, ConferencingModel.A2A, many)] == [
        "/participants"]
