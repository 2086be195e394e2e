// Screen sharing (docs/protocol.md, "Screen sharing"): "Udostępnij ekran" in the control bar asks the
// browser for a screen, window or tab (getDisplayMedia) and publishes it beside the camera; the
// room then shows the shared screen large on the stage (`#screen-stage`) with everyone's tiles in a
// strip beside or under it. The button says "Zatrzymaj udostępnianie" while sharing; the browser's
// own "Stop sharing" ends the track, which stops the share the same way. One sharer per room: while
// someone else shares, pressing it only says so. The button is not offered where the browser cannot
// share a screen (phones: no getDisplayMedia) nor to a viewer.

const SCREEN_CONSTRAINTS = { video: { frameRate: { ideal: 15, max: 30 } }, audio: false };
const SHARE_ICON = "M20 18a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2H0v2h24v-2h-4zM4 16V6h16v10H4z" +
  "m8-8.5L8.5 11H11v3h2v-3h2.5L12 7.5z";

/** Whether this browser can share a screen at all (desktop browsers; not phones). */
export function canShareScreen() {
  return typeof navigator.mediaDevices?.getDisplayMedia === "function";
}

export class ScreenShare {
  /**
   * @param {object} options
   * @param {(key: string, vars?: object) => string} options.t
   * @param {(text: string) => void} options.announce    the page's polite live region
   * @param {(text: string) => void} options.alertError  the page's visible, assertive errors
   */
  constructor({ t, announce, alertError }) {
    this.t = t;
    this.announce = announce;
    this.alertError = alertError;
    this.call = null;
    this.track = null; // our shared screen while we share
    this.starting = false;
    this.shown = null; // {id, track} on the stage now
    this.button = null;
    this.listeners = [];
  }

  /** Build the button (in the control bar, before "Opuść spotkanie") once. */
  build() {
    if (this.button) return;
    const button = document.createElement("button");
    button.type = "button";
    button.id = "share-button";
    button.className = "toggle";
    button.setAttribute("aria-pressed", "false");
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    for (const [k, v] of Object.entries({ class: "icon", "aria-hidden": "true", focusable: "false", viewBox: "0 0 24 24", width: "20", height: "20" })) {
      svg.setAttribute(k, v);
    }
    const path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", SHARE_ICON);
    svg.append(path);
    this.label = document.createElement("span");
    button.append(svg, this.label);
    button.hidden = true;
    button.addEventListener("click", () => (this.track ? this.stop() : this.start()));
    document.querySelector("#view-room .controls").insertBefore(button, document.getElementById("leave-button"));
    this.button = button;
    this.stage = document.getElementById("screen-stage");
    this.video = document.getElementById("screen-video");
    this.caption = document.getElementById("screen-caption");
    this.area = document.getElementById("stage-area");
  }

  /** Follow a call: its welcome (who may share), others' `sharing` and the tracks we receive. */
  attach(call) {
    this.detach();
    this.build();
    this.call = call;
    const on = (type, fn) => {
      call.addEventListener(type, fn);
      this.listeners.push([type, fn]);
    };
    on("welcome", () => this.render());
    for (const type of ["joined", "updated", "left", "media"]) on(type, () => this.render());
    this.render();
  }

  /** The call ended: stop sharing, empty the stage. */
  detach() {
    if (this.call) for (const [type, fn] of this.listeners) this.call.removeEventListener(type, fn);
    this.listeners = [];
    this.call = null;
    this.stopTrack();
    this.render();
  }

  /** May we offer the button: a browser that can share, someone who may publish. */
  get offered() {
    const role = this.call?.you?.role;
    return canShareScreen() && Boolean(this.call) && role !== "viewer" && this.call.you?.state !== "waiting";
  }

  /** Who else shares now (one at a time), or null. */
  otherSharer() {
    for (const p of this.call?.participants?.values?.() || []) if (p.sharing) return p;
    return null;
  }

  async start() {
    if (!this.call || this.track || this.starting) return;
    const other = this.otherSharer();
    if (other) {
      this.alertError(this.t("share_someone_else", { name: other.name }));
      return;
    }
    this.starting = true;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia(SCREEN_CONSTRAINTS);
    } catch (err) {
      this.starting = false;
      // Cancelling the browser's picker is a choice, not a failure.
      if (err?.name !== "NotAllowedError" && err?.name !== "AbortError") this.alertError(this.t("share_failed"));
      return;
    }
    const track = stream.getVideoTracks()[0];
    if (!track || !this.call) {
      for (const t of stream.getTracks()) t.stop();
      this.starting = false;
      return;
    }
    if ("contentHint" in track) track.contentHint = "detail"; // text stays sharp rather than smooth
    track.addEventListener("ended", () => {
      if (this.track === track) this.stop(); // the browser's own "Stop sharing"
    });
    this.track = track;
    this.render();
    try {
      await this.call.setScreen(track);
      this.announce(this.t("share_started"));
    } catch (err) {
      // Refused (someone else began first: the server said why) or lost: send the camera alone again.
      console.warn("konsylium: share", err);
      if (this.track === track) await this.stop({ quiet: true });
    } finally {
      this.starting = false;
      this.render();
    }
  }

  async stop({ quiet = false } = {}) {
    const had = this.stopTrack();
    this.render();
    if (!had || !this.call) return;
    try {
      await this.call.setScreen(null);
    } catch (err) {
      console.warn("konsylium: stop sharing", err);
    }
    if (!quiet) this.announce(this.t("share_stopped"));
  }

  stopTrack() {
    const track = this.track;
    this.track = null;
    if (track) track.stop();
    return Boolean(track);
  }

  /** What the stage shows: our own screen while we share, else the sharer's, else nothing. */
  current() {
    if (this.track && this.call) return { id: this.call.you?.id, track: this.track, self: true };
    for (const [id, entry] of this.call?.media || []) {
      const p = this.call.participants.get(id);
      if (entry?.screen && p?.sharing !== false) return { id, track: entry.screen, self: false, name: p?.name };
    }
    return null;
  }

  render() {
    if (!this.button) return;
    const sharing = Boolean(this.track);
    this.button.hidden = !this.offered;
    this.button.setAttribute("aria-pressed", String(sharing));
    this.button.disabled = this.starting;
    this.label.textContent = this.t(sharing ? "share_stop" : "share_screen");
    const shown = this.call ? this.current() : null;
    const was = this.shown;
    this.shown = shown;
    this.stage.hidden = !shown;
    this.area.classList.toggle("spotlight", Boolean(shown));
    if (!shown) {
      if (this.video.srcObject) this.video.srcObject = null;
      delete this.stage.dataset.participantId;
      if (was && !was.self) this.announce(this.t("share_ended_other"));
      return;
    }
    this.stage.dataset.participantId = shown.id || "";
    this.video.dataset.screenOf = shown.id || "";
    this.caption.textContent = shown.self ? this.t("share_yours") : this.t("share_of", { name: shown.name || "?" });
    this.stage.setAttribute("aria-label", this.caption.textContent);
    if (this.video.srcObject?.getVideoTracks?.()[0] !== shown.track) {
      this.video.srcObject = new MediaStream([shown.track]);
      this.video.play().catch(() => {});
    }
    if (!shown.self && (!was || was.id !== shown.id)) this.announce(this.t("share_of_announce", { name: shown.name || "?" }));
  }
}
