// The Konsylium browser client: pre-join (preview, devices), the lobby's waiting
// view, the room (with a host's lobby panel), and the "you left" view. Plain ES module, no build step. Strings live in i18n.js,
// the protocol in call.js, the tiles in tiles.js.

import { Call, FINAL_CODES } from "./call.js";
import { ChatPanel } from "./chat.js";
import { HandsPanel } from "./hands.js";
import { InvitePanel } from "./invites.js";
import { RecordingGate } from "./recording.js";
import { ScreenShare } from "./share.js";
import { formatWhen, translator } from "./i18n.js";
import { HostRequests, PeoplePanel } from "./panel.js";
import { HostPrechecks, PreCheck } from "./precheck.js";
import { TileGrid } from "./tiles.js";

const $ = (id) => document.getElementById(id);

function readBootstrap() {
  try {
    const data = JSON.parse($("bootstrap").textContent);
    if (!data || typeof data !== "object" || !data.room || !data.you) return null;
    return data;
  } catch {
    return null;
  }
}

const bootstrap = readBootstrap();
const params = new URLSearchParams(location.search);
const token = params.get("t") || "";
const lang = bootstrap?.lang === "en" ? "en" : bootstrap?.lang === "pl" ? "pl" : document.documentElement.lang === "en" ? "en" : "pl";
const t = translator(lang);
const isViewer = bootstrap?.you?.role === "viewer";
const isConsultation = bootstrap?.room?.kind === "consultation";

// ---------------------------------------------------------------------------
// Small helpers

function applyStrings(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

let announceTimer = null;
function announce(text) {
  const region = $("announcer");
  const line = document.createElement("p");
  line.textContent = text;
  region.append(line);
  while (region.childElementCount > 5) region.firstElementChild.remove();
  clearTimeout(announceTimer);
  announceTimer = setTimeout(() => region.replaceChildren(), 15000);
}

function alertError(text) {
  const region = $("alerts");
  const item = document.createElement("p");
  item.className = "alert";
  item.textContent = text;
  region.append(item);
  while (region.childElementCount > 3) region.firstElementChild.remove();
  setTimeout(() => item.remove(), 20000);
}

function showView(name, { focus = true } = {}) {
  for (const view of ["prejoin", "waiting", "room", "end"]) $(`view-${view}`).hidden = view !== name;
  document.body.dataset.view = name;
  const heading = { prejoin: "prejoin-title", waiting: "waiting-title", room: "room-title", end: "end-title" }[name];
  if (focus) $(heading).focus({ preventScroll: false });
}

function setupLanguageSwitch() {
  const link = $("lang-switch");
  const other = t("switch_language_lang");
  const next = new URLSearchParams(location.search);
  next.set("lang", other);
  link.href = `?${next.toString()}`;
  link.textContent = t("switch_language");
  link.lang = other;
  link.hreflang = other;
  link.setAttribute("aria-label", t("switch_language_label"));
}

// ---------------------------------------------------------------------------
// Local media (pre-join)

const VIDEO_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };

const local = {
  stream: null, // MediaStream with at most one audio and one video track
  problem: null, // i18n key of the last getUserMedia failure
};

function mediaProblem(err) {
  switch (err?.name) {
    case "NotAllowedError":
    case "SecurityError":
    case "PermissionDeniedError":
      return "media_denied";
    case "NotFoundError":
    case "DevicesNotFoundError":
    case "OverconstrainedError":
      return "media_not_found";
    case "NotReadableError":
    case "TrackStartError":
    case "AbortError":
      return "media_busy";
    default:
      return "media_failed";
  }
}

function constraint(kind, deviceId) {
  const base = kind === "video" ? { ...VIDEO_CONSTRAINTS } : {};
  if (deviceId) base.deviceId = { exact: deviceId };
  return Object.keys(base).length ? base : true;
}

/** Ask for camera and microphone; fall back to one of them; never throw. */
async function acquireMedia({ audioId = "", videoId = "" } = {}) {
  if (!navigator.mediaDevices?.getUserMedia) {
    local.problem = "media_unsupported";
    return new MediaStream();
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: constraint("audio", audioId), video: constraint("video", videoId) });
  } catch (err) {
    local.problem = mediaProblem(err);
    if (local.problem === "media_denied") return new MediaStream();
  }
  // One of the two may be missing or busy: try each alone.
  const tracks = [];
  for (const kind of ["audio", "video"]) {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraint(kind, kind === "audio" ? audioId : videoId) });
      tracks.push(...stream.getTracks());
    } catch {
      // keep the first problem
    }
  }
  return new MediaStream(tracks);
}

function trackOf(kind) {
  if (!local.stream) return null;
  return (kind === "audio" ? local.stream.getAudioTracks() : local.stream.getVideoTracks())[0] || null;
}

function stopLocalMedia() {
  if (local.stream) for (const track of local.stream.getTracks()) track.stop();
  local.stream = null;
}

function showPreview() {
  const video = $("preview");
  const videoTrack = trackOf("video");
  video.srcObject = videoTrack ? new MediaStream([videoTrack]) : null;
  $("preview-box").classList.toggle("no-video", !videoTrack);
  if (videoTrack) video.play().catch(() => {});
  const audio = Boolean(trackOf("audio"));
  const status = $("media-status");
  status.classList.remove("problem");
  if (audio && videoTrack) status.textContent = t("preview_ready");
  else if (audio) status.textContent = t("preview_audio_only");
  else if (videoTrack) status.textContent = t("preview_video_only");
  else {
    status.textContent = t(local.problem || "media_not_found");
    status.classList.add("problem");
  }
}

async function fillDeviceLists() {
  let devices = [];
  try {
    devices = await navigator.mediaDevices.enumerateDevices();
  } catch {
    devices = [];
  }
  const fill = (select, kind, emptyKey) => {
    const current = trackOf(kind === "videoinput" ? "video" : "audio")?.getSettings?.().deviceId || "";
    const list = devices.filter((d) => d.kind === kind && d.deviceId);
    select.replaceChildren();
    if (!list.length) {
      const option = new Option(t(emptyKey), "");
      select.append(option);
      select.disabled = true;
      return;
    }
    select.disabled = false;
    list.forEach((device, index) => {
      const option = new Option(device.label || t("device_fallback", { n: index + 1 }), device.deviceId);
      option.selected = device.deviceId === current;
      select.append(option);
    });
  };
  fill($("camera-select"), "videoinput", "no_camera_option");
  fill($("mic-select"), "audioinput", "no_microphone_option");
}

/** A device was chosen: re-acquire that kind only and swap it into the preview stream. */
async function switchDevice(kind, deviceId) {
  const old = trackOf(kind);
  if (old) {
    old.stop();
    local.stream.removeTrack(old);
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: constraint(kind, deviceId) });
    for (const track of stream.getTracks()) local.stream.addTrack(track);
    local.problem = null;
  } catch (err) {
    local.problem = mediaProblem(err);
  }
  showPreview();
  await fillDeviceLists();
}

let previewReady = Promise.resolve(); // the preview being acquired now: Join waits for it

function startPreview() {
  previewReady = acquirePreview();
  return previewReady;
}

async function acquirePreview() {
  if (isViewer) return;
  $("media-status").textContent = t("preview_starting");
  stopLocalMedia();
  local.problem = null;
  local.stream = await acquireMedia({
    audioId: $("mic-select").value || "",
    videoId: $("camera-select").value || "",
  });
  showPreview();
  await fillDeviceLists();
}

// ---------------------------------------------------------------------------
// The room

let call = null;
let tiles = null;
const chat = new ChatPanel({ t, announce, alertError, lang }); // the chat side panel (chat.js)
const hands = new HandsPanel({ t, announce, alertError, tiles: () => tiles }); // raised hands (hands.js)
const recording = new RecordingGate({ t, announce }); // consent to recording and its indicator (recording.js)
const invites = new InvitePanel({ t, announce }); // a host's one-time guest invites (invites.js)
const share = new ScreenShare({ t, announce, alertError }); // screen sharing and the stage (share.js)
const muted = { audio: false, video: false };
const people = new PeoplePanel({ t, announce, alertError }); // the participant panel and host controls (panel.js)

/** Our own media as a host's actions change it (panel.js, HostRequests). */
const ownMedia = {
  muted: (kind) => Boolean(muted[kind]),
  hasTrack: (kind) => Boolean(trackOf(kind)),
  toggle: (kind) => toggle(kind),
  setMuted(kind, value) {
    muted[kind] = value;
    refreshOwnMedia();
  },
  stopPublishing() {
    call?.stopPublishing();
    share.stopTrack(); // a viewer shares no screen either (the server closed the publish connection)
    share.render();
    stopLocalMedia();
    refreshOwnMedia();
  },
  async startPublishing() {
    local.problem = null;
    local.stream = await acquireMedia();
    muted.audio = false;
    muted.video = false;
    if (call) call.muted = { ...muted };
    call?.startPublishing(local.stream);
    refreshOwnMedia();
    if (local.problem && !trackOf("audio") && !trackOf("video")) alertError(t(local.problem));
  },
};
const requests = new HostRequests({ t, announce, local: ownMedia });
// The pre-call check before joining (precheck.js), and its results beside waiting people in a host's lobby panel.
const precheck = new PreCheck({ t, lang, token, bootstrap, announce, localStream: () => local.stream,
  previewReady: () => previewReady });

function refreshOwnMedia() {
  const me = call?.you?.id || bootstrap.you.id;
  tiles?.setTracks(me, { video: trackOf("video"), audio: trackOf("audio") });
  for (const kind of ["audio", "video"]) {
    const track = trackOf(kind);
    if (track) track.enabled = !muted[kind];
    tiles?.setLocalMuted(me, kind, muted[kind]);
    syncToggle(kind);
  }
  people.render();
}

function setConnState(state) {
  const key = {
    connecting: "state_connecting", connected: "state_connected", waiting: "state_waiting",
    reconnecting: "state_reconnecting", disconnected: "state_disconnected",
  }[state];
  $("conn").hidden = false;
  $("conn").dataset.state = state;
  $("conn-state").textContent = t(key);
  $("reconnect-banner").hidden = state !== "reconnecting";
  if (state === "reconnecting") announce(t("state_reconnecting"));
}

function updateCount() {
  $("participants-heading").textContent = t("participants_heading", { n: tiles.size });
}

function syncToggle(kind) {
  const button = $(kind === "audio" ? "mic-button" : "camera-button");
  const track = trackOf(kind);
  button.hidden = !track;
  button.setAttribute("aria-pressed", String(Boolean(muted[kind])));
}

function selfParticipant() {
  const you = call?.you || bootstrap.you;
  return { ...bootstrap.you, ...you, name: you.name || bootstrap.you.name };
}

function enterRoom() {
  const title = bootstrap.room.title;
  $("room-title").textContent = t("room_heading", { title });
  $("tiles").replaceChildren();
  tiles = new TileGrid($("tiles"), t, () => ($("sound-unlock").hidden = false));
  const me = selfParticipant();
  tiles.upsert(me, { self: true });
  // Our own tile shows the local preview; its element is muted, so our audio track is never played back.
  tiles.setTracks(me.id, { video: trackOf("video"), audio: trackOf("audio") });
  for (const kind of ["audio", "video"]) {
    const track = trackOf(kind);
    if (track) track.enabled = !muted[kind];
    tiles.setLocalMuted(me.id, kind, muted[kind]);
    syncToggle(kind);
  }
  updateCount();
  setConnState("connecting");
  $("lang-switch").hidden = true; // switching language reloads the page: not during a call
  showView("room");
  $("sound-unlock").hidden = true;

  // STUN/TURN servers, if the server ever puts them in the bootstrap (today it sends none: host candidates only).
  const iceServers = Array.isArray(bootstrap.ice_servers) ? bootstrap.ice_servers : [];
  call = new Call({
    token,
    path: bootstrap.socket_path,
    localStream: isViewer ? null : local.stream,
    rtcConfig: { iceServers },
  });
  call.muted = { ...muted };
  exposeDebugHandle();

  call.addEventListener("state", (e) => setConnState(e.detail.state));
  call.addEventListener("welcome", (e) => {
    const { participants = [], resumed, admitted, you } = e.detail;
    if (you?.state === "waiting") {
      if (e.detail.sentBack) tiles.clear({ keepSelf: true });
      showWaiting();
      return;
    }
    if (document.body.dataset.view !== "room") {
      hideWaiting();
      showView("room");
    }
    // Rebuild the others from the authoritative list (a resumed session may have missed events).
    tiles.clear({ keepSelf: true });
    for (const p of participants) if (p?.state !== "waiting") tiles.upsert(p);
    if (you) tiles.upsert({ ...selfParticipant(), ...you }, { self: true });
    updateCount();
    lobbyPanel.setHost(you?.role === "host");
    if (admitted) announce(t("admitted_in", { title }));
    else if (!resumed) announce(t("you_are_in", { title }));
  });
  call.addEventListener("lobby", (e) => lobbyPanel.render(e.detail.waiting));
  call.addEventListener("lobby_status", (e) => {
    const key = e.detail.hostsPresent ? "waiting_text" : "waiting_no_host";
    if ($("waiting-text").dataset.i18n === key) return;
    $("waiting-text").dataset.i18n = key;
    $("waiting-text").textContent = t(key);
    if (document.body.dataset.view === "waiting") announce(t(key));
  });
  call.addEventListener("roomupdated", (e) => lobbyPanel.renderLock(e.detail.locked, { announce: true }));
  call.addEventListener("joined", (e) => {
    if (e.detail.state === "waiting") return; // in the lobby: hosts see them in the lobby panel
    tiles.upsert(e.detail);
    tiles.setTracks(e.detail.id, call.media.get(e.detail.id));
    updateCount();
    announce(t("joined", { name: e.detail.name }));
  });
  call.addEventListener("updated", (e) => {
    if (e.detail.state === "waiting") {
      tiles.remove(e.detail.id);
      updateCount();
      return;
    }
    tiles.upsert(e.detail);
    tiles.setTracks(e.detail.id, call.media.get(e.detail.id));
    updateCount();
  });
  call.addEventListener("left", (e) => {
    tiles.remove(e.detail.id);
    updateCount();
    const key = { left: "left_meeting", timeout: "timed_out", removed: "removed_from" }[e.detail.reason];
    if (key) announce(t(key, { name: e.detail.participant.name }));
  });
  call.addEventListener("media", (e) => {
    const { media } = e.detail;
    for (const [id, tile] of tiles.tiles) {
      if (!tile.self) tiles.setTracks(id, media.get(id));
    }
  });
  call.addEventListener("speaker", (e) => tiles.setSpeaker(e.detail.id));
  call.addEventListener("self", (e) => tiles.upsert({ ...selfParticipant(), ...e.detail }, { self: true }));
  call.addEventListener("servererror", (e) => {
    const { code, message } = e.detail;
    if (FINAL_CODES.has(code)) return; // the "ended" view explains it
    console.warn("konsylium: server error", e.detail);
    const key = `error_${code}`;
    alertError(t(key) !== key ? t(key, { message: message || code }) : t("error_prefix", { message: message || code || "?" }));
  });
  call.addEventListener("problem", (e) => alertError(t(e.detail.key)));
  call.addEventListener("ended", (e) => endCall(e.detail.reason, undefined, e.detail.message));
  call.addEventListener("refused", (e) => {
    const key = [`refused_${e.detail.code}`, `ended_${e.detail.code}`].find((k) => t(k) !== k);
    const text = key ? t(key) : t("refused_other", { message: e.detail.message || e.detail.code });
    endCall("refused", text);
  });
  call.start();
  // A consultation's own controls and notices (visit.js), loaded only for such rooms.
  if (isConsultation) {
    import("./visit.js")
      .then(({ VisitPanel }) => new VisitPanel({ t, announce, alertError, call, you: bootstrap.you }).attach())
      .catch((err) => console.warn("konsylium: visit.js", err));
  }
  people.attach(call);
  requests.attach(call);
  chat.attach(call);
  hands.attach(call);
  share.attach(call);
  recording.attach(call);
  invites.attach(call);
}

// Final codes after which coming back with the same link cannot work (the others offer "Dołącz ponownie").
const NO_WAY_BACK = new Set(["participant_removed", "room_cancelled", "room_ended", "token_expired", "invalid_token", "denied"]);

/** The heading of a final code that ended a live session: its own `ended_heading_*`, else "Rozłączono". */
function finalHeading(code) {
  const key = `ended_heading_${code}`;
  return t(key) !== key ? key : "ended_heading";
}

/** The text of a final code that ended a live session: its own `ended_*` text, else the refusal's. */
function finalText(code) {
  for (const key of [`ended_${code}`, `refused_${code}`]) if (t(key) !== key) return t(key);
  return t("ended_text");
}

function endCall(reason, text, message) {
  stopLocalMedia();
  if (tiles) tiles.clear();
  hideWaiting();
  lobbyPanel.setHost(false);
  people.detach();
  requests.detach();
  chat.detach();
  hands.detach();
  share.detach();
  recording.detach();
  invites.detach();
  const title = bootstrap.room.title;
  const words = typeof message === "string" ? message.trim() : "";
  const headings = {
    left: ["left_heading", t("left_text", { title })],
    replaced: ["replaced_heading", t("replaced_text")],
    server: ["ended_heading", t("ended_text")],
    refused: ["refused_heading", text],
    // Not let in: the plain reason first, then the host's own words if they wrote any.
    denied: ["denied_heading", words ? `${t("denied_text")} ${t("denied_message", { message: words })}` : t("denied_text")],
  };
  const [heading, body] = headings[reason] || (FINAL_CODES.has(reason) ? [finalHeading(reason), finalText(reason)] : headings.server);
  $("end-title").textContent = t(heading);
  $("end-text").textContent = body;
  $("rejoin-button").hidden = reason === "refused" || NO_WAY_BACK.has(reason);
  $("conn").hidden = true;
  $("reconnect-banner").hidden = true;
  $("lang-switch").hidden = false;
  showView("end");
}

async function toggle(kind) {
  if (!call || !trackOf(kind)) return;
  muted[kind] = !muted[kind];
  syncToggle(kind);
  tiles.setLocalMuted(call.you?.id || bootstrap.you.id, kind, muted[kind]);
  const key = kind === "audio" ? (muted.audio ? "you_muted_mic" : "you_unmuted_mic") : muted.video ? "you_muted_camera" : "you_unmuted_camera";
  announce(t(key));
  await call.setMuted(kind, muted[kind]);
}

async function leave() {
  if (!call) return;
  const buttons = [$("leave-button"), $("waiting-leave-button")];
  for (const button of buttons) button.disabled = true;
  await call.leave();
  for (const button of buttons) button.disabled = false;
}

// ---------------------------------------------------------------------------
// The lobby, for a person who waits: plain words, their own preview, nothing sent or received

function showWaiting() {
  const video = $("waiting-preview");
  const videoTrack = trackOf("video");
  $("waiting-preview-box").hidden = isViewer;
  $("waiting-preview-box").classList.toggle("no-video", !videoTrack);
  $("waiting-avatar").textContent = (bootstrap.you.name || "?").trim().slice(0, 1).toUpperCase();
  video.setAttribute("aria-label", t("waiting_preview_label"));
  $("waiting-title").textContent = t("waiting_heading", { title: bootstrap.room.title });
  const stream = videoTrack ? new MediaStream([videoTrack]) : null;
  if (video.srcObject?.getVideoTracks?.()[0] !== videoTrack) video.srcObject = stream;
  if (stream) video.play().catch(() => {});
  if (document.body.dataset.view === "waiting") return; // a resumed session still waiting: no new focus
  showView("waiting");
  announce(t("waiting_text"));
}

function hideWaiting() {
  $("waiting-preview").srcObject = null;
}

// ---------------------------------------------------------------------------
// The lobby, for a host: who waits (name, party, how long), admit or deny each, admit all, lock

const WAITED_REFRESH_MS = 5000;

function waitedText(since, now = Date.now()) {
  const start = Date.parse(since);
  const seconds = Number.isNaN(start) ? 0 : Math.max(0, Math.floor((now - start) / 1000));
  if (seconds < 60) return t("lobby_waited_seconds", { n: seconds });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("lobby_waited_minutes", { n: minutes });
  return t("lobby_waited_hours", { h: Math.floor(minutes / 60), m: minutes % 60 });
}

function partyText(party) {
  const key = `party_${party}`;
  return t(key) !== key ? t(key) : t("party_other");
}

/** A button whose visible word is `word` and whose accessible name is "word name" (e.g. "Wpuść Jan Kowalski"). */
function namedButton(word, name, className) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = className;
  const hidden = document.createElement("span");
  hidden.className = "visually-hidden";
  hidden.textContent = ` ${name}`;
  button.append(word, hidden);
  return button;
}

const lobbyPanel = {
  host: false,
  items: new Map(), // participant id -> {li, waited, person}
  known: new Set(), // ids already announced
  pending: new Set(), // ids with an admit or deny on its way
  timer: null,

  setHost(host) {
    this.host = host;
    $("lobby-panel").hidden = !host;
    $("view-room").classList.toggle("hosting", host);
    clearInterval(this.timer);
    this.timer = null;
    if (!host) {
      this.items.clear();
      this.known.clear();
      this.pending.clear();
      $("lobby-list").replaceChildren();
      return;
    }
    this.timer = setInterval(() => this.refreshWaited(), WAITED_REFRESH_MS);
    this.render(call?.lobby || [], { quiet: true });
    this.renderLock(Boolean(call?.locked));
  },

  render(waiting, { quiet = false } = {}) {
    if (!this.host) return;
    const list = $("lobby-list");
    const active = document.activeElement;
    const focusIndex = [...list.children].findIndex((li) => li.contains(active));
    const ids = new Set(waiting.map((p) => p.id));
    for (const [id, item] of this.items) {
      if (!ids.has(id)) {
        item.li.remove();
        this.items.delete(id);
        this.pending.delete(id);
      }
    }
    const arrived = [];
    for (const person of waiting) {
      let item = this.items.get(person.id);
      if (!item) {
        item = this.create(person);
        this.items.set(person.id, item);
      }
      item.person = person;
      list.append(item.li); // keeps the server's arrival order
      if (!this.known.has(person.id)) {
        this.known.add(person.id);
        arrived.push(person);
      }
    }
    for (const id of [...this.known]) if (!ids.has(id)) this.known.delete(id); // may come back later
    this.refreshWaited();
    const n = waiting.length;
    $("lobby-heading").textContent = t("lobby_heading", { n });
    $("lobby-empty").hidden = n > 0;
    $("lobby-deny-field").hidden = n === 0;
    const all = $("lobby-admit-all");
    all.hidden = n < 2;
    all.textContent = t("lobby_admit_all", { n });
    // The focused person left the list (admitted, denied, gone): keep the keyboard in the panel.
    if (focusIndex >= 0 && !list.contains(document.activeElement)) {
      const next = list.children[Math.min(focusIndex, list.children.length - 1)];
      (next?.querySelector("button") || $("lobby-heading")).focus();
    }
    if (!quiet && arrived.length === 1) announce(t("lobby_arrived", { name: arrived[0].name }));
    else if (!quiet && arrived.length > 1) announce(t("lobby_arrived_many", { n }));
  },

  create(person) {
    const li = document.createElement("li");
    li.className = "lobby-item";
    li.dataset.participantId = person.id;
    const who = document.createElement("p");
    who.className = "lobby-who";
    const name = document.createElement("span");
    name.className = "lobby-name";
    name.textContent = person.name;
    const details = document.createElement("span");
    details.className = "lobby-details";
    const party = document.createElement("span");
    party.className = "lobby-party";
    party.textContent = person.invited ? `${partyText(person.party)} · ${t("lobby_invited")}` : partyText(person.party);
    const waited = document.createElement("span");
    waited.className = "lobby-waited";
    details.append(party, " · ", waited);
    who.append(name, details);
    const buttons = document.createElement("div");
    buttons.className = "lobby-buttons";
    const admit = namedButton(t(isConsultation ? "visit_admit" : "lobby_admit"), person.name, "primary");
    admit.addEventListener("click", () => this.act(person.id, "admit"));
    const deny = namedButton(t("lobby_deny"), person.name, "danger");
    deny.addEventListener("click", () => this.act(person.id, "deny"));
    buttons.append(admit, deny);
    li.append(who, buttons);
    return { li, waited, person };
  },

  refreshWaited() {
    const now = Date.now();
    for (const item of this.items.values()) item.waited.textContent = waitedText(item.person.since, now);
  },

  async act(id, action) {
    if (!call || this.pending.has(id)) return;
    const name = this.items.get(id)?.person.name || "";
    this.pending.add(id);
    try {
      if (action === "admit") {
        await call.admit(id, { identityConfirmed: isConsultation }); // the button says so in a consultation
        announce(t("lobby_admitted", { name }));
      } else {
        const field = $("lobby-deny-message");
        const message = field.value;
        await call.deny(id, message);
        field.value = "";
        announce(t("lobby_denied", { name }));
      }
    } catch (err) {
      // A refusal came as an `error` event too (shown by the page); only a timeout needs saying here.
      if (err?.code === "timeout") alertError(t("error_internal"));
    } finally {
      this.pending.delete(id);
    }
  },

  async admitAll() {
    if (!call) return;
    try {
      await call.admitAll();
    } catch (err) {
      if (err?.code === "timeout") alertError(t("error_internal"));
    }
  },

  renderLock(locked, { announce: say = false } = {}) {
    const button = $("lobby-lock");
    const was = button.getAttribute("aria-pressed") === "true";
    button.setAttribute("aria-pressed", String(locked));
    $("lobby-lock-note").textContent = t(locked ? "lobby_locked_note" : "lobby_unlocked_note");
    if (say && this.host && was !== locked) announce(t(locked ? "lobby_locked_announce" : "lobby_unlocked_announce"));
  },

  async toggleLock() {
    if (!call) return;
    try {
      await call.setLocked(!call.locked);
    } catch (err) {
      if (err?.code === "timeout") alertError(t("error_internal"));
    }
  },
};

async function join() {
  if (precheck.blocksJoin) return;
  const button = $("join-button");
  button.disabled = true;
  try {
    await previewReady;
    if (!isViewer && !local.stream) await startPreview();
    precheck.stop();
    enterRoom();
  } finally {
    button.disabled = false;
  }
}

async function rejoin() {
  if (!isViewer) await startPreview();
  enterRoom();
}

function exposeDebugHandle() {
  // For tests and support: the live objects of this page (no secrets beyond the page's own URL).
  window.konsylium = {
    get call() { return call; },
    get socket() { return call?.socket ?? null; },
    get publisher() { return call?.publisher ?? null; },
    get subscriber() { return call?.subscriber ?? null; },
    get localStream() { return local.stream; },
    get state() { return call?.state ?? "idle"; },
    get view() { return document.body.dataset.view; },
    get waiting() { return call?.waiting ?? false; },
    get lobby() { return call?.lobby ?? []; },
    get people() { return people; },
    get chat() { return chat; },
    get hands() { return hands.queue; },
    get share() { return share; },
    get precheck() { return precheck; },
  };
}

// ---------------------------------------------------------------------------
// Start

function init() {
  applyStrings();
  setupLanguageSwitch();
  exposeDebugHandle();
  if (!bootstrap || !token) {
    $("end-title").textContent = t("refused_heading");
    $("end-text").textContent = t("bootstrap_missing");
    $("rejoin-button").hidden = true;
    showView("end", { focus: false });
    return;
  }
  document.title = t("page_title", { title: bootstrap.room.title });
  $("prejoin-title").textContent = bootstrap.room.title;
  $("prejoin-when").textContent = t("meeting_at", { when: formatWhen(bootstrap.room.starts_at, lang) });
  $("joining-as").textContent = t("joining_as", { name: bootstrap.you.name });
  $("preview").setAttribute("aria-label", t("preview_label"));
  $("preview-avatar").textContent = (bootstrap.you.name || "?").trim().slice(0, 1).toUpperCase();
  if (isViewer) {
    $("preview-box").hidden = true;
    $("device-fields").hidden = true;
    $("media-status").hidden = true;
    $("viewer-note").hidden = false;
    $("view-prejoin").classList.add("viewer");
  }

  $("prejoin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    join();
  });
  const choose = (kind) => (e) => {
    previewReady = previewReady.then(() => switchDevice(kind, e.target.value)).catch((err) => console.warn(err));
  };
  $("camera-select").addEventListener("change", choose("video"));
  $("mic-select").addEventListener("change", choose("audio"));
  navigator.mediaDevices?.addEventListener?.("devicechange", () => {
    if (document.body.dataset.view === "prejoin" && !isViewer) fillDeviceLists();
  });
  $("mic-button").addEventListener("click", () => toggle("audio"));
  $("camera-button").addEventListener("click", () => toggle("video"));
  $("leave-button").addEventListener("click", leave);
  $("waiting-leave-button").addEventListener("click", leave);
  $("lobby-admit-all").addEventListener("click", () => lobbyPanel.admitAll());
  $("lobby-lock").addEventListener("click", () => lobbyPanel.toggleLock());
  $("rejoin-button").addEventListener("click", rejoin);
  $("sound-button").addEventListener("click", () => {
    tiles?.unlockAudio();
    $("sound-unlock").hidden = true;
  });
  window.addEventListener("pagehide", () => {
    // Closing the tab: tell the server at once instead of waiting for its 30 s grace period.
    if (call && !call.closed) call.socket?.emit("leave", {});
  });

  showView("prejoin", { focus: false });
  precheck.mount($("precheck"), $("join-button"));
  new HostPrechecks({ t, lang, token, list: $("lobby-list") }); // follows the lobby panel by itself
  startPreview();
  if (precheck.required) precheck.start();
}

init();
