// One tile per participant: name, video (with the remote audio in the same
// MediaStream), state badges, speaking highlight. Tests find tiles by
// `.tile[data-participant-id]` and their video by `video[data-participant-id]`.

function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

function badge(className, text) {
  const el = document.createElement("span");
  el.className = `badge ${className}`;
  el.textContent = text;
  el.hidden = true;
  return el;
}

export class TileGrid {
  /**
   * @param {HTMLElement} list   the <ul> that holds the tiles
   * @param {(key: string, vars?: object) => string} t
   * @param {() => void} onBlockedAudio  called when the browser refuses to play sound without a click
   */
  constructor(list, t, onBlockedAudio) {
    this.list = list;
    this.t = t;
    this.onBlockedAudio = onBlockedAudio;
    this.tiles = new Map(); // id -> {li, video, ..., trackIds}
    this.speaker = null;
  }

  get size() {
    return this.tiles.size;
  }

  /** Create or update the tile of a participant. `self` marks our own tile (muted local preview). */
  upsert(participant, { self = false } = {}) {
    let tile = this.tiles.get(participant.id);
    if (!tile) {
      tile = this.create(participant, self);
      this.tiles.set(participant.id, tile);
      if (self) this.list.prepend(tile.li);
      else this.list.append(tile.li);
    }
    tile.participant = participant;
    const name = self ? `${participant.name} ${this.t("you_suffix")}` : participant.name;
    tile.name.textContent = name;
    tile.avatar.textContent = initials(participant.name);
    tile.li.setAttribute("aria-label", name);
    tile.viewer.hidden = participant.role !== "viewer";
    this.refresh(participant.id);
    return tile;
  }

  create(participant, self) {
    const li = document.createElement("li");
    li.className = self ? "tile self" : "tile";
    li.dataset.participantId = participant.id;

    const stage = document.createElement("div");
    stage.className = "stage";
    const video = document.createElement("video");
    video.autoplay = true;
    video.playsInline = true;
    video.setAttribute("playsinline", "");
    video.dataset.participantId = participant.id;
    if (self) {
      video.muted = true; // never play our own microphone back
      video.classList.add("mirror");
    }
    const avatar = document.createElement("div");
    avatar.className = "avatar";
    avatar.setAttribute("aria-hidden", "true");
    stage.append(video, avatar);

    const caption = document.createElement("div");
    caption.className = "caption";
    const nameEl = document.createElement("span");
    nameEl.className = "name";
    const badges = document.createElement("span");
    badges.className = "badges";
    const viewer = badge("viewer", this.t("viewer_badge"));
    const micOff = badge("mic-off", this.t("mic_off"));
    const camOff = badge("cam-off", this.t("camera_off"));
    const reconnecting = badge("reconnecting", this.t("participant_reconnecting"));
    const speaking = badge("speaking", this.t("speaking"));
    const hand = badge("hand", ""); // a raised hand and its place in the queue (hands.js)
    badges.append(hand, viewer, micOff, camOff, reconnecting, speaking);
    caption.append(nameEl, badges);

    li.append(stage, caption);
    return {
      li, video, avatar, name: nameEl, viewer, micOff, camOff, reconnecting, speaking, hand,
      self, participant, tracks: {}, trackIds: "", localMuted: { audio: false, video: false },
    };
  }

  remove(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.video.srcObject = null;
    tile.li.remove();
    this.tiles.delete(id);
  }

  clear({ keepSelf = false } = {}) {
    for (const [id, tile] of [...this.tiles]) {
      if (!(keepSelf && tile.self)) this.remove(id);
    }
  }

  /** Give a tile its tracks ({audio, video}); a new MediaStream only when they changed. */
  setTracks(id, tracks) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    const list = ["video", "audio"].map((kind) => tracks?.[kind]).filter(Boolean);
    const ids = list.map((track) => track.id).join(",");
    tile.tracks = { ...(tracks || {}) };
    if (ids !== tile.trackIds) {
      tile.trackIds = ids;
      tile.video.srcObject = list.length ? new MediaStream(list) : null;
      if (list.length) this.play(tile);
    }
    this.refresh(id);
  }

  play(tile) {
    const attempt = tile.video.play();
    if (attempt && typeof attempt.catch === "function") {
      attempt.catch((err) => {
        if (err?.name === "NotAllowedError" && !tile.self) {
          // Autoplay with sound refused: play muted now, offer a button that turns sound on.
          tile.video.muted = true;
          tile.video.play().catch(() => {});
          this.onBlockedAudio();
        }
      });
    }
  }

  /** After a click (a user gesture): unmute remote tiles and play them. */
  unlockAudio() {
    for (const tile of this.tiles.values()) {
      if (tile.self) continue;
      tile.video.muted = false;
      if (tile.video.srcObject) tile.video.play().catch(() => {});
    }
  }

  /** Our own mute state (the server does not send us our own participant). */
  setLocalMuted(id, kind, muted) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.localMuted[kind] = muted;
    this.refresh(id);
  }

  /** Show a raised hand on a tile with its place in the queue (1 = first), or hide it (null). */
  setHand(id, position) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.hand.hidden = !position;
    tile.hand.textContent = position ? this.t("hand_badge", { n: position }) : "";
    tile.li.classList.toggle("hand-raised", Boolean(position));
  }

  setSpeaker(id) {
    this.speaker = id;
    for (const [pid] of this.tiles) this.refresh(pid);
  }

  refresh(id) {
    const tile = this.tiles.get(id);
    if (!tile) return;
    const p = tile.participant || {};
    const publishing = Array.isArray(p.publishing) ? p.publishing : [];
    const muted = p.muted || {};
    let audioOff;
    let videoOff;
    if (tile.self) {
      audioOff = !tile.tracks.audio || tile.localMuted.audio;
      videoOff = !tile.tracks.video || tile.localMuted.video;
    } else {
      audioOff = !publishing.includes("audio") || Boolean(muted.audio);
      videoOff = !publishing.includes("video") || Boolean(muted.video) || !tile.tracks.video;
    }
    const isViewer = p.role === "viewer";
    tile.micOff.hidden = isViewer || !audioOff;
    tile.camOff.hidden = isViewer || !videoOff;
    tile.li.classList.toggle("no-video", videoOff);
    const reconnecting = p.connection === "reconnecting";
    tile.reconnecting.hidden = !reconnecting;
    tile.li.classList.toggle("reconnecting", reconnecting);
    const speaking = this.speaker === id;
    tile.speaking.hidden = !speaking;
    tile.li.classList.toggle("speaking", speaking);
  }
}
