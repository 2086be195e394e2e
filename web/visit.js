// A consultation in the browser client (loaded by app.js for rooms of kind "consultation"; protocol in
// docs/protocol.md, "Consultations"). Both sides see the visit's timer. The clinician (a host) gets, per
// patient in the call, hold / resume and "send back to the waiting room", a "complete the visit" dialog
// (outcome and a short note), the end-of-slot warning and the patient's in-person request. The patient
// gets the hold notice and a button to ask for an in-person visit. Text only: nothing here is markup.

import { el } from "./dom.js";

const OUTCOMES = ["completed", "in_person_needed", "no_show", "technical_failure"];
const NOTE_MAX = 2000;

/** "m:ss", or "h:mm:ss" from an hour on. */
export function clockText(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export class VisitPanel {
  constructor({ t, announce, alertError, call, you }) {
    this.t = t;
    this.announce = announce;
    this.alertError = alertError;
    this.call = call;
    this.you = you;
    this.clinician = you.role === "host";
    this.state = null; // the latest `visit`
    this.received = 0; // performance.now() when it came: the timer counts on from there
    this.requests = new Set(); // in-person requests already announced
    this.ticker = null;
  }

  attach() {
    const room = document.getElementById("view-room");
    const panel = el("section", "visit-panel");
    panel.id = "visit-panel";
    panel.setAttribute("aria-labelledby", "visit-heading");
    const heading = el("h2", "visually-hidden", this.t("visit_heading"));
    heading.id = "visit-heading";
    this.timer = el("p", "visit-timer", this.t("visit_timer_waiting"));
    this.timer.id = "visit-timer";
    this.notice = el("div", "visit-hold-notice");
    this.notice.id = "visit-hold-notice";
    this.notice.setAttribute("role", "alert");
    this.notice.hidden = true;
    this.notice.append(el("p", "visit-hold-title", this.t("visit_hold_notice")), el("p", "", this.t("visit_hold_detail")));
    this.slot = el("p", "visit-slot");
    this.slot.id = "visit-slot";
    this.slot.setAttribute("role", "status");
    this.slot.hidden = true;
    this.requestsLine = el("ul", "visit-requests");
    this.requestsLine.id = "visit-requests";
    this.patients = el("ul", "visit-patients");
    this.patients.id = "visit-patients";
    panel.append(heading, this.notice, this.timer, this.slot, this.requestsLine);
    if (this.clinician) {
      const complete = el("button", "danger", this.t("visit_complete"));
      complete.type = "button";
      complete.id = "visit-complete";
      complete.addEventListener("click", () => this.openDialog());
      panel.append(this.patients, complete, this.dialog());
    } else {
      const ask = el("button", "", this.t("visit_request_in_person"));
      ask.type = "button";
      ask.id = "visit-request-in-person";
      ask.addEventListener("click", () => this.requestInPerson(ask));
      this.requestStatus = el("p", "visit-request-status");
      this.requestStatus.setAttribute("role", "status");
      panel.append(ask, this.requestStatus);
      // The waiting room too: a patient may ask before being let in.
      const waitingAsk = ask.cloneNode(true);
      waitingAsk.id = "visit-request-in-person-waiting";
      waitingAsk.addEventListener("click", () => this.requestInPerson(waitingAsk));
      document.getElementById("waiting-leave-button")?.parentElement?.before(waitingAsk);
    }
    room.querySelector(".stage-area").before(panel);
    this.panel = panel;
    const on = (name, fn) => this.call.addEventListener(name, (e) => fn(e.detail));
    on("visit", (state) => this.onVisit(state));
    on("visit_slot", (slot) => this.onSlot(slot));
    on("self", (you) => this.onSelf(you));
    on("welcome", (data) => {
      if (data.sentBack) this.announce(this.t("visit_sent_back"));
      this.onSelf(data.you || {});
      this.renderPatients();
    });
    for (const name of ["joined", "updated", "left"]) on(name, () => this.renderPatients());
    on("ended", () => this.detach());
    this.ticker = setInterval(() => this.renderTimer(), 1000);
    this.renderPatients(); // the call may be going already when this module arrives
  }

  detach() {
    clearInterval(this.ticker);
    this.ticker = null;
  }

  onVisit(state) {
    this.state = state;
    this.received = performance.now();
    this.renderTimer();
    this.renderPatients();
    for (const request of state.in_person_requests || []) {
      if (this.requests.has(request.participant_id)) continue;
      this.requests.add(request.participant_id);
      const name = this.nameOf(request.participant_id);
      const line = el("li", "visit-request", this.t("visit_in_person_requested", { name }));
      this.requestsLine.append(line);
      if (this.clinician) this.announce(line.textContent);
    }
  }

  nameOf(id) {
    if (id === this.you.id) return this.you.name;
    return this.call.participants.get(id)?.name || "?";
  }

  renderTimer() {
    const timer = this.state?.timer;
    if (!timer || !timer.started_at) return;
    const extra = timer.running ? (performance.now() - this.received) / 1000 : 0;
    const time = clockText((timer.elapsed_seconds || 0) + extra);
    this.timer.textContent = this.t(timer.running ? "visit_timer" : "visit_timer_paused", { time });
  }

  onSlot(slot) {
    if (!this.clinician) return;
    const text = slot.phase === "ended" ? this.t("visit_slot_ended")
      : this.t("visit_slot_ending", { n: Math.max(1, Math.round((slot.warning_seconds || 0) / 60)) });
    this.slot.textContent = text;
    this.slot.hidden = false;
    this.slot.dataset.phase = slot.phase;
    this.announce(text);
  }

  onSelf(you) {
    if (this.clinician || !you?.state) return;
    const held = you.state === "on_hold";
    if (this.notice.hidden === !held) return;
    this.notice.hidden = !held;
    document.getElementById("view-room")?.classList.toggle("visit-held", held);
    if (!held && you.state === "in_call") this.announce(this.t("visit_resumed"));
  }

  /** The clinician's buttons for each patient in the call (hosts have none). */
  renderPatients() {
    if (!this.clinician) return;
    const rows = [];
    for (const p of this.call.participants.values()) {
      if (p.role === "host" || !["in_call", "on_hold", "reconnecting"].includes(p.state)) continue;
      const li = el("li", "visit-patient");
      li.dataset.participantId = p.id;
      const held = p.state === "on_hold";
      li.append(el("span", "visit-patient-name", held ? `${p.name} (${this.t("visit_on_hold_label")})` : p.name));
      const hold = this.button(held ? "visit_resume" : "visit_hold", p.name, () =>
        this.act(held ? "visit_resume" : "visit_hold", { participant_id: p.id }));
      hold.classList.add("visit-hold");
      const back = this.button("visit_send_back", p.name, () => this.act("visit_send_back", { participant_id: p.id }));
      back.classList.add("visit-send-back");
      li.append(hold, back);
      rows.push(li);
    }
    this.patients.replaceChildren(...rows);
  }

  button(key, name, onClick) {
    const button = el("button", "", this.t(key));
    button.type = "button";
    const hidden = el("span", "visually-hidden", ` ${name}`);
    button.append(hidden);
    button.addEventListener("click", onClick);
    return button;
  }

  async act(event, data) {
    try {
      await this.call.request(event, data);
    } catch (err) {
      if (err?.code === "timeout") this.alertError(this.t("error_internal")); // a refusal came as `error` too
    }
  }

  async requestInPerson(button) {
    button.disabled = true;
    try {
      await this.call.request("visit_request_in_person", {});
      this.requestStatus.textContent = this.t("visit_request_sent"); // a status region: read out by itself
      for (const b of document.querySelectorAll("#visit-request-in-person, #visit-request-in-person-waiting")) {
        b.disabled = true;
      }
    } catch (err) {
      button.disabled = false;
      if (err?.code === "timeout") this.alertError(this.t("error_internal"));
    }
  }

  dialog() {
    const dialog = el("dialog", "visit-dialog");
    dialog.id = "visit-dialog";
    dialog.setAttribute("aria-labelledby", "visit-dialog-heading");
    const form = el("form");
    form.method = "dialog";
    const heading = el("h2", "", this.t("visit_complete_heading"));
    heading.id = "visit-dialog-heading";
    const fieldset = el("fieldset");
    fieldset.append(el("legend", "", this.t("visit_outcome")));
    OUTCOMES.forEach((outcome, index) => {
      const label = el("label", "visit-outcome");
      const input = el("input");
      input.type = "radio";
      input.name = "visit-outcome";
      input.value = outcome;
      input.checked = index === 0;
      label.append(input, ` ${this.t(`visit_outcome_${outcome}`)}`);
      fieldset.append(label);
    });
    const noteLabel = el("label", "visit-note-label", this.t("visit_note"));
    noteLabel.htmlFor = "visit-note";
    const note = el("textarea");
    note.id = "visit-note";
    note.maxLength = NOTE_MAX;
    note.rows = 4;
    const buttons = el("div", "visit-dialog-buttons");
    const cancel = el("button", "", this.t("visit_cancel"));
    cancel.type = "button";
    cancel.addEventListener("click", () => dialog.close());
    const confirm = el("button", "danger", this.t("visit_complete_confirm"));
    confirm.type = "submit";
    confirm.id = "visit-complete-confirm";
    buttons.append(cancel, confirm);
    form.append(heading, fieldset, noteLabel, note, buttons);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const outcome = form.querySelector("input[name=visit-outcome]:checked")?.value || "completed";
      const text = note.value.replace(/\r\n?/g, "\n").trim();
      dialog.close();
      this.complete(outcome, text || null);
    });
    dialog.append(form);
    this.dialogEl = dialog;
    return dialog;
  }

  openDialog() {
    if (typeof this.dialogEl.showModal === "function") this.dialogEl.showModal();
    else this.dialogEl.setAttribute("open", "");
  }

  async complete(outcome, note) {
    // The visit ends for everyone once it is recorded (`room_ended` closes the page's call), so the ack may
    // not come: a refusal (`visit_completed`) comes as an `error` event, shown by the page.
    if (this.call.socket?.connected) this.call.socket.emit("visit_complete", note ? { outcome, note } : { outcome });
  }
}
