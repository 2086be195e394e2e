// The call: one Socket.IO connection and two WebRTC peer connections
// (publish: we offer; subscribe: the server offers), as docs/protocol.md says.
// No DOM here: the page listens to the events this EventTarget dispatches.
//
// Events (CustomEvent, payload in `detail`):
//   state        {state: "connecting"|"connected"|"waiting"|"reconnecting"|"disconnected"}
//                "connected" means the media is connected too: the socket is welcomed and every
//                peer connection the call needs (publish if we send, subscribe if one exists) is
//                "connected"; a socket that is up with media that never connected is "connecting".
//                "waiting": welcomed into the lobby (no media until a host admits us).
//   rejoining    {attempt, delayMs}     (the server hung up for no final reason: we join again)
//   welcome      {you, room, participants, resumed, admitted?, sentBack?}  (also after `admitted`, with
//                admitted: true, and `sent_to_lobby`, with sentBack: true; `you.state === "waiting"` means we
//                are in the lobby)
//   visit, visit_slot  a consultation's state and its clinician's end-of-slot warning (visit.js)
//   lobby        {waiting: [{id, name, party, since}]}  (hosts: who waits in the lobby now)
//   roomupdated  {locked}                (a host locked or unlocked the room)
//   joined       Participant            (someone else connected)
//   updated      Participant            (publishing, mute or connection changed)
//   left         {id, reason, participant}
//   self         Participant            (our own view changed: a host changed our role or muted us)
//   media        {media: Map<participantId, {audio?, video?, screen?: MediaStreamTrack}>}  (screen: a shared
//                screen, the video m-line whose `tracks` entry says `source: "screen"`)
//   speaker      {id}                   (null: nobody)
//   servererror  {code, message, event} (an `error` event of the protocol)
//   problem      {key}                  (a local failure, e.g. publish_failed)
//   ended        {reason: "left"|"server"|<a final code>, message}  (FINAL_CODES: the server ended it
//                on purpose; `message` is the server's, e.g. the host's words to a denied person)
//   refused      {code, message}        (the server refused the connection)

import { io } from "./vendor/socket.io.esm.min.js";

const GATHER_TIMEOUT_MS = 5000;
const ACK_TIMEOUT_MS = 15000;
const LEAVE_TIMEOUT_MS = 3000;
const KINDS = ["audio", "video"];

/**
 * `error` codes after which the server ends the session on purpose: the page says why and does not
 * rejoin. Any other server-side hang-up (a media worker restarting: `media_restart`) is followed by
 * an automatic rejoin with backoff.
 */
export const FINAL_CODES = new Set([
  "replaced", "participant_removed", "room_cancelled", "room_ended", "token_expired", "server_shutdown",
  "invalid_token", "too_early", "denied",
]);
/** Delays before rejoining after a server-side hang-up (the last one repeats), each ±25 % jitter. */
export const REJOIN_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000];

/** Resolve once ICE gathering is complete (the server does not trickle), or after a time limit. */
export function waitForGathering(pc, timeoutMs = GATHER_TIMEOUT_MS) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      pc.removeEventListener("icegatheringstatechange", onState);
      pc.removeEventListener("icecandidate", onCandidate);
      resolve();
    };
    const onState = () => {
      if (pc.iceGatheringState === "complete") finish();
    };
    const onCandidate = (event) => {
      if (!event.candidate) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    pc.addEventListener("icegatheringstatechange", onState);
    pc.addEventListener("icecandidate", onCandidate);
  });
}

class RequestFailed extends Error {
  constructor(event, error) {
    super(`${event}: ${error?.code ?? "timeout"} ${error?.message ?? ""}`.trim());
    this.code = error?.code ?? "timeout";
  }
}

function sdpOf(value) {
  // The protocol sends SDP as a string; accept {type, sdp} too.
  return typeof value === "string" ? value : value?.sdp;
}

export class Call extends EventTarget {
  /**
   * @param {object} options
   * @param {string} options.token       the join token (auth.token)
   * @param {string} options.path        the Socket.IO path from the bootstrap
   * @param {MediaStream|null} options.localStream  what to publish (null: nothing)
   * @param {RTCConfiguration} [options.rtcConfig]
   */
  constructor({ token, path, localStream, rtcConfig = {} }) {
    super();
    this.token = token;
    this.path = path || "/socket.io/";
    this.localStream = localStream;
    this.screenTrack = null; // a shared screen we send (share.js), published beside the camera
    this.rtcConfig = rtcConfig;
    this.socket = null;
    this.publisher = null;
    this.subscriber = null;
    this.subscriberConnection = null;
    this.trackInfo = new Map(); // mid -> {mid, participant_id, kind}
    this.media = new Map();
    this.participants = new Map();
    this.you = null;
    this.room = null;
    this.muted = { audio: false, video: false };
    this.state = "connecting";
    this.generation = 0; // bumped on every (re)connect: stale async work checks it
    this.closed = false;
    this.leaving = false;
    this.finalCode = null; // a FINAL_CODES `error` arrived: the coming hang-up is the end
    this.finalMessage = null; // its message (a host's words to a denied person)
    this.waiting = false; // welcomed into the lobby: nothing published, nothing received
    this.lobby = []; // hosts: [{id, name, party, since}] waiting now, in arrival order
    this.locked = false; // the room is locked: every new arrival but a host waits
    this.ignoredOffers = 0; // subscriber offers that came while we waited (the server must send none)
    this.welcomed = false; // this socket session has had its `welcome`
    this.everWelcomed = false;
    this.rejoinAttempts = 0;
    this.rejoinTimer = null;
    this.wasConnected = new WeakSet(); // peer connections that have been "connected" once
    this.pubChain = Promise.resolve();
    this.subChain = Promise.resolve();
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", { state });
  }

  /** Work out the call's state from the socket and the peer connections (see the `state` event). */
  updateState() {
    if (this.closed) {
      this.setState("disconnected");
      return;
    }
    if (!this.welcomed) {
      this.setState(this.everWelcomed ? "reconnecting" : "connecting");
      return;
    }
    if (this.waiting) {
      this.setState("waiting");
      return;
    }
    const needed = [];
    if (this.canPublish) needed.push(this.publisher); // null until publishing starts: not connected
    if (this.subscriber) needed.push(this.subscriber);
    for (const pc of needed) if (pc?.connectionState === "connected") this.wasConnected.add(pc);
    if (needed.every((pc) => pc?.connectionState === "connected")) {
      this.rejoinAttempts = 0; // a working call: the next hang-up starts the backoff afresh
      this.setState("connected");
    } else if (needed.some((pc) => pc && this.wasConnected.has(pc) && ["disconnected", "failed"].includes(pc.connectionState))) {
      this.setState("reconnecting"); // media that worked was lost
    } else {
      this.setState("connecting"); // media not connected yet (or never: the page must not say it is)
    }
  }

  localTrack(kind) {
    if (!this.localStream) return null;
    const tracks = kind === "audio" ? this.localStream.getAudioTracks() : this.localStream.getVideoTracks();
    return tracks.find((track) => track.readyState === "live") || null;
  }

  get canPublish() {
    return KINDS.some((kind) => this.localTrack(kind)) || this.screenTrack?.readyState === "live";
  }

  /**
   * Share a screen (a live video track) or stop (null): publish again, with or without it (the server
   * learns which m-line is the screen from `publish`'s `screen`). Resolves once published; throws
   * RequestFailed when the server refuses (e.g. `screen_in_use`).
   */
  setScreen(track) {
    this.screenTrack = track;
    const gen = this.generation;
    const done = this.pubChain.then(() => (this.canPublish ? this.publish(gen) : this.unpublish(gen)));
    this.pubChain = done.catch((err) => this.failed("publish_failed", err, gen));
    return done;
  }

  /** Send nothing any more (a shared screen stopped by someone with no camera or microphone). */
  async unpublish(gen) {
    if (this.closed || gen !== this.generation) return;
    if (this.publisher) this.publisher.close();
    this.publisher = null;
    this.updateState();
    await this.request("unpublish", {});
  }

  start() {
    const socket = io({ path: this.path, auth: { token: this.token } });
    this.socket = socket;

    socket.on("connect", () => {
      // A new session: whatever peer connections we had belong to the old one.
      this.generation += 1;
      this.welcomed = false;
      this.closePeers();
      this.updateState();
    });
    socket.on("disconnect", (reason) => {
      if (this.closed || this.leaving) return;
      this.generation += 1;
      this.welcomed = false;
      if (this.finalCode) {
        // The server said why it ends the session (another tab, removed, cancelled, over...): no retry.
        this.close();
        if (!this.everWelcomed) {
          // Ended before any `welcome`: the server turned the connection away (a denied link).
          this.emit("refused", { code: this.finalCode, message: this.finalMessage });
          return;
        }
        this.emit("ended", { reason: this.finalCode, message: this.finalMessage });
        return;
      }
      if (reason === "io server disconnect") {
        // The server hung up without a final reason (a media worker restarted): Socket.IO does not
        // retry after a server-side disconnect, so we join again ourselves, with backoff.
        this.closePeers();
        this.scheduleRejoin();
      }
      this.updateState();
    });
    socket.on("connect_error", (err) => {
      if (this.closed) return;
      if (!socket.active) {
        clearTimeout(this.rejoinTimer);
        // Refused by the server (bad token, cancelled room...): retrying will not help.
        this.close();
        this.emit("refused", { code: err?.data?.code || "unknown", message: err?.data?.message || err?.message });
        return;
      }
      this.updateState();
    });

    socket.on("welcome", (data) => this.onWelcome(data));
    socket.on("admitted", (data) => this.onWelcome(data, { admitted: true }));
    // Sent back to the lobby (a consultation): a waiting `welcome`; the server closed our media.
    socket.on("sent_to_lobby", (data) => this.onWelcome(data, { sentBack: true }));
    // A workflow's own events (a consultation's `visit`, `visit_slot`): passed on as they are.
    for (const name of ["visit", "visit_slot"]) socket.on(name, (data) => this.emit(name, data || {}));
    socket.on("lobby", (data) => this.onLobby(data));
    socket.on("lobby_status", (data) => this.onLobbyStatus(data));
    socket.on("room_updated", (data) => this.onRoomUpdated(data));
    socket.on("participant_joined", (p) => this.upsert(p, "joined"));
    socket.on("participant_updated", (p) => this.upsert(p, "updated"));
    socket.on("participant_left", (data) => this.onLeft(data));
    socket.on("subscriber_offer", (data) => {
      if (this.waiting) {
        // Nothing is received in the lobby: the server sends no offer then; never play one that came.
        this.ignoredOffers += 1;
        return;
      }
      const gen = this.generation;
      this.subChain = this.subChain
        .then(() => this.onSubscriberOffer(data, gen))
        .catch((err) => this.failed("receive_failed", err, gen));
    });
    socket.on("active_speaker", (data) => this.emit("speaker", { id: data?.id ?? null }));
    socket.on("error", (data) => {
      if (FINAL_CODES.has(data?.code)) {
        this.finalCode = data.code;
        // A denied person is shown the host's own words: `host_message` when the server sends it
        // (null: the host wrote none), else `message`.
        const words = data && "host_message" in data ? data.host_message : data?.message;
        this.finalMessage = typeof words === "string" ? words : null;
      }
      this.emit("servererror", data || {});
    });
  }

  /** Connect the socket again after a delay that grows with each attempt (reset once media connects). */
  scheduleRejoin() {
    clearTimeout(this.rejoinTimer);
    const base = REJOIN_DELAYS_MS[Math.min(this.rejoinAttempts, REJOIN_DELAYS_MS.length - 1)];
    this.rejoinAttempts += 1;
    const delayMs = Math.round(base * (0.75 + Math.random() * 0.5));
    this.emit("rejoining", { attempt: this.rejoinAttempts, delayMs });
    this.rejoinTimer = setTimeout(() => {
      this.rejoinTimer = null;
      if (!this.closed && !this.socket.connected) this.socket.connect();
    }, delayMs);
  }

  /** `welcome` (every connect) and `admitted` (let in from the lobby: the same payload). */
  onWelcome(data, { admitted = false, sentBack = false } = {}) {
    if (this.closed) return;
    this.you = data.you;
    this.room = data.room;
    this.lastWelcome = data;
    this.waiting = data.you?.state === "waiting";
    if (typeof data.room?.locked === "boolean") this.locked = data.room.locked;
    this.participants = new Map((data.participants || []).map((p) => [p.id, p]));
    this.welcomed = true;
    this.everWelcomed = true;
    if (this.waiting) this.closePeers(); // sent back to the lobby: nothing sent or received there
    this.emit("welcome", admitted ? { ...data, admitted: true } : sentBack ? { ...data, sentBack: true } : data);
    if ("lobby" in data) this.onLobby(data.lobby);
    if ("hosts_present" in data) this.onLobbyStatus(data);
    this.updateState();
    if (this.waiting) return; // in the lobby: publish nothing until `admitted`
    if (this.canPublish) {
      const gen = this.generation;
      this.pubChain = this.pubChain
        .then(() => this.publish(gen))
        .catch((err) => this.failed("publish_failed", err, gen));
    }
  }

  /** Waiting: whether a host is in the call to let us in (`{hosts_present}`). */
  onLobbyStatus(data) {
    if (typeof data?.hosts_present !== "boolean") return;
    this.hostsPresent = data.hosts_present;
    this.emit("lobby_status", { hostsPresent: this.hostsPresent });
  }

  /** Hosts: the lobby changed (`{waiting: [...]}`; a bare list is read the same). */
  onLobby(data) {
    const list = Array.isArray(data) ? data : Array.isArray(data?.waiting) ? data.waiting : [];
    this.lobby = list.filter((p) => p && typeof p.id === "string");
    this.emit("lobby", { waiting: this.lobby });
  }

  onRoomUpdated(data) {
    if (typeof data?.locked === "boolean") {
      this.locked = data.locked;
      if (this.room) this.room = { ...this.room, locked: data.locked };
    }
    this.emit("roomupdated", { ...data, locked: this.locked });
  }

  /** Host controls (docs/protocol.md, "Lobby"); each resolves with the ack or throws RequestFailed. */
  admit(participantId, { identityConfirmed = false } = {}) {
    const data = { participant_id: participantId };
    if (identityConfirmed) data.identity_confirmed = true; // a consultation's "confirm identity and admit"
    return this.request("admit", data);
  }

  admitAll() {
    return this.request("admit_all", {});
  }

  deny(participantId, message = "") {
    const text = String(message || "").trim();
    return this.request("deny", text ? { participant_id: participantId, message: text } : { participant_id: participantId });
  }

  setLocked(locked) {
    return this.request(locked ? "lock" : "unlock", {});
  }

  /** Host controls in the call (docs/protocol.md, "Host controls"). */
  muteParticipant(participantId, kind) {
    return this.request("mute_participant", { participant_id: participantId, kind });
  }

  askUnmute(participantId, kind) {
    return this.request("ask_unmute", { participant_id: participantId, kind });
  }

  setRole(participantId, role) {
    return this.request("set_role", { participant_id: participantId, role });
  }

  removeParticipant(participantId) {
    return this.request("remove_participant", { participant_id: participantId });
  }

  /** End the meeting for everyone: our own session ends too (`room_ended`), so no ack is awaited. */
  endMeeting() {
    if (this.socket?.connected) this.socket.emit("end_meeting", {});
  }

  /** A host muted us: the server forwards none of that kind; our track goes off too (we decide to unmute). */
  mutedByHost(kind) {
    this.muted[kind] = true;
    const track = this.localTrack(kind);
    if (track) track.enabled = false;
  }

  /** Made a viewer during the call: the server closed our publish connection; close ours, send nothing. */
  stopPublishing() {
    this.localStream = null;
    if (this.publisher) this.publisher.close();
    this.publisher = null;
    this.updateState();
  }

  /** Made a member again: publish *stream* on this socket session, without reconnecting. */
  startPublishing(stream) {
    this.localStream = stream;
    if (!this.canPublish || this.closed || !this.welcomed || this.waiting) return;
    const gen = this.generation;
    this.pubChain = this.pubChain
      .then(() => this.publish(gen))
      .catch((err) => this.failed("publish_failed", err, gen));
  }

  upsert(participant, kind) {
    if (!participant?.id) return;
    if (participant.id === this.you?.id) {
      // Our own state changed (a host changed our role, or muted us): `self` with the new view.
      this.you = { ...this.you, ...participant };
      this.emit("self", this.you);
      return;
    }
    const known = this.participants.has(participant.id);
    this.participants.set(participant.id, participant);
    this.emit(known || kind === "updated" ? "updated" : "joined", participant);
  }

  onLeft(data) {
    const participant = this.participants.get(data?.id);
    if (!participant) return;
    this.participants.delete(data.id);
    this.emit("left", { id: data.id, reason: data.reason, participant });
  }

  failed(key, err, gen) {
    if (this.closed || gen !== this.generation) return; // superseded by a reconnect
    console.warn(`konsylium: ${key}`, err);
    // A refused message already produced a protocol `error` event; only report timeouts and local failures.
    if (!(err instanceof RequestFailed) || err.code === "timeout") this.emit("problem", { key });
  }

  async request(event, data) {
    if (!this.socket?.connected) throw new RequestFailed(event, { code: "timeout", message: "not connected" });
    let ack;
    try {
      ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, data);
    } catch {
      throw new RequestFailed(event, null);
    }
    if (!ack || ack.ok !== true) throw new RequestFailed(event, ack?.error || { code: "bad_ack" });
    return ack;
  }

  async publish(gen) {
    if (this.closed || gen !== this.generation) return;
    if (this.publisher) this.publisher.close(); // a failed one being replaced
    const pc = new RTCPeerConnection(this.rtcConfig);
    this.publisher = pc;
    for (const kind of KINDS) {
      const track = this.localTrack(kind);
      if (track) pc.addTransceiver(track, { direction: "sendonly", streams: [this.localStream] });
    }
    const screen = this.screenTrack?.readyState === "live"
      ? pc.addTransceiver(this.screenTrack, { direction: "sendonly", streams: [new MediaStream([this.screenTrack])] })
      : null;
    this.updateState();
    pc.addEventListener("connectionstatechange", () => {
      this.emit("peerstate", { which: "publisher", state: pc.connectionState });
      if (this.publisher === pc) this.updateState();
      // The media path failed while the socket lives on: publish again on a new connection.
      if (pc.connectionState === "failed" && this.publisher === pc && !this.closed && gen === this.generation) {
        this.pubChain = this.pubChain
          .then(() => this.publish(gen))
          .catch((err) => this.failed("publish_failed", err, gen));
      }
    });
    await pc.setLocalDescription(await pc.createOffer());
    await waitForGathering(pc);
    if (this.closed || gen !== this.generation) return;
    const offer = { sdp: pc.localDescription.sdp };
    if (screen?.mid) offer.screen = screen.mid; // which m-line is the shared screen
    const ack = await this.request("publish", offer);
    if (this.closed || gen !== this.generation || pc.signalingState === "closed") return;
    await pc.setRemoteDescription({ type: "answer", sdp: sdpOf(ack.sdp) });
    // The server keeps mute state across a resumed session but not across a fresh one: say it again.
    for (const kind of KINDS) {
      if (this.muted[kind] && this.localTrack(kind)) await this.request("mute", { kind, muted: true });
    }
  }

  async onSubscriberOffer(data, gen) {
    if (this.closed || gen !== this.generation) return;
    let pc = this.subscriber;
    // A new `connection` id means the server replaced the subscribe connection
    // (the old one failed): start afresh instead of renegotiating the dead one.
    if (pc && data?.connection && this.subscriberConnection && data.connection !== this.subscriberConnection) {
      pc.close();
      pc = null;
    }
    this.subscriberConnection = data?.connection || null;
    if (!pc || pc.signalingState === "closed") {
      pc = new RTCPeerConnection(this.rtcConfig);
      this.subscriber = pc;
      pc.addEventListener("track", () => this.syncMedia());
      pc.addEventListener("connectionstatechange", () => {
        this.emit("peerstate", { which: "subscriber", state: pc.connectionState });
        if (this.subscriber === pc) this.updateState();
      });
      this.updateState();
    }
    this.trackInfo = new Map((data?.tracks || []).map((t) => [t.mid, t]));
    await pc.setRemoteDescription({ type: "offer", sdp: sdpOf(data?.sdp) });
    await pc.setLocalDescription(await pc.createAnswer());
    await waitForGathering(pc);
    if (this.closed || gen !== this.generation || pc.signalingState === "closed") return;
    this.syncMedia();
    await this.request("subscriber_answer", { sdp: pc.localDescription.sdp });
  }

  /** Work out whose media each receiving transceiver carries, from the latest `tracks` list. */
  syncMedia() {
    const media = new Map();
    const pc = this.subscriber;
    if (pc && pc.signalingState !== "closed") {
      for (const transceiver of pc.getTransceivers()) {
        const info = transceiver.mid !== null ? this.trackInfo.get(transceiver.mid) : undefined;
        if (!info || transceiver.stopped || transceiver.currentDirection === "inactive") continue;
        if (info.participant_id === this.you?.id) continue;
        const entry = media.get(info.participant_id) || {};
        entry[info.source === "screen" ? "screen" : info.kind] = transceiver.receiver.track;
        media.set(info.participant_id, entry);
      }
    }
    this.media = media;
    this.emit("media", { media });
  }

  /** Turn sending of one kind on or off and tell the others. Returns the new muted state. */
  async setMuted(kind, muted) {
    this.muted[kind] = muted;
    const track = this.localTrack(kind);
    if (track) track.enabled = !muted;
    if (this.socket?.connected && this.welcomed && track) {
      try {
        await this.request("mute", { kind, muted });
      } catch (err) {
        console.warn("konsylium: mute", err);
      }
    }
    return muted;
  }

  closePeers() {
    for (const pc of [this.publisher, this.subscriber]) {
      if (pc) pc.close();
    }
    this.publisher = null;
    this.subscriber = null;
    this.subscriberConnection = null;
    this.trackInfo = new Map();
    if (this.media.size) {
      this.media = new Map();
      this.emit("media", { media: this.media });
    }
  }

  async leave() {
    if (this.closed || this.leaving) return;
    this.leaving = true; // the server disconnects us after `leave`: that is no failure
    if (this.socket?.connected) {
      try {
        await this.socket.timeout(LEAVE_TIMEOUT_MS).emitWithAck("leave", {});
      } catch {
        // The server frees our place after its grace period anyway.
      }
    }
    this.close();
    this.emit("ended", { reason: "left" });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.generation += 1;
    clearTimeout(this.rejoinTimer);
    this.rejoinTimer = null;
    this.closePeers();
    if (this.socket) {
      this.socket.disconnect();
    }
    this.setState("disconnected");
  }
}
