"""Live rooms: who is connected, what they publish and receive, and what they may do.

This is the one place for participant state and permissions during a call;
the Socket.IO and WHIP/WHEP edges call into it and it tells clients what
changed through a `Notifier`. What participants ask of the room arrives as
messages (`signalling.messages`), each dispatched by `LiveRoom.deliver` to the
one method marked `@handles(ThatMessage)`: a new room action is a message class
and a handler here.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from rooms.clock import Clock
from rooms.events import API, SYSTEM, EventSink, NoEvents, RoomEvent, Scalar
from rooms.model import Participant, Role, Room
from rooms.revocation import Revocation, RevocationReason
from sfu import (
    ActiveSpeakerDetector,
    MediaKind,
    NoCandidates,
    PublishedTrack,
    Publisher,
    Sfu,
    Subscriber,
    UnknownTrack,
)
from signalling.admission import Admission
from signalling.background import BackgroundTasks
from signalling.chat import ChatLog, ChatRate
from signalling.errors import (
    BadRequest,
    ChatRateLimited,
    Denied,
    Forbidden,
    NegotiationInProgress,
    NoOfferPending,
    NotJoined,
    NotWaiting,
    RecordingConsentMissing,
    ScreenInUse,
    ServerBusy,
    UnknownChatMessage,
)
from signalling.front_calls import FrontCalls, LocalFrontCalls
from signalling.hands import HandQueue
from signalling.host_decisions import HostDecisions, NoDecisions
from signalling.member import Member, ParticipantState
from signalling.messages import (
    Admit,
    AdmitAll,
    AskUnmute,
    ChatRemove,
    ChatSend,
    CreateInvite,
    Deny,
    EndMeeting,
    Leave,
    LiveView,
    Lock,
    LowerHand,
    Message,
    Mute,
    MuteParticipant,
    Publish,
    RaiseHand,
    RecordingConsent,
    RecordingView,
    RemoveParticipant,
    RevokeInvite,
    Sender,
    SetRole,
    StartRecording,
    StopRecording,
    SubscriberAnswer,
    Unlock,
    Unpublish,
    handler_table,
    handles,
)
from signalling.recording import RecordingGate
from signalling.workflow import Workflows

__all__ = [
    "HANDLERS",
    "ICE_DEADLINE",
    "RECONNECT_GRACE",
    "LiveRoom",
    "LiveRooms",
    "Member",
    "Notifier",
    "PresenceSink",
]

log = logging.getLogger(__name__)
#: Events that are a host's (or the integrator's) decision: they name who decided (``by``).
DECISIONS = frozenset({"lobby.admitted", "lobby.denied", "participant.muted_by_host"})
RECONNECT_GRACE = 30.0
#: Seconds a new media connection has to connect before it is closed and freed (idle ICE).
ICE_DEADLINE = 30.0


class PresenceSink(Protocol):
    """Where live rooms report who is connected and publishing (see rooms.presence)."""

    async def joined(self, room_id: str, participant_id: str, at: datetime) -> None: ...

    async def publishing(self, room_id: str, participant_id: str, kinds: frozenset[str]) -> None:
        ...

    async def left(self, room_id: str, participant_id: str) -> None: ...


class Notifier(Protocol):
    """How rooms reach their clients' sockets (Socket.IO, directly or through a worker link)."""

    async def to_sid(self, sid: str, event: str, data: Any) -> None: ...

    async def to_room(self, room_id: str, event: str, data: Any, *, skip_sid: str | None = None) -> None:
        ...

    async def drop(self, sid: str, code: str, message: str, event: str = "connect",
                   details: dict[str, Any] | None = None) -> None:
        """Tell socket *sid* why (an ``error`` for *event*, with *details* beside code and message),
        then disconnect it (it no longer stands for its member)."""

    async def enter_call(self, sid: str, room_id: str) -> None:
        """Let socket *sid* hear what is said to the room's call (`to_room`); waiting sockets do not."""

    async def leave_call(self, sid: str, room_id: str) -> None:
        """Stop socket *sid* hearing the call (sent back to the lobby)."""

    async def reset_room(self, room_id: str) -> None:
        """Disconnect every socket of the room, so that its clients reconnect afresh."""


class LiveRoom:
    """One room in progress on this node: its members and the media between them."""

    def __init__(self, rooms: LiveRooms, room: Room) -> None:
        self.id = room.id
        self.room = room
        self._rooms = rooms
        self.members: dict[str, Member] = {}
        self.workflow = rooms.workflows.of(room)
        self.locked = False
        self.started = False  # room.started told (the first arrival in this live room)
        self.denied: set[str] = set()  # turned away by a host: refused while the room is live
        self.speakers = ActiveSpeakerDetector()
        self.speakers.on_change.connect(self._speaker_changed)
        self._publisher_owner: dict[str, Member] = {}
        self.chat = ChatLog()  # the room's chat, for its life (signalling/chat.py)
        self.chat_rate = ChatRate()
        self.hands = HandQueue()  # raised hands, in order (signalling/hands.py)
        self.recording = RecordingGate()  # who agreed to be recorded; whether recording is on

    # -- queries -------------------------------------------------------------

    @property
    def rooms(self) -> LiveRooms:
        """The node's live rooms: their clock, tasks and front calls (for the room's workflow)."""
        return self._rooms

    def member(self, participant_id: str) -> Member | None:
        return self.members.get(participant_id)

    def others(self, member: Member) -> list[Member]:
        return [m for m in self.members.values() if m is not member]

    def live_tracks(self, exclude: Member | None = None) -> list[PublishedTrack]:
        tracks = []
        for m in self.members.values():
            if m is exclude or m.publisher is None or m.publisher.closed:
                continue
            tracks += [t for t in m.publisher.tracks if t.live and not t.ended]
        return tracks

    def owner_of(self, track: PublishedTrack) -> Member | None:
        return self._publisher_owner.get(track.publisher_id)

    def room_view(self) -> dict[str, Any]:
        r = self.room
        return {
            "id": r.id, "title": r.title, "kind": r.kind.value, "model": r.model.value,
            "starts_at": r.starts_at.isoformat(), "ends_at": r.ends_at.isoformat(),
            "locked": self.locked,
        }

    async def _tell(self, member: Member, event: str, data: Any) -> None:
        if member.sid is not None:
            await self._rooms.notifier.to_sid(member.sid, event, data)

    async def tell(self, member: Member, event: str, data: Any) -> None:
        """Send *event* to *member*'s socket alone (none while they reconnect)."""
        await self._tell(member, event, data)

    async def broadcast(self, event: str, data: Any, *, skip: Member | None = None) -> None:
        """Send *event* to every socket of the room (but *skip*'s)."""
        await self._rooms.notifier.to_room(self.id, event, data,
                                           skip_sid=None if skip is None else skip.sid)

    def welcome(self, member: Member, resumed: bool) -> dict[str, Any]:
        """The ``welcome`` (or ``admitted``) event of *member*: a waiting member learns nothing of
        the call; a host also gets the lobby (docs/protocol.md)."""
        waiting = member.state is ParticipantState.WAITING
        out = {"you": member.view(), "room": self.room_view(), "resumed": resumed,
               "participants": [] if waiting else [m.view() for m in self.in_call(member)],
               "active_speaker": None if waiting else self._speaker_id(self.speakers.speaker)}
        if waiting:
            out["hosts_present"] = self.hosts_present()
        else:  # the call's chat so far and its raised hands (a late joiner, an admitted person, a reconnect)
            out["chat"] = self.chat.history()
            out["hands"] = self.hands.view()
            out["recording"] = self.recording.view(self._present_ids())
        if member.permissions.moderate:
            out["lobby"] = self.lobby()
        return out

    def in_call(self, member: Member | None = None) -> list[Member]:
        """The members the call knows (everyone but those waiting), but *member*."""
        return [m for m in self.members.values() if m is not member and m.state is not ParticipantState.WAITING]

    def lobby(self) -> dict[str, Any]:
        """The ``lobby`` event: who waits, in arrival order."""
        return {"waiting": [{"id": m.id, "name": m.participant.display_name, "party": m.participant.party.value,
                             "since": m.since.isoformat(), "invited": m.participant.invited}
                            for m in self.members.values() if m.state is ParticipantState.WAITING]}

    def hosts_present(self) -> bool:
        """Whether a host is in the call now (a waiting person is told: "the host has not arrived yet")."""
        return any(m.permissions.moderate and m.state is ParticipantState.IN_CALL for m in self.members.values())

    async def _lobby_changed(self) -> None:
        """Tell the hosts who waits, and those who wait whether a host is there to let them in."""
        present = self.hosts_present()
        for member in self.members.values():
            if member.permissions.moderate:
                await self._tell(member, "lobby", self.lobby())
            elif member.state is ParticipantState.WAITING:
                await self._tell(member, "lobby_status", {"hosts_present": present})

    async def _announce(self, member: Member, event: str, data: Any) -> None:
        """Tell the call about *member*; about a waiting member, only the hosts (their lobby)."""
        if member.state is ParticipantState.WAITING:
            await self._lobby_changed()
        else:
            await self.broadcast(event, data, skip=member)

    # -- messages -------------------------------------------------------------

    async def deliver(self, member: Member | None, message: Message) -> dict[str, Any]:
        """Run *message* from *member* (None: the integrator, through the API); return the ack's fields."""
        sender = Sender.PARTICIPANT if member is not None else Sender.API
        if sender not in message.senders:
            raise Forbidden(f"'{message.name}' cannot be sent by the {sender.value}")
        handler = HANDLERS.get(type(message)) or self.workflow.handlers.get(type(message))
        if handler is None:  # another workflow's message: not available in this kind of room
            raise BadRequest(f"'{message.name}' is not available in this room")
        result: dict[str, Any] = await handler(self, member, message)
        return result

    @handles(Publish)
    async def _on_publish(self, member: Member, message: Publish) -> dict[str, Any]:
        return {"sdp": await self.publish(member, message.sdp, screen=message.screen)}

    @handles(Unpublish)
    async def _on_unpublish(self, member: Member, message: Unpublish) -> dict[str, Any]:
        await self.unpublish(member)
        return {}

    @handles(SubscriberAnswer)
    async def _on_subscriber_answer(self, member: Member, message: SubscriberAnswer) -> dict[str, Any]:
        await self.subscriber_answered(member, message.sdp)
        return {}

    @handles(Mute)
    async def _on_mute(self, member: Member, message: Mute) -> dict[str, Any]:
        if not message.muted and message.kind in member.host_muted:  # muted by a host: they decide
            member.host_muted.discard(message.kind)
            self._hold_media(member)
            log.info("host mute lifted by the participant room=%s participant=%s kind=%s", self.id, member.id,
                     message.kind)
        await self.set_muted(member, message.kind, message.muted)
        return {}

    @handles(Leave)
    async def _on_leave(self, member: Member, message: Leave) -> dict[str, Any]:
        await self.depart(member, "left")
        return {}

    # -- the lobby (hosts, or the integrator through the API) -----------------

    def _moderator(self, sender: Member | None) -> None:
        if sender is not None and not sender.permissions.moderate:
            raise Forbidden("only a host may do this")

    def _waiting(self, participant_id: str) -> Member:
        member = self.members.get(participant_id)
        if member is None or member.state is not ParticipantState.WAITING:
            raise NotWaiting("that participant is not waiting in the lobby")
        return member

    async def _let_in(self, member: Member, sender: Member | None, identity_confirmed: bool = False) -> None:
        """Move a waiting member into the call, a host's (*sender*'s, or the API's) decision: they get
        ``admitted``, the call ``participant_joined``. *identity_confirmed*: the host says they checked who
        it is (a consultation's admit), kept in the ``lobby.admitted`` event."""
        await self._event("lobby.admitted", member, sender,
                          data={"identity_confirmed": True} if identity_confirmed else None)
        await self._event("participant.joined", member, data={"role": member.role.value})
        member.state = ParticipantState.IN_CALL
        if member.sid is not None:
            await self._rooms.notifier.enter_call(member.sid, self.id)
        await self._tell(member, "admitted", self.welcome(member, resumed=False))
        await self.broadcast("participant_joined", member.view(), skip=member)
        log.info("participant admitted room=%s participant=%s", self.id, member.id)
        await self._recording_follow()
        await self.renegotiate(member)
        await self.workflow.updated(self, member)

    @handles(Admit)
    async def _on_admit(self, sender: Member | None, message: Admit) -> dict[str, Any]:
        self._moderator(sender)
        if message.participant_id in self.denied and message.participant_id not in self.members:
            self.denied.discard(message.participant_id)  # re-admitted: their link works again
            return {}
        await self._let_in(self._waiting(message.participant_id), sender, bool(message.identity_confirmed))
        await self._lobby_changed()
        return {}

    @handles(AdmitAll)
    async def _on_admit_all(self, sender: Member | None, message: AdmitAll) -> dict[str, Any]:
        self._moderator(sender)
        for member in [m for m in self.members.values() if m.state is ParticipantState.WAITING]:
            await self._let_in(member, sender)
        await self._lobby_changed()
        return {}

    @handles(Deny)
    async def _on_deny(self, sender: Member | None, message: Deny) -> dict[str, Any]:
        self._moderator(sender)
        member = self._waiting(message.participant_id)
        self.denied.add(member.id)
        await self._event("lobby.denied", member, sender)
        if member.sid is not None:  # host_message: the host's own words, or null (the page words it then)
            await self._rooms.notifier.drop(member.sid, Denied.code, message.message
                                            or "a host did not let you into this meeting", "session",
                                            {"host_message": message.message})
        log.info("participant denied room=%s participant=%s", self.id, member.id)
        await self.depart(member, "denied")
        return {}

    async def _event(self, kind: str, member: Member | None = None, sender: Member | None = None, *,
                     by: str | None = None, data: dict[str, Scalar] | None = None) -> None:
        """Record what happened (rooms.events: the audit chain and the webhooks' outbox), about *member*,
        done by *sender* (a host; None with *by* unset: the API when a decision, nobody otherwise).
        A host's admit or deny is the identity confirmation of docs/policy.md (rooms.admissions)."""
        if by is None and kind in DECISIONS:
            by = API if sender is None else sender.id
        event = RoomEvent(kind, self.room.tenant, self.id, self._rooms.clock.now(),
                          None if member is None else member.id, by, data or {})
        try:
            await self._rooms.events.record_events([event])
        except Exception:  # what happened stands; the operator must learn that its record is missing
            log.exception("event not recorded room=%s type=%s participant=%s", self.id, kind, event.participant_id)

    async def record(self, kind: str, member: Member | None = None, sender: Member | None = None, *,
                     data: dict[str, Scalar] | None = None) -> None:
        """Record a room event of the room's workflow (a type it registered), as the room records its own."""
        await self._event(kind, member, sender, by=None if sender is None else sender.id, data=data)

    @handles(Lock)
    async def _on_lock(self, sender: Member | None, message: Lock) -> dict[str, Any]:
        return await self._set_locked(sender, True)

    @handles(Unlock)
    async def _on_unlock(self, sender: Member | None, message: Unlock) -> dict[str, Any]:
        return await self._set_locked(sender, False)

    async def _set_locked(self, sender: Member | None, locked: bool) -> dict[str, Any]:
        self._moderator(sender)
        if self.locked != locked:
            self.locked = locked
            await self.broadcast("room_updated", {"locked": locked})
        return {}

    # -- host controls (hosts, or the integrator through the API) -------------

    def _present(self, participant_id: str) -> Member:
        member = self.members.get(participant_id)
        if member is None:
            raise NotJoined("that participant is not in the room now")
        return member

    def _hold_media(self, member: Member) -> None:
        """Let the SFU forward only the kinds no host muted of what *member* publishes, and nothing at all
        either way while they are on hold (`ParticipantState.ON_HOLD`: their connections stay open)."""
        held = member.state is ParticipantState.ON_HOLD
        if member.publisher is not None:
            for track in member.publisher.tracks:
                track.paused = held or track.kind.value in member.host_muted
        subscriber = member.negotiation.open
        if subscriber is not None:
            subscriber.paused = held

    @handles(MuteParticipant)
    async def _on_mute_participant(self, sender: Member | None, message: MuteParticipant) -> dict[str, Any]:
        self._moderator(sender)
        member = self._present(message.participant_id)
        member.host_muted.add(message.kind)
        self._hold_media(member)  # the SFU stops forwarding it now, whatever the client does
        await self._event("participant.muted_by_host", member, sender, data={"kind": message.kind})
        log.info("participant muted by host room=%s participant=%s kind=%s", self.id, member.id, message.kind)
        await self._tell(member, "muted_by_host", {"kind": message.kind})
        await self.set_muted(member, message.kind, True)
        return {}

    @handles(AskUnmute)
    async def _on_ask_unmute(self, sender: Member, message: AskUnmute) -> dict[str, Any]:
        self._moderator(sender)
        member = self._present(message.participant_id)
        await self._tell(member, "unmute_requested", {"kind": message.kind})
        return {}

    @handles(SetRole)
    async def _on_set_role(self, sender: Member | None, message: SetRole) -> dict[str, Any]:
        """Change a member's role for this call; their rights follow at once (the booking is unchanged)."""
        self._moderator(sender)
        member = self._present(message.participant_id)
        if member.role is Role.HOST:
            raise Forbidden("a host's role cannot be changed during the call")
        role = Role(message.role)
        if member.role is role:
            return {}
        member.role_override = None if role is member.participant.role else role
        log.info("participant role room=%s participant=%s role=%s", self.id, member.id, role.value)
        if member.state is ParticipantState.WAITING:  # the call does not know them yet: it learns on admission
            await self._tell(member, "participant_updated", member.view())
            return {}
        await self._rights_changed(member)
        return {}

    # -- chat and raised hands -------------------------------------------------

    def _talker(self, member: Member) -> None:
        if not member.permissions.talk:
            raise Forbidden(f"a participant who is {member.state.value} may not do this")

    @handles(ChatSend)
    async def _on_chat_send(self, member: Member, message: ChatSend) -> dict[str, Any]:
        """Keep and broadcast a chat message (its text is never logged: ids only)."""
        self._talker(member)
        now = self._rooms.clock.now()
        wait = self.chat_rate.wait(member.id, now)
        if wait:
            raise ChatRateLimited(f"at most {self.chat_rate.count} chat messages per "
                                  f"{self.chat_rate.window.total_seconds():.0f} s; try again in {math.ceil(wait)} s")
        self.chat_rate.spend(member.id, now)
        sent = self.chat.add(member.id, message.text, now)
        log.info("chat message room=%s participant=%s id=%s", self.id, member.id, sent.id)
        await self.broadcast("chat_message", sent.view())
        return {"id": sent.id}

    @handles(ChatRemove)
    async def _on_chat_remove(self, sender: Member, message: ChatRemove) -> dict[str, Any]:
        self._moderator(sender)
        if not self.chat.remove(message.message_id):
            raise UnknownChatMessage("this room keeps no chat message with that id")
        log.info("chat message removed room=%s by=%s id=%s", self.id, sender.id, message.message_id)
        await self.broadcast("chat_removed", {"id": message.message_id})
        return {}

    @handles(RaiseHand)
    async def _on_raise_hand(self, member: Member, message: RaiseHand) -> dict[str, Any]:
        self._talker(member)
        now = self._rooms.clock.now()
        if self.hands.raise_hand(member.id, now):
            member.hand_raised_at = now
            await self._hands_changed(member)
        return {}

    @handles(LowerHand)
    async def _on_lower_hand(self, sender: Member, message: LowerHand) -> dict[str, Any]:
        target = sender
        if message.participant_id is not None and message.participant_id != sender.id:
            self._moderator(sender)
            target = self._present(message.participant_id)
        await self._lower_hand(target)
        return {}

    async def _lower_hand(self, member: Member) -> None:
        if self.hands.lower(member.id):
            member.hand_raised_at = None
            await self._hands_changed(member)

    async def _hands_changed(self, member: Member) -> None:
        """The queue changed by *member*'s hand: the call gets ``hands``, the others the member's view."""
        log.info("hand room=%s participant=%s raised=%s", self.id, member.id, member.hand_raised_at is not None)
        await self.broadcast("participant_updated", member.view(), skip=member)
        await self.broadcast("hands", self.hands.view())

    @handles(RemoveParticipant)
    async def _on_remove_participant(self, sender: Member, message: RemoveParticipant) -> dict[str, Any]:
        """Remove someone for good, through the booking service as the API's ``DELETE`` does: it records
        the removal and revokes their sessions on every surface (signalling/host_decisions.py)."""
        self._moderator(sender)
        member = self._present(message.participant_id)
        if member is sender:
            raise Forbidden("you cannot remove yourself: leave the meeting instead")
        if member.participant.role is Role.HOST:
            raise Forbidden("a host cannot be removed from the call")
        log.info("participant removal by a host room=%s participant=%s host=%s", self.id, member.id, sender.id)
        await self._rooms.decisions.remove_participant(self.room.tenant, self.id, member.id, sender.id)
        return {}

    @handles(EndMeeting)
    async def _on_end_meeting(self, sender: Member, message: EndMeeting) -> dict[str, Any]:
        """End the meeting for everyone, through the booking service as the API's ``POST …/end`` does."""
        self._moderator(sender)
        log.info("meeting end by a host room=%s host=%s", self.id, sender.id)
        await self._rooms.decisions.end_meeting(self.room.tenant, self.id, sender.id)
        return {}

    @handles(LiveView)
    async def _on_live_view(self, sender: None, message: LiveView) -> dict[str, Any]:
        """Who is here and in which state, for the integrator (``GET …/live``)."""
        def api_view(m: Member) -> dict[str, Any]:  # the API's names: display_name; state says reconnecting
            shown = {k: v for k, v in m.view().items() if k not in ("name", "connection")}
            return {**shown, "display_name": m.participant.display_name, "connected_at": m.since.isoformat()}

        return {"participants": [api_view(m) for m in self.members.values()], "locked": self.locked}

    # -- guest invites (rooms/guest_invites.py: made and revoked by the booking side) ---------------

    @handles(CreateInvite)
    async def _on_create_invite(self, sender: Member, message: CreateInvite) -> dict[str, Any]:
        """Make a one-time guest invite through the node's booking side (signalling/host_decisions.py)."""
        self._moderator(sender)
        invite = await self._rooms.decisions.create_invite(self.room.tenant, self.id, message.purpose,
                                                           message.expires_in_minutes, sender.id)
        return {"invite": invite}

    @handles(RevokeInvite)
    async def _on_revoke_invite(self, sender: Member, message: RevokeInvite) -> dict[str, Any]:
        self._moderator(sender)
        await self._rooms.decisions.revoke_invite(self.room.tenant, self.id, message.invite_id, sender.id)
        return {}

    # -- the recording-consent gate (signalling/recording.py) ------------------

    def _present_ids(self) -> list[str]:
        """Who is present in the call (everyone but those waiting): whose agreement recording needs."""
        return [m.id for m in self.in_call()]

    async def _recording_follow(self, *, tell: bool = False) -> None:
        """Pause recording while someone present has not agreed, resume it once everyone has; tell the call
        the gate's state when it is recording (or when *tell*)."""
        gate = self.recording
        present = self._present_ids()
        missing = gate.missing(present)
        if gate.active and missing and not gate.paused:
            gate.paused = True
            await self._event("recording.paused", by=SYSTEM, data={"missing": len(missing)})
            log.info("recording paused room=%s missing=%s", self.id, ",".join(missing))
            await self._ask_consent(missing)
        elif gate.active and not missing and gate.paused:
            gate.paused = False
            await self._event("recording.resumed", by=SYSTEM)
            log.info("recording resumed room=%s", self.id)
        if gate.active or tell:
            await self.broadcast("recording", gate.view(present))

    async def _ask_consent(self, participant_ids: list[str]) -> None:
        for pid in participant_ids:
            member = self.members.get(pid)
            if member is not None:
                await self._tell(member, "recording_consent_requested", {})

    @handles(RecordingConsent)
    async def _on_recording_consent(self, member: Member, message: RecordingConsent) -> dict[str, Any]:
        """Keep someone's answer (recorded when it changes) and let the gate follow it."""
        if self.recording.answer(member.id, message.granted, self._rooms.clock.now()):
            await self._event("recording.consent", member, data={"granted": message.granted})
            log.info("recording consent room=%s participant=%s granted=%s", self.id, member.id, message.granted)
        await self._recording_follow(tell=True)
        return {}

    @handles(StartRecording)
    async def _on_start_recording(self, sender: Member | None, message: StartRecording) -> dict[str, Any]:
        """Start recording once everyone present agreed; otherwise refuse, naming who (ids) and asking them."""
        self._moderator(sender)
        present = self._present_ids()
        if not self.recording.active:
            if not present:
                raise RecordingConsentMissing("nobody is in the call to agree")
            missing = self.recording.missing(present)
            if missing:
                await self._ask_consent(missing)
                await self.broadcast("recording", self.recording.view(present))  # the call learns who
                raise RecordingConsentMissing(f"{len(missing)} of {len(present)} participants in the call have "
                                              f"not agreed to be recorded: {', '.join(missing)}")
            self.recording.start(self._rooms.clock.now())
            await self._event("recording.started", by=API if sender is None else sender.id)
            log.info("recording started room=%s by=%s", self.id, API if sender is None else sender.id)
            await self.broadcast("recording", self.recording.view(present))
        return {"recording": self.recording.view(present)}

    @handles(StopRecording)
    async def _on_stop_recording(self, sender: Member | None, message: StopRecording) -> dict[str, Any]:
        self._moderator(sender)
        if self.recording.active:
            self.recording.stop()
            by = API if sender is None else sender.id
            await self._event("recording.stopped", by=by, data={"reason": "stopped"})
            log.info("recording stopped room=%s by=%s", self.id, by)
            await self.broadcast("recording", self.recording.view(self._present_ids()))
        return {}

    @handles(RecordingView)
    async def _on_recording_view(self, sender: None, message: RecordingView) -> dict[str, Any]:
        """The gate for the integrator (``GET …/recording``): its state and who answered what (ids)."""
        return {**self.recording.view(self._present_ids()), "consents": self.recording.consents_view()}

    # -- arrival and departure ----------------------------------------------

    async def arrive(self, participant: Participant, sid: str | None) -> tuple[Member, bool]:
        """Seat a participant (socket *sid*, or None for WHIP); return (member, resumed)."""
        existing = self.members.get(participant.id)
        if existing is not None:
            if existing.grace is not None:
                existing.grace.cancel()
                existing.grace = None
            old_sid = existing.sid
            existing.sid = sid if sid is not None else existing.sid
            if existing.state is ParticipantState.RECONNECTING:
                existing.state = ParticipantState.IN_CALL
            if old_sid is not None and sid is not None and old_sid != sid:
                await self._rooms.notifier.drop(
                    old_sid, "replaced", "this participant connected again from elsewhere"
                )
            if sid is not None:  # a new socket: the client makes new connections
                await self._drop_subscriber(existing)
                if existing.state is not ParticipantState.WAITING:
                    await self._rooms.notifier.enter_call(sid, self.id)
            await self._announce(existing, "participant_updated", existing.view())
            if existing.role is Role.HOST:
                await self._lobby_changed()  # those waiting learn a host is back
            log.info("participant resumed room=%s participant=%s", self.id, participant.id)
            await self.workflow.updated(self, existing)
            return existing, True
        if participant.id in self.denied:
            raise Denied("a host did not let you into this meeting")
        member = Member(participant, self.id, sid=sid, state=self._admission(participant),
                        since=self._rooms.clock.now())
        if not self.started:
            self.started = True
            await self._event("room.started")
        self.members[participant.id] = member
        if member.state is ParticipantState.WAITING:
            await self._event("lobby.waiting", member, data={"party": participant.party.value})
        else:
            await self._event("participant.joined", member, data={"role": member.role.value})
        if sid is not None and member.state is not ParticipantState.WAITING:
            await self._rooms.notifier.enter_call(sid, self.id)
        await self._rooms.presence.joined(self.id, participant.id, self._rooms.clock.now())
        await self._announce(member, "participant_joined", member.view())
        if member.role is Role.HOST:
            await self._lobby_changed()  # those waiting learn a host has arrived
        log.info("participant joined room=%s participant=%s state=%s", self.id, participant.id,
                 member.state.value)
        if member.state is not ParticipantState.WAITING:
            await self._recording_follow()
        await self.workflow.joined(self, member)
        return member, False

    def _admission(self, participant: Participant) -> ParticipantState:
        """Where an arrival goes: a locked room lets only hosts in, a guest of a one-time invite always waits
        for a host (whatever the model or the workflow); otherwise the workflow decides."""
        if (self.locked or participant.invited) and participant.role is not Role.HOST:
            return ParticipantState.WAITING
        return self.workflow.admission(self.room, participant)

    def may_watch(self, viewer: Participant) -> bool:
        """Whether *viewer* may pull media over WHEP: in the call, or one who would not wait."""
        member = self.members.get(viewer.id)
        if member is not None:
            return member.permissions.subscribe
        return viewer.id not in self.denied and self._admission(viewer) is not ParticipantState.WAITING

    def socket_lost(self, member: Member, sid: str) -> None:
        """Socket *sid* dropped: if it was the member's, keep their place RECONNECT_GRACE seconds."""
        if member.grace is not None or member.sid != sid:
            return
        member.sid = None
        if member.state not in (ParticipantState.WAITING, ParticipantState.ON_HOLD):  # they keep waiting, held
            member.state = ParticipantState.RECONNECTING
        loop = asyncio.get_running_loop()
        member.grace = loop.call_later(
            self._rooms.reconnect_grace,
            lambda: self._rooms.spawn(self.depart(member, "timeout")),
        )
        self._rooms.spawn(self._announce(member, "participant_updated", member.view()))
        if member.role is Role.HOST:
            self._rooms.spawn(self._lobby_changed())
        self._rooms.spawn(self.workflow.updated(self, member))

    async def depart(self, member: Member, reason: str) -> None:
        """Remove a member for good and free their media."""
        if self.members.get(member.id) is not member:
            return
        if member.grace is not None:
            member.grace.cancel()
            member.grace = None
        del self.members[member.id]
        waited = member.state is ParticipantState.WAITING
        member.state = ParticipantState.LEFT
        await self._close_media(member)
        await self._rooms.presence.left(self.id, member.id)
        self.chat_rate.forget(member.id)
        self.recording.forget(member.id)
        if self.hands.lower(member.id):  # a leaver's hand leaves the queue
            await self.broadcast("hands", self.hands.view())
        if waited or member.role is Role.HOST:
            await self._lobby_changed()
        if not waited:
            await self.broadcast("participant_left", {"id": member.id, "reason": reason})
        log.info("participant left room=%s participant=%s reason=%s", self.id, member.id, reason)
        await self._event("participant.left", member, data={"reason": reason, "from": "lobby" if waited else "call"})
        if not self.members and self.recording.active:  # nobody left to record
            self.recording.stop()
            await self._event("recording.stopped", by=SYSTEM, data={"reason": "room_empty"})
        elif not waited:
            await self._recording_follow()
        await self.workflow.left(self, member, reason)
        if not self.members:
            self._rooms.forget(self)

    async def _close_media(self, member: Member) -> None:
        await self._drop_subscriber(member)
        await self.unpublish(member)

    async def _drop_subscriber(self, member: Member) -> None:
        subscriber = member.negotiation.reset()
        if subscriber is not None:
            await subscriber.close()

    async def _subscriber_lost(self, member: Member, subscriber: Subscriber) -> None:
        """The subscribe connection failed under a seated member: offer a new one."""
        if member.subscriber is not subscriber or self.members.get(member.id) is not member:
            return  # closed on purpose, or replaced already
        member.negotiation.reset()
        log.info("subscribe connection lost room=%s participant=%s: offering a new one", self.id, member.id)
        await self.renegotiate(member)

    # -- publishing ------------------------------------------------------------

    def _sharer(self, besides: Member) -> Member | None:
        """Who else shares their screen now (one sharer per room at a time), if anyone."""
        return next((m for m in self.others(besides) if m.sharing), None)

    async def publish(self, member: Member, offer_sdp: str, screen: str | None = None) -> str:
        """Receive the member's media from an SDP offer; return the answer. *screen*: the mid of
        the offer's m-line whose video is a shared screen (docs/protocol.md, "Screen sharing")."""
        if not member.permissions.publish:
            raise Forbidden(f"a {member.role.value} who is {member.state.value} may not publish")
        if member.publishing_offer:
            raise NegotiationInProgress("wait for the answer to your previous publish offer")
        if screen is not None and self._sharer(member) is not None:
            raise ScreenInUse("someone else is sharing their screen: one at a time")
        self._rooms.admit()
        member.publishing_offer = True
        try:  # the new media first: a bad offer loses nothing of what the member sends now
            publisher_id = f"{member.id}.{next(self._rooms.serial)}"
            publisher = await self._rooms.sfu.create_publisher(offer_sdp, publisher_id=publisher_id,
                                                               screen_mid=screen)
        except UnknownTrack as exc:
            raise BadRequest(f"publish: 'screen' must be the mid of a video m-line the offer sends ({exc})") \
                from None
        finally:
            member.publishing_offer = False
        if self.members.get(member.id) is not member:  # left while we negotiated: nothing to keep
            await publisher.close()
            raise NotJoined("you left the room while the offer was answered")
        if screen is not None and self._sharer(member) is not None:  # another began while we negotiated
            await publisher.close()
            raise ScreenInUse("someone else is sharing their screen: one at a time")
        await self.unpublish(member, announce=False)
        self._rooms.expect_connection(publisher)
        member.publisher = publisher
        self._hold_media(member)  # a host's mute and a hold outlast a new publish connection
        self._publisher_owner[publisher.id] = member
        publisher.on_track.connect(lambda track: self._track_live(member, track))
        publisher.on_close.connect(lambda p: self._rooms.spawn(self._publisher_closed(member, p)))
        await self._announce_publishing(member)
        log.info("publishing room=%s participant=%s kinds=%s screen=%s", self.id, member.id,
                 ",".join(member.publishing), member.sharing)
        assert publisher.answer is not None
        return publisher.answer

    async def unpublish(self, member: Member, *, announce: bool = True) -> None:
        publisher, member.publisher = member.publisher, None
        if publisher is None:
            return
        await publisher.close()
        if announce:
            await self._announce_publishing(member)

    async def _announce_publishing(self, member: Member) -> None:
        await self._rooms.presence.publishing(self.id, member.id, frozenset(member.publishing))
        await self.broadcast("participant_updated", member.view(), skip=member)

    def _track_live(self, member: Member, track: PublishedTrack) -> None:
        if track.kind.value in member.host_muted or member.state is ParticipantState.ON_HOLD:
            track.paused = True
        if track.kind is MediaKind.AUDIO:
            self.speakers.watch(track)
        for other in self.others(member):
            subscriber = other.negotiation.open
            if subscriber is not None and other.permissions.subscribe:
                subscriber.add_track(track)
                self._rooms.spawn(self.renegotiate(other))
            elif other.sid is not None:
                self._rooms.spawn(self.renegotiate(other))

    async def _publisher_closed(self, member: Member, publisher: Publisher) -> None:
        self._publisher_owner.pop(publisher.id, None)
        for other in self.others(member):
            sub = other.negotiation.open
            if sub is None:
                continue
            for track in publisher.tracks:
                sub.remove_track(track)
            await self.renegotiate(other)
        if member.publisher is publisher:  # closed from below (connection lost)
            member.publisher = None
            if member.sid is None and member.state is not ParticipantState.RECONNECTING:
                await self.depart(member, "left")  # a WHIP-only member has nothing left
            else:
                await self._announce_publishing(member)

    # -- subscribing -------------------------------------------------------------

    async def renegotiate(self, member: Member) -> None:
        """Send the member a fresh subscriber offer with every live track of the others."""
        if member.sid is None or self.members.get(member.id) is not member:
            return
        if not member.permissions.subscribe or not member.negotiation.want():
            return
        tracks = self.live_tracks(exclude=member)
        subscriber = member.negotiation.open
        if subscriber is None:
            if not tracks:
                return
            try:
                self._rooms.admit()
            except ServerBusy as exc:
                await self._tell(member, "error", {"code": exc.code, "message": exc.detail,
                                                   "event": "subscriber_offer"})
                return
            created = self._rooms.sfu.create_subscriber(
                subscriber_id=f"{member.id}.{next(self._rooms.serial)}"
            )
            created.on_close.connect(lambda s: self._rooms.spawn(self._subscriber_lost(member, s)))
            member.negotiation.subscriber = subscriber = created
            self._rooms.expect_connection(created)
            self._hold_media(member)  # one on hold receives nothing on a new connection either
        for track in tracks:
            subscriber.add_track(track)
        member.negotiation.started()
        try:
            offer = await subscriber.create_offer()
        except NoCandidates as exc:  # out of sockets: say so; the next change offers again
            await self._drop_subscriber(member)
            await self._tell(member, "error", {"code": ServerBusy.code, "message": str(exc),
                                               "event": "subscriber_offer"})
            return
        mapping = []
        for forwarder in subscriber.forwarders:
            owner = self.owner_of(forwarder.source)
            if forwarder.mid is not None and owner is not None:
                mapping.append({"mid": forwarder.mid, "participant_id": owner.id,
                                "kind": forwarder.source.kind.value, "source": forwarder.source.source.value})
        await self._tell(member, "subscriber_offer",
                         {"sdp": offer, "tracks": mapping, "connection": subscriber.id})

    async def subscriber_answered(self, member: Member, answer_sdp: str) -> None:
        """Apply the client's answer; run a pending renegotiation if one was asked for."""
        negotiation = member.negotiation
        if negotiation.subscriber is None or not negotiation.in_flight:
            raise NoOfferPending("there is no subscriber offer waiting for an answer")
        try:
            await negotiation.subscriber.apply_answer(answer_sdp)
        except BaseException:  # a refused answer ends its round; a change folded into it is still offered
            if negotiation.answered():
                self._rooms.spawn(self.renegotiate(member))
            raise
        if negotiation.answered():
            await self.renegotiate(member)

    async def change_state(self, member: Member, state: ParticipantState) -> None:
        """Move a member to *state* (admitted from the lobby, put on hold, …): their media follows
        their permissions at once, they and the others are told (``participant_updated``)."""
        if member.state is state or self.members.get(member.id) is not member:
            return
        if state is ParticipantState.WAITING:
            await self._back_to_lobby(member)
        else:
            member.state = state
            log.info("participant state room=%s participant=%s state=%s", self.id, member.id, state.value)
            self._hold_media(member)  # on hold: nothing forwarded either way; back in the call: all again
            if state is ParticipantState.IN_CALL and member.sid is not None:
                await self._rooms.notifier.enter_call(member.sid, self.id)
            await self._rights_changed(member)
        await self.workflow.updated(self, member)

    async def _back_to_lobby(self, member: Member) -> None:
        """Send a member of the call back to the lobby, keeping their place (arrival order): their media
        closes, they stop hearing the call (``sent_to_lobby``, a waiting ``welcome``), the call sees them
        leave (``participant_left``, reason ``lobby``) and the hosts see them wait."""
        member.state = ParticipantState.WAITING
        log.info("participant back to the lobby room=%s participant=%s", self.id, member.id)
        if member.sid is not None:
            await self._rooms.notifier.leave_call(member.sid, self.id)
        await self._drop_subscriber(member)
        await self.unpublish(member, announce=False)  # the call is told they left, not what they publish
        await self._rooms.presence.publishing(self.id, member.id, frozenset())
        if self.hands.lower(member.id):
            member.hand_raised_at = None
            await self.broadcast("hands", self.hands.view())
        await self._event("lobby.waiting", member, data={"party": member.participant.party.value})
        await self._tell(member, "sent_to_lobby", self.welcome(member, resumed=False))
        await self.broadcast("participant_left", {"id": member.id, "reason": "lobby"})
        await self._lobby_changed()

    async def _rights_changed(self, member: Member) -> None:
        """*member*'s permissions changed (state, live role): their media follows at once, they and the
        others are told (``participant_updated``; about one waiting, only the hosts)."""
        if not member.permissions.publish:
            await self.unpublish(member)
        if not member.permissions.subscribe:
            await self._drop_subscriber(member)
        if not member.permissions.talk and self.hands.lower(member.id):  # out of the call: out of the queue
            member.hand_raised_at = None
            await self.broadcast("hands", self.hands.view())
        await self._tell(member, "participant_updated", member.view())
        await self.broadcast("participant_updated", member.view(), skip=member)
        await self.renegotiate(member)

    async def set_muted(self, member: Member, kind: str, muted: bool) -> None:
        if member.muted[kind] == muted:
            return  # nothing changed: nothing to tell the room
        member.muted[kind] = muted
        await self._announce(member, "participant_updated", member.view())

    async def revoke(self, revocation: Revocation) -> None:
        """Depart the members a revocation covers (their sockets are ended by the edge).

        A closed join window departs only members who are not in the call (waiting to
        reconnect): a call that runs over is not cut.
        """
        reason = revocation.reason
        for member in list(self.members.values()):
            if reason is RevocationReason.TOKEN_EXPIRED:
                covered = member.state is ParticipantState.RECONNECTING
            else:
                covered = revocation.whole_room or member.id == revocation.participant_id
            if covered:
                await self.depart(member, reason.value)

    def _speaker_id(self, source: str | None) -> str | None:
        owner = None if source is None else self._publisher_owner.get(source)  # keyed by publisher id
        return None if owner is None else owner.id

    def _speaker_changed(self, source: str | None) -> None:
        self._rooms.spawn(self.broadcast("active_speaker", {"id": self._speaker_id(source)}))

    async def close(self) -> None:
        for member in list(self.members.values()):
            if member.grace is not None:
                member.grace.cancel()
            await self._close_media(member)
        self.members.clear()


#: The handler of each core message type (every one has one: checked at import).
HANDLERS = handler_table(LiveRoom)


class LiveRooms:
    """Every live room of this node, the SFU they share, and the tasks they run."""

    def __init__(
        self,
        sfu: Sfu,
        presence: PresenceSink,
        clock: Clock,
        notifier: Notifier,
        reconnect_grace: float = RECONNECT_GRACE,
        on_room_closed: Callable[[str], None] = lambda room_id: None,
        admission: Admission | None = None,
        ice_deadline: float = ICE_DEADLINE,
        workflows: Workflows | None = None,
        decisions: HostDecisions | None = None,
        events: EventSink | None = None,
        front: FrontCalls | None = None,
    ) -> None:
        #: What workflows ask of the front process (their records in the store; signalling/front_calls.py).
        self.front: FrontCalls = front or LocalFrontCalls()
        #: Where live rooms' events go (the store's audit chain and outbox; through the link in a media worker).
        self.events: EventSink = events or NoEvents()
        self.workflows = workflows or Workflows()
        self.decisions: HostDecisions = decisions or NoDecisions()  # a host's removals and ends
        self.sfu = sfu
        self.admission = admission or Admission()
        self.ice_deadline = ice_deadline
        self.on_room_closed = on_room_closed
        self.presence = presence
        self.clock = clock
        self.notifier = notifier
        self.reconnect_grace = reconnect_grace
        self.serial = itertools.count(1)
        self._rooms: dict[str, LiveRoom] = {}
        self._tasks = BackgroundTasks()
        self._deadlines: set[asyncio.TimerHandle] = set()  # ICE deadlines pending (cancelled on close)

    def get(self, room_id: str) -> LiveRoom | None:
        return self._rooms.get(room_id)

    def enter(self, room: Room) -> LiveRoom:
        """The live room of *room*, created on first entry."""
        live = self._rooms.get(room.id)
        if live is None:
            live = self._rooms[room.id] = LiveRoom(self, room)
        return live

    def forget(self, live: LiveRoom) -> None:
        if self._rooms.get(live.id) is live:
            del self._rooms[live.id]
            self.on_room_closed(live.id)

    def admit(self) -> None:
        """Raise ServerBusy unless this worker may open one more peer connection."""
        self.admission.check(len(self.sfu.publishers) + len(self.sfu.subscribers))

    def expect_connection(self, peer: Publisher | Subscriber) -> None:
        """Close *peer* (freeing what it holds) unless it connects within the ICE deadline."""

        def check() -> None:
            self._deadlines.discard(handle)
            if not peer.closed and peer.connection_state != "connected":
                log.info("connection %s did not connect within %.0f s: closed", peer.id, self.ice_deadline)
                self.spawn(peer.close())

        handle = asyncio.get_running_loop().call_later(self.ice_deadline, check)
        self._deadlines.add(handle)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run *coro* in the background, keeping a reference and logging its failure."""
        self._tasks.spawn(coro)

    async def close(self) -> None:
        for handle in self._deadlines:
            handle.cancel()
        self._deadlines.clear()
        for live in list(self._rooms.values()):
            await live.close()
        self._rooms.clear()
        await self._tasks.cancel()
