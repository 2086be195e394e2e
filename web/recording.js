// The recording-consent gate (docs/protocol.md, "Recording consent"): a dialog asking each person
// "Czy zgadzasz się na nagrywanie tej wizyty?" when a host wants to record (or recording is on and we
// have not agreed), a visible red-dot "Nagrywanie" indicator while recording (a paused one says so),
// a way to withdraw, and for hosts a start/stop button. The server's `recording` state is the one
// truth; nothing is recorded by this page (the gate and its state only).

import { el, whileCurrent } from "./dom.js";

export class RecordingGate {
  /**
   * @param {object} options
   * @param {(key: string, vars?: object) => string} options.t
   * @param {(text: string) => void} options.announce
   */
  constructor({ t, announce }) {
    this.t = t;
    this.announce = announce;
    this.call = null;
    this.host = false;
    this.state = { active: false, since: null, paused: false, missing: [] };
    this.answer = null; // our answer in this call: true, false, or null (not asked yet)
    this.heard = false; // a `recording` event came (someone answered, a start was refused, recording began)
    this.built = false;
  }

  build() {
    if (this.built) return;
    this.built = true;
    const room = document.getElementById("view-room");
    const bar = el("div", "recording-bar");
    bar.id = "recording-bar";
    const indicator = el("p", "recording-indicator");
    indicator.id = "recording-indicator";
    indicator.setAttribute("role", "status");
    indicator.hidden = true;
    this.dot = el("span", "rec-dot");
    this.dot.setAttribute("aria-hidden", "true");
    this.label = el("span", "rec-label");
    indicator.append(this.dot, this.label);
    this.withdraw = el("button", "rec-withdraw", this.t("rec_withdraw"));
    this.withdraw.type = "button";
    this.withdraw.id = "recording-withdraw";
    this.withdraw.hidden = true;
    this.withdraw.addEventListener("click", () => this.send(false));
    this.note = el("p", "rec-note");
    this.note.id = "recording-note";
    this.note.hidden = true;
    bar.append(indicator, this.withdraw, this.note);
    room.insertBefore(bar, document.getElementById("lobby-panel"));
    this.indicator = indicator;

    const toggle = el("button", "toggle rec-toggle");
    toggle.type = "button";
    toggle.id = "recording-button";
    toggle.setAttribute("aria-pressed", "false");
    toggle.hidden = true;
    toggle.append(el("span", "rec-dot rec-dot-small"), el("span", "", this.t("rec_start")));
    toggle.firstChild.setAttribute("aria-hidden", "true");
    toggle.addEventListener("click", () => this.toggleRecording());
    const controls = document.querySelector("#view-room .controls");
    controls.insertBefore(toggle, document.getElementById("leave-button"));
    this.toggle = toggle;

    const dialog = el("dialog", "rec-dialog");
    dialog.id = "recording-consent-dialog";
    dialog.setAttribute("aria-labelledby", "recording-consent-title");
    dialog.setAttribute("aria-describedby", "recording-consent-text");
    const title = el("h2", "", this.t("rec_question"));
    title.id = "recording-consent-title";
    const text = el("p", "", this.t("rec_question_detail"));
    text.id = "recording-consent-text";
    const yes = el("button", "primary", this.t("rec_yes"));
    yes.type = "button";
    yes.id = "recording-consent-yes";
    yes.addEventListener("click", () => this.send(true));
    const no = el("button", "", this.t("rec_no"));
    no.type = "button";
    no.id = "recording-consent-no";
    no.addEventListener("click", () => this.send(false));
    const buttons = el("div", "rec-dialog-buttons");
    buttons.append(yes, no);
    dialog.append(title, text, buttons);
    dialog.addEventListener("cancel", (e) => e.preventDefault()); // an answer is needed: Escape is "no" below
    dialog.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.send(false);
    });
    document.body.append(dialog);
    this.dialog = dialog;
    this.yes = yes;
  }

  attach(call) {
    this.build();
    this.call = call;
    const mine = whileCurrent(this, call);
    call.addEventListener("welcome", mine((e) => this.onWelcome(e.detail)));
    call.socket.on("recording", mine((data) => {
      this.heard = true;
      this.onState(data);
    }));
    call.socket.on("recording_consent_requested", mine(() => this.ask()));
  }

  detach() {
    this.call = null;
    if (!this.built) return;
    this.state = { active: false, since: null, paused: false, missing: [] };
    this.answer = null;
    this.heard = false;
    if (this.dialog.open) this.dialog.close();
    this.render();
  }

  get me() {
    return this.call?.you?.id;
  }

  onWelcome(data) {
    if (data?.you?.state === "waiting") return;
    this.host = data?.you?.role === "host";
    if (data?.recording) this.onState(data.recording);
    else this.render();
  }

  onState(data) {
    if (!data || typeof data.active !== "boolean") return;
    const before = this.state;
    this.state = { active: data.active, since: data.since ?? null, paused: Boolean(data.paused),
      missing: Array.isArray(data.missing) ? data.missing.filter((id) => typeof id === "string") : [] };
    if (this.state.active !== before.active) this.announce(this.t(this.state.active ? "rec_started" : "rec_stopped"));
    else if (this.state.active && this.state.paused !== before.paused) {
      this.announce(this.t(this.state.paused ? "rec_paused" : "rec_resumed"));
    }
    // Recording (or paused for want of our answer) and we never answered: ask.
    if (this.state.active && this.answer === null && this.state.missing.includes(this.me)) this.ask();
    this.render();
  }

  ask() {
    if (!this.built || !this.call || this.dialog.open) return;
    this.dialog.showModal();
    this.yes.focus();
  }

  async send(granted) {
    if (this.dialog.open) this.dialog.close();
    if (!this.call) return;
    this.answer = granted;
    try {
      await this.call.request("recording_consent", { granted });
      this.announce(this.t(granted ? "rec_you_agreed" : "rec_you_refused"));
    } catch {
      this.answer = null; // the server did not take it: ask again next time
    }
    this.render();
  }

  async toggleRecording() {
    if (!this.call) return;
    try {
      await this.call.request(this.state.active ? "stop_recording" : "start_recording", {});
    } catch {
      // refused (recording_consent_missing): the page's error alert says why, the note says how many
    }
  }

  render() {
    if (!this.built) return;
    const { active, paused, missing } = this.state;
    this.indicator.hidden = !active;
    this.indicator.classList.toggle("paused", paused);
    this.label.textContent = this.t(paused ? "rec_indicator_paused" : "rec_indicator");
    this.withdraw.hidden = !(active && this.answer === true);
    this.toggle.hidden = !this.host || !this.call;
    this.toggle.setAttribute("aria-pressed", String(active));
    this.toggle.lastChild.textContent = this.t(active ? "rec_stop" : "rec_start");
    const waitingFor = this.host && (active || this.heard) ? missing.length : 0; // not before anyone asked
    this.note.hidden = waitingFor === 0;
    this.note.textContent = this.t("rec_missing", { n: waitingFor });
    document.body.classList.toggle("recording", active && !paused);
  }
}
