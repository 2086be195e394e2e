"""A small workflow for the seam's tests: in consultations, citizens wait until a host lets them in.

It is what a workflow package (telemed, council) does through `signalling.workflow`:
an admission decision, reactions to joins and leaves, and a message of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from rooms.model import Kind, Participant, Party, Room
from signalling.errors import Forbidden, NotJoined
from signalling.live_room import LiveRoom
from signalling.member import Member, ParticipantState
from signalling.messages import Message, Text, message
from signalling.workflow import WorkflowHandler


@message("let_in", reply="`{ok}`")
@dataclass(frozen=True, slots=True)
class LetIn(Message):
    """(tests only) A host lets a waiting participant into the call."""

    participant_id: Annotated[str, Text(64, "a participant id")]


class Reception:
    """Consultations only: citizens wait; a host lets them in; joins and leaves are announced."""

    def claims(self, room: Room) -> bool:
        return room.kind is Kind.CONSULTATION

    def admission(self, room: Room, participant: Participant) -> ParticipantState:
        return ParticipantState.WAITING if participant.party is Party.CITIZEN else ParticipantState.IN_CALL

    async def joined(self, live: LiveRoom, member: Member) -> None:
        await live.broadcast("reception", {"joined": member.id})

    async def left(self, live: LiveRoom, member: Member, reason: str) -> None:
        await live.broadcast("reception", {"left": member.id, "reason": reason})

    async def updated(self, live: LiveRoom, member: Member) -> None:
        return None

    @property
    def handlers(self) -> Mapping[type[Message], WorkflowHandler]:
        return {LetIn: self._let_in}

    async def _let_in(self, live: LiveRoom, sender: Member | None, message: Any) -> dict[str, Any]:
        if sender is not None and not sender.permissions.moderate:
            raise Forbidden("only a host may let people in")
        waiting = live.member(message.participant_id)
        if waiting is None:
            raise NotJoined("nobody with this id is here")
        await live.change_state(waiting, ParticipantState.IN_CALL)
        return {}
