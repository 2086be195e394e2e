// Raised hands (docs/protocol.md, "Raised hands"): a "Podnieś rękę" toggle in the control bar
// (aria-pressed: pressed = raised), a badge with the place in the queue on the person's tile, and
// the queue itself, in order, above the tiles while anyone's hand is up; a host gets "Opuść rękę"
// for each person. The server's `hands {queue}` (and the `welcome`'s `hands`) is the one truth.

import { el, whileCurrent } from "./dom.js";

export class HandsPanel {
  /**
   * @param {object} options
   * @param {(key: string, vars?: object) => string} options.t
   * @param {(text: string) => void} options.announce
   * @param {(text: string) => void} options.alertError
   * @param {() => import("./tiles.js").TileGrid | null} options.tiles
   */
  constructor({ t, announce, alertError, tiles }) {
    this.t = t;
    this.announce = announce;
    this.alertError = alertError;
    this.tiles = tiles;
    this.call = null;
    this.host = false;
    this.queue = [];
    this.names = new Map();
    this.pending = false;
    this.lowering = new Set(); // ids with a lower_hand on its way
    this.built = false;
  }

  build() {
    if (this.built) return;
    this.built = true;
    const toggle = el("button", "toggle hand-toggle");
    toggle.type = "button";
    toggle.id = "hand-button";
    toggle.setAttribute("aria-pressed", "false");
    toggle.innerHTML = '<svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M18 6.5a1.5 1.5 0 0 0-1.5 1.5v4h-1V4.5a1.5 1.5 0 0 0-3 0V11h-1V3.5a1.5 1.5 0 0 0-3 0V11h-1V5.5a1.5 1.5 0 0 0-3 0V15a7 7 0 0 0 7 7h.5a6.5 6.5 0 0 0 6.5-6.5V8A1.5 1.5 0 0 0 18 6.5z"/></svg>';
    toggle.append(el("span", "", this.t("hand_raise")));
    toggle.addEventListener("click", () => this.toggleOwn());
    const controls = document.querySelector("#view-room .controls");
    controls.insertBefore(toggle, document.getElementById("leave-button"));
    this.toggle = toggle;

    const panel = el("section", "hands-panel");
    panel.id = "hands-panel";
    panel.setAttribute("aria-labelledby", "hands-heading");
    panel.hidden = true;
    this.heading = el("h2", "hands-heading");
    this.heading.id = "hands-heading";
    this.heading.tabIndex = -1;
    this.list = el("ol", "hands-list");
    this.list.id = "hands-list";
    this.list.setAttribute("aria-labelledby", "hands-heading");
    panel.append(this.heading, this.list);
    const room = document.getElementById("view-room");
    room.insertBefore(panel, document.getElementById("participants-heading"));
    this.panel = panel;
  }

  attach(call) {
    this.build();
    this.call = call;
    this.toggle.hidden = false;
    const mine = whileCurrent(this, call);
    call.addEventListener("welcome", mine((e) => this.onWelcome(e.detail)));
    for (const type of ["joined", "updated"]) {
      call.addEventListener(type, mine((e) => {
        if (e.detail?.id) this.names.set(e.detail.id, e.detail.name);
        this.render(); // a new or rebuilt tile gets its badge
      }));
    }
    call.socket.on("hands", mine((data) => this.onHands(data)));
  }

  detach() {
    this.call = null;
    if (!this.built) return;
    this.queue = [];
    this.toggle.hidden = true;
    this.panel.hidden = true;
    this.list.replaceChildren();
  }

  get me() {
    return this.call?.you?.id;
  }

  nameOf(id) {
    return this.names.get(id) || this.call?.participants.get(id)?.name || this.t("chat_someone");
  }

  onWelcome(data) {
    if (data?.you?.state === "waiting") return;
    if (data?.you?.id) this.names.set(data.you.id, data.you.name);
    for (const p of data?.participants || []) if (p?.id) this.names.set(p.id, p.name);
    this.host = data?.you?.role === "host";
    this.queue = Array.isArray(data?.hands?.queue) ? data.hands.queue.filter((id) => typeof id === "string") : [];
    this.render();
  }

  onHands(data) {
    if (!Array.isArray(data?.queue)) return;
    const before = this.queue;
    this.queue = data.queue.filter((id) => typeof id === "string");
    const raised = this.queue.filter((id) => !before.includes(id));
    const mineBefore = before.includes(this.me);
    const mineNow = this.queue.includes(this.me);
    if (!mineBefore && mineNow) this.announce(this.t("hand_raised_you", { n: this.queue.indexOf(this.me) + 1 }));
    else if (mineBefore && !mineNow) this.announce(this.t("hand_lowered_you"));
    for (const id of raised) if (id !== this.me) this.announce(this.t("hand_raised_other", { name: this.nameOf(id) }));
    this.render();
  }

  render() {
    if (!this.built) return;
    const mine = this.queue.includes(this.me);
    this.toggle.setAttribute("aria-pressed", String(mine));
    const n = this.queue.length;
    this.panel.hidden = n === 0;
    this.heading.textContent = this.t("hands_heading", { n });
    const active = document.activeElement;
    const focusIndex = [...this.list.children].findIndex((li) => li.contains(active));
    this.list.replaceChildren(...this.queue.map((id) => this.item(id)));
    if (focusIndex >= 0 && !this.list.contains(document.activeElement)) {
      const next = this.list.children[Math.min(focusIndex, n - 1)];
      (next?.querySelector("button") || this.toggle).focus();
    }
    const tiles = this.tiles();
    if (tiles) for (const [id] of tiles.tiles) tiles.setHand(id, this.queue.includes(id) ? this.queue.indexOf(id) + 1 : null);
  }

  item(id) {
    const li = el("li", "hands-item");
    li.dataset.participantId = id;
    const name = this.nameOf(id);
    li.append(el("span", "hands-name", id === this.me ? `${name} ${this.t("you_suffix")}` : name));
    if (this.host) {
      const lower = el("button", "toggle hands-lower", this.t("hand_lower"));
      lower.type = "button";
      lower.append(el("span", "visually-hidden", ` ${name}`));
      lower.addEventListener("click", () => this.lower(id));
      li.append(lower);
    }
    return li;
  }

  async toggleOwn() {
    if (!this.call) return;
    if (this.pending) return; // one at a time; the button keeps the focus (a disabled one would lose it)
    const raised = this.queue.includes(this.me);
    this.pending = true;
    try {
      await this.call.request(raised ? "lower_hand" : "raise_hand", {});
    } catch (err) {
      if (err?.code === "timeout") this.alertError(this.t("error_internal"));
    } finally {
      this.pending = false;
    }
  }

  async lower(id) {
    if (!this.call || this.lowering.has(id)) return; // not disabled: the button keeps the focus until it goes
    this.lowering.add(id);
    try {
      await this.call.request("lower_hand", id === this.me ? {} : { participant_id: id });
    } catch (err) {
      if (err?.code === "timeout") this.alertError(this.t("error_internal"));
    } finally {
      this.lowering.delete(id);
    }
  }
}
