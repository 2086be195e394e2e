"""The seam for workflow packages (telemedicine, council sessions): what a workflow may decide.

A live room knows nothing of consultations or councils. A `Workflow` decides, for
the rooms it claims (`claims`):

- admission: where an arriving participant goes (`ParticipantState.IN_CALL`, or
  `WAITING` for a lobby);
- reactions to a member joining and leaving the room, and to their state or connection changing;
- its own room messages: message classes declared with `signalling.messages.message`
  and one handler each (`handlers`), dispatched by the live room like its own.

`konsylium/app.py` wires the workflows (the composition root imports ``telemed``
and ``council``; ``signalling`` never does). Media worker processes get the same
workflows by name (`load_workflows`). The first workflow that claims a room is the
room's; `Meeting`, the plain meeting of today, claims every room and comes last.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from rooms.model import Participant, Role, Room
from rooms.policy import policy_for
from signalling.member import Member, ParticipantState
from signalling.messages import Message

if TYPE_CHECKING:
    from signalling.live_room import LiveRoom

__all__ = ["Meeting", "Workflow", "WorkflowHandler", "Workflows", "load_workflows", "workflow_path"]

#: A workflow's handler of one of its messages: (the live room, the sender or None for the API, the message).
WorkflowHandler = Callable[["LiveRoom", Member | None, Any], Awaitable[dict[str, Any]]]


class Workflow(Protocol):
    """What a workflow package decides for the rooms it claims."""

    def claims(self, room: Room) -> bool:
        """True when this workflow runs *room* (e.g. by its kind)."""

    def admission(self, room: Room, participant: Participant) -> ParticipantState:
        """Where *participant* goes on arrival: ``IN_CALL`` or ``WAITING`` (the lobby)."""

    async def joined(self, live: LiveRoom, member: Member) -> None:
        """React to *member* arriving (after admission); resumed members do not count."""

    async def left(self, live: LiveRoom, member: Member, reason: str) -> None:
        """React to *member* leaving for good, with the reason clients are told."""

    async def updated(self, live: LiveRoom, member: Member) -> None:
        """React to *member*'s state or connection changing while present: let in from the lobby, put on
        hold or back, sent back to the lobby, their socket lost (`Member.reconnecting`) or back."""

    @property
    def handlers(self) -> Mapping[type[Message], WorkflowHandler]:
        """The handlers of this workflow's own messages."""


class Meeting:
    """The plain meeting: the model's policy says who waits in the lobby (citizens in A2C and C2A,
    businesses in A2B and B2A; never a host); no messages of its own."""

    def claims(self, room: Room) -> bool:
        return True

    def admission(self, room: Room, participant: Participant) -> ParticipantState:
        waits = participant.party in policy_for(room.model).lobby_for and participant.role is not Role.HOST
        return ParticipantState.WAITING if waits else ParticipantState.IN_CALL

    async def joined(self, live: LiveRoom, member: Member) -> None:
        return None

    async def left(self, live: LiveRoom, member: Member, reason: str) -> None:
        return None

    async def updated(self, live: LiveRoom, member: Member) -> None:
        return None

    @property
    def handlers(self) -> Mapping[type[Message], WorkflowHandler]:
        return {}


class Workflows:
    """The node's workflows in order; `Meeting` is appended as the one that claims what is left."""

    def __init__(self, workflows: Sequence[Workflow] = ()) -> None:
        self.all: tuple[Workflow, ...] = (*workflows, Meeting())
        self._handlers: dict[type[Message], WorkflowHandler] = {}
        for workflow in self.all:
            for cls, handler in workflow.handlers.items():
                if cls in self._handlers:
                    raise ValueError(f"message {cls.name!r} has handlers in two workflows")
                self._handlers[cls] = handler

    def of(self, room: Room) -> Workflow:
        """The workflow that runs *room*."""
        return next(w for w in self.all if w.claims(room))

    def handler(self, cls: type[Message]) -> WorkflowHandler | None:
        return self._handlers.get(cls)


def workflow_path(workflow: Workflow) -> str:
    """``module:Class`` of a workflow, for a media worker to build the same one (`load_workflows`)."""
    cls = type(workflow)
    return f"{cls.__module__}:{cls.__qualname__}"


def load_workflows(paths: Sequence[str]) -> Workflows:
    """Build workflows from ``module:Class`` names (their modules also declare their messages)."""
    loaded: list[Workflow] = []
    for path in paths:
        module, _, name = path.partition(":")
        factory = getattr(importlib.import_module(module), name)
        loaded.append(factory())
    return Workflows(loaded)
