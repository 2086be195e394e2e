// Host controls, both sides (docs/web-client.md, "Participants and host controls").
//
// PeoplePanel: "Uczestnicy (n)" in the control bar opens a panel listing everyone in the call with
// their state (in the call, reconnecting; microphone or camera off; host, member or viewer; a raised
// hand or a shared screen, read from the participant's fields, and any badge another module sets with
// `setBadge`). For a host each other person's row has "Wycisz mikrofon", "Wyłącz kamerę", "Poproś o
// włączenie mikrofonu", "Zrób widzem" / "Zrób uczestnikiem" and "Usuń" (confirmed in a dialog), and
// the control bar has "Zakończ dla wszystkich" (confirmed too).
//
// HostRequests: what a host's action means on the other side: `muted_by_host` turns the track off
// (the page's mute toggle shows it) and says so; `unmute_requested` shows a prompt whose button
// unmutes (the person decides); becoming a viewer stops publishing and hides the toggles, becoming a
// member again offers "Włącz mikrofon i kamerę" on the same connection. Removal and the end of the
// meeting are final codes: the page's end view says why.

import { el, whileCurrent } from "./dom.js";

/** A button whose visible word is `word` and whose accessible name is "word name". */
function namedButton(word, name, className) {
  const button = el("button", className);
  button.type = "button";
  const hidden = el("span", "visually-hidden", ` ${name}`);
  button.append(word, hidden);
  return button;
}

const ICON_PEOPLE = '<svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zm7.5 0a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM9 13c-3.3 0-7 1.6-7 4v3h14v-3c0-2.4-3.7-4-7-4zm7.5 0c-.5 0-1 0-1.6.1 1.3.9 2.1 2.2 2.1 3.9v3h5v-3c0-2.3-3-4-5.5-4z"/></svg>';
const ICON_END = '<svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M6 6h12v12H6z"/></svg>';

/** A modal confirmation (native <dialog>: focus kept inside, Escape cancels). Resolves true or false. */
class Confirm {
  constructor(t) {
    this.t = t;
    this.dialog = null;
  }

  build() {
    if (this.dialog) return;
    const dialog = el("dialog", "confirm-dialog");
    dialog.id = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-title");
    dialog.setAttribute("aria-describedby", "confirm-text");
    const title = el("h2", "confirm-title");
    title.id = "confirm-title";
    const text = el("p", "confirm-text");
    text.id = "confirm-text";
    const buttons = el("div", "confirm-buttons");
    const yes = el("button", "danger");
    yes.type = "button";
    yes.id = "confirm-yes";
    const no = el("button", "toggle", this.t("confirm_cancel"));
    no.type = "button";
    no.id = "confirm-no";
    yes.addEventListener("click", () => dialog.close("yes"));
    no.addEventListener("click", () => dialog.close("no"));
    buttons.append(yes, no);
    dialog.append(title, text, buttons);
    document.body.append(dialog);
    Object.assign(this, { dialog, title, text, yes, no });
  }

  ask({ title, text, confirm }) {
    this.build();
    const back = document.activeElement;
    this.title.textContent = title;
    this.text.textContent = text;
    this.yes.textContent = confirm;
    this.dialog.returnValue = "";
    return new Promise((resolve) => {
      this.dialog.addEventListener("close", () => {
        if (back?.isConnected) back.focus();
        resolve(this.dialog.returnValue === "yes");
      }, { once: true });
      this.dialog.showModal();
      this.no.focus(); // the safe choice first
    });
  }

  cancel() {
    if (this.dialog?.open) this.dialog.close("no");
  }
}

export class PeoplePanel {
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
    this.confirm = new Confirm(t);
    this.call = null;
    this.host = false;
    this.open = false;
    this.badges = new Map(); // participant id -> Map(name -> label)
    this.pending = new Set(); // "id:action" on its way
    this.built = false;
  }

  build() {
    if (this.built) return;
    this.built = true;
    const t = this.t;
    const controls = document.querySelector("#view-room .controls");
    const leave = document.getElementById("leave-button");

    const toggle = el("button", "toggle people-toggle");
    toggle.type = "button";
    toggle.id = "people-toggle";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", "people-panel");
    toggle.innerHTML = ICON_PEOPLE;
    this.toggleLabel = el("span", "", t("people_toggle", { n: 1 }));
    toggle.append(this.toggleLabel);
    toggle.addEventListener("click", () => this.setOpen(!this.open));
    controls.insertBefore(toggle, leave);
    this.toggle = toggle;

    const end = el("button", "danger end-all");
    end.type = "button";
    end.id = "end-all-button";
    end.innerHTML = ICON_END;
    end.append(el("span", "", t("end_for_all")));
    end.hidden = true;
    end.addEventListener("click", () => this.endForAll());
    controls.append(end); // after "Opuść spotkanie": the last, the most final
    this.endButton = end;

    const panel = el("aside", "people-panel");
    panel.id = "people-panel";
    panel.setAttribute("aria-labelledby", "people-heading");
    panel.hidden = true;
    const head = el("div", "people-head");
    const heading = el("h2", "people-heading");
    heading.id = "people-heading";
    heading.tabIndex = -1;
    const close = el("button", "toggle people-close", t("people_close"));
    close.type = "button";
    close.addEventListener("click", () => this.setOpen(false, { returnFocus: true }));
    head.append(heading, close);
    this.list = el("ul", "people-list");
    this.list.id = "people-list";
    this.list.setAttribute("aria-labelledby", "people-heading");
    this.list.tabIndex = 0; // scrollable: reachable from the keyboard
    panel.append(head, this.list);
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.setOpen(false, { returnFocus: true });
    });
    document.getElementById("view-room").append(panel);
    this.panel = panel;
    this.heading = heading;
  }

  attach(call) {
    this.build();
    this.call = call;
    this.toggle.hidden = false;
    const mine = whileCurrent(this, call);
    call.addEventListener("welcome", mine((e) => {
      this.setHost(e.detail?.you?.role === "host" && e.detail?.you?.state !== "waiting");
      this.render();
    }));
    for (const type of ["joined", "updated", "left"]) call.addEventListener(type, mine(() => this.render()));
    call.addEventListener("self", mine(() => this.render())); // our own row (a role change, a host's mute)
  }

  detach() {
    this.call = null;
    this.badges.clear();
    this.pending.clear();
    this.confirm.cancel();
    if (!this.built) return;
    this.setHost(false);
    this.setOpen(false);
    this.toggle.hidden = true;
    this.list.replaceChildren();
  }

  setHost(host) {
    this.host = host;
    if (this.built) this.endButton.hidden = !host;
  }

  setOpen(open, { returnFocus = false } = {}) {
    if (!this.built) return;
    this.open = open;
    this.panel.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    document.getElementById("view-room").classList.toggle("people-open", open);
    if (open) {
      this.render();
      this.heading.focus();
    } else if (returnFocus) {
      this.toggle.focus();
    }
  }

  /**
   * Show (or hide) a badge on someone's row: `name` identifies it (e.g. "hand", "sharing"), `label` is
   * its visible text. Other modules call this; the participant's own `hand_raised_at` and `sharing`
   * fields show without it.
   */
  setBadge(id, name, on, label = name) {
    const mineFor = this.badges.get(id) || new Map();
    if (on) mineFor.set(name, label);
    else mineFor.delete(name);
    if (mineFor.size) this.badges.set(id, mineFor);
    else this.badges.delete(id);
    this.render();
  }

  /** Everyone in the call: ourselves first, then the others in the order the call knows them. */
  people() {
    const call = this.call;
    if (!call?.you) return [];
    const others = [...call.participants.values()].filter((p) => p.state !== "waiting");
    return [{ ...call.you, self: true }, ...others];
  }

  render() {
    if (!this.built || !this.call) return;
    const people = this.people();
    const t = this.t;
    this.toggleLabel.textContent = t("people_toggle", { n: people.length });
    this.heading.textContent = t("people_heading", { n: people.length });
    if (!this.open) return;
    const active = document.activeElement;
    const focused = this.list.contains(active)
      ? { id: active.closest("li")?.dataset.participantId, action: active.dataset.action }
      : null;
    this.list.replaceChildren(...people.map((p) => this.row(p)));
    if (focused && !this.list.contains(document.activeElement)) {
      // The row was rebuilt (or its person left): keep the keyboard where it was, or close by.
      const li = this.list.querySelector(`li[data-participant-id="${CSS.escape(focused.id || "")}"]`);
      const target = li?.querySelector(`button[data-action="${focused.action}"]`) || li?.querySelector("button")
        || li || this.heading;
      target.focus();
    }
  }

  stateWords(p) {
    const t = this.t;
    const words = [t(`people_role_${p.role}`) !== `people_role_${p.role}` ? t(`people_role_${p.role}`) : p.role];
    words.push(p.state === "reconnecting" || p.connection === "reconnecting" ? t("participant_reconnecting")
      : p.state === "on_hold" ? t("people_on_hold") : t("people_in_call"));
    if (p.role !== "viewer") {
      const publishing = Array.isArray(p.publishing) ? p.publishing : [];
      const muted = p.muted || {};
      if (p.self) {
        if (this.call.muted?.audio || !this.call.localTrack?.("audio")) words.push(t("mic_off").toLowerCase());
        if (this.call.muted?.video || !this.call.localTrack?.("video")) words.push(t("camera_off").toLowerCase());
      } else {
        if (!publishing.includes("audio") || muted.audio) words.push(t("mic_off").toLowerCase());
        if (!publishing.includes("video") || muted.video) words.push(t("camera_off").toLowerCase());
      }
    }
    return words;
  }

  row(p) {
    const t = this.t;
    const li = el("li", "people-item");
    li.dataset.participantId = p.id;
    li.tabIndex = -1;
    const who = el("p", "people-who");
    who.append(el("span", "people-name", p.self ? `${p.name} ${t("you_suffix")}` : p.name));
    who.append(el("span", "people-state", this.stateWords(p).join(" · ")));
    const badges = el("span", "people-badges");
    const extra = new Map(this.badges.get(p.id) || []);
    if (p.hand_raised_at && !extra.has("hand")) extra.set("hand", t("people_hand"));
    if (p.sharing && !extra.has("sharing")) extra.set("sharing", t("people_sharing"));
    for (const [name, label] of extra) {
      const badge = el("span", `badge people-badge ${name}`, label);
      badges.append(badge);
    }
    if (extra.size) who.append(badges);
    li.append(who);
    if (this.host && !p.self) {
      const actions = el("div", "people-actions");
      const publishing = Array.isArray(p.publishing) ? p.publishing : [];
      const muted = p.muted || {};
      const add = (action, word, className, run) => {
        const button = namedButton(word, p.name, className);
        button.dataset.action = action;
        button.addEventListener("click", () => this.act(p, action, run));
        actions.append(button);
      };
      if (p.role !== "viewer") {
        if (publishing.includes("audio") && !muted.audio) {
          add("mute-audio", t("people_mute_mic"), "toggle", () => this.call.muteParticipant(p.id, "audio"));
        } else {
          add("ask-unmute", t("people_ask_unmute"), "toggle", () => this.call.askUnmute(p.id, "audio"));
        }
        if (publishing.includes("video") && !muted.video) {
          add("mute-video", t("people_mute_camera"), "toggle", () => this.call.muteParticipant(p.id, "video"));
        }
      }
      if (p.role === "member") add("make-viewer", t("people_make_viewer"), "toggle", () => this.call.setRole(p.id, "viewer"));
      if (p.role === "viewer") add("make-member", t("people_make_member"), "toggle", () => this.call.setRole(p.id, "member"));
      if (p.role !== "host") add("remove", t("people_remove"), "danger", () => this.remove(p));
      li.append(actions);
    }
    return li;
  }

  async act(p, action, run) {
    const key = `${p.id}:${action}`;
    if (!this.call || this.pending.has(key)) return;
    this.pending.add(key);
    try {
      const done = await run();
      if (done === false) return; // cancelled
      const said = { "mute-audio": "people_muted_mic", "mute-video": "people_muted_camera", "ask-unmute": "people_asked",
        "make-viewer": "people_made_viewer", "make-member": "people_made_member", remove: "people_removed" }[action];
      if (said) this.announce(this.t(said, { name: p.name }));
    } catch (err) {
      // A refusal came as an `error` event too (shown by the page); only a timeout needs saying here.
      if (err?.code === "timeout") this.alertError(this.t("error_internal"));
    } finally {
      this.pending.delete(key);
    }
  }

  async remove(p) {
    const yes = await this.confirm.ask({
      title: this.t("remove_confirm_title", { name: p.name }),
      text: this.t("remove_confirm_text"),
      confirm: this.t("remove_confirm_yes"),
    });
    if (!yes || !this.call) return false;
    await this.call.removeParticipant(p.id);
    return true;
  }

  async endForAll() {
    if (!this.call) return;
    const yes = await this.confirm.ask({
      title: this.t("end_confirm_title"),
      text: this.t("end_confirm_text"),
      confirm: this.t("end_for_all"),
    });
    if (yes && this.call) this.call.endMeeting(); // everyone's page, ours too, ends with `room_ended`
  }
}

export class HostRequests {
  /**
   * What a host's action means for this page.
   * @param {object} options
   * @param {(key: string, vars?: object) => string} options.t
   * @param {(text: string) => void} options.announce
   * @param {object} options.local   the page's own media: {muted(kind), setMuted(kind, muted),
   *                                 toggle(kind), hasTrack(kind), stopPublishing(), startPublishing()}
   */
  constructor({ t, announce, local }) {
    this.t = t;
    this.announce = announce;
    this.local = local;
    this.call = null;
    this.prompt = null;
    this.role = null;
  }

  build() {
    if (this.prompt) return;
    const prompt = el("div", "host-prompt");
    prompt.id = "host-prompt";
    prompt.setAttribute("role", "region");
    prompt.setAttribute("aria-labelledby", "host-prompt-text");
    prompt.hidden = true;
    const text = el("p", "host-prompt-text");
    text.id = "host-prompt-text";
    const buttons = el("div", "host-prompt-buttons");
    const yes = el("button", "primary");
    yes.type = "button";
    yes.id = "host-prompt-yes";
    const no = el("button", "toggle", this.t("prompt_not_now"));
    no.type = "button";
    no.addEventListener("click", () => this.hide());
    buttons.append(yes, no);
    prompt.append(text, buttons);
    const room = document.getElementById("view-room");
    room.insertBefore(prompt, document.getElementById("participants-heading"));
    Object.assign(this, { prompt, text, yes });
  }

  attach(call) {
    this.build();
    this.call = call;
    this.role = null;
    this.hide();
    const mine = whileCurrent(this, call);
    call.addEventListener("welcome", mine((e) => {
      if (e.detail?.you) this.roleIs(e.detail.you.role);
    }));
    call.socket.on("muted_by_host", mine((data) => this.mutedByHost(data?.kind)));
    call.socket.on("unmute_requested", mine((data) => this.unmuteRequested(data?.kind)));
    call.addEventListener("self", mine((e) => this.roleIs(e.detail?.role)));
  }

  detach() {
    this.call = null;
    this.hide();
  }

  hide() {
    if (this.prompt) this.prompt.hidden = true;
    if (this.yes) this.yes.onclick = null;
  }

  show(text, action, run) {
    this.build();
    this.text.textContent = text;
    this.yes.textContent = action;
    this.yes.onclick = async () => {
      this.hide();
      await run();
    };
    this.prompt.hidden = false;
    this.announce(text);
  }

  mutedByHost(kind) {
    if (kind !== "audio" && kind !== "video" || !this.call) return;
    this.call.mutedByHost(kind);
    this.local.setMuted(kind, true);
    this.announce(this.t(kind === "audio" ? "host_muted_your_mic" : "host_muted_your_camera"));
  }

  unmuteRequested(kind) {
    if (kind !== "audio" && kind !== "video" || !this.call) return;
    const ask = this.t(kind === "audio" ? "host_asks_unmute_mic" : "host_asks_unmute_camera");
    if (!this.local.hasTrack(kind)) {
      this.announce(`${ask} ${this.t(kind === "audio" ? "no_microphone_here" : "no_camera_here")}`);
      return;
    }
    if (!this.local.muted(kind)) return; // already on: nothing to decide
    this.show(ask, this.t(kind === "audio" ? "unmute_mic_action" : "unmute_camera_action"), async () => {
      if (this.local.muted(kind)) await this.local.toggle(kind);
    });
  }

  /** Our role in this call: a viewer publishes nothing; a member may publish again (we offer it). */
  roleIs(role) {
    const before = this.role;
    this.role = role;
    if (!before || before === role) return;
    if (role === "viewer") {
      this.hide();
      this.local.stopPublishing();
      this.announce(this.t("you_are_viewer_now"));
    } else if (before === "viewer" && role === "member") {
      this.show(this.t("you_may_publish_now"), this.t("start_publishing_action"), () => this.local.startPublishing());
    }
  }
}
