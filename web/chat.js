// The room's chat (docs/protocol.md, "Chat"): a side panel toggled from the control bar, with the
// messages (sender, time, text), a field and "Wyślij" (Enter sends). Text is only ever set with
// textContent: markup in a message is shown as the characters it is. A host sees "Usuń" on each
// message. New messages from others are announced politely and counted on the toggle while the
// panel is closed. The history comes with every `welcome` (and `admitted`): the list is rebuilt then.

import { el, whileCurrent } from "./dom.js";

const MAX_LENGTH = 1000;
const ANNOUNCE_MAX = 200;

export class ChatPanel {
  /**
   * @param {object} options
   * @param {(key: string, vars?: object) => string} options.t
   * @param {(text: string) => void} options.announce    the page's polite live region
   * @param {(text: string) => void} options.alertError  the page's visible, assertive errors
   * @param {string} options.lang
   */
  constructor({ t, announce, alertError, lang }) {
    this.t = t;
    this.announce = announce;
    this.alertError = alertError;
    this.timeFormat = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : "pl-PL", { hour: "2-digit", minute: "2-digit" });
    this.call = null;
    this.host = false;
    this.open = false;
    this.unread = 0;
    this.names = new Map(); // participant id -> name (kept after they leave, for their messages)
    this.items = new Map(); // message id -> <li>
    this.removing = new Set(); // message ids with a chat_remove on its way
    this.built = false;
  }

  /** Build the toggle (in the control bar, before "Opuść spotkanie") and the panel, once. */
  build() {
    if (this.built) return;
    this.built = true;
    const t = this.t;
    const toggle = el("button", "toggle chat-toggle");
    toggle.type = "button";
    toggle.id = "chat-toggle";
    toggle.setAttribute("aria-expanded", "false");
    toggle.setAttribute("aria-controls", "chat-panel");
    toggle.innerHTML = '<svg class="icon" aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20"><path fill="currentColor" d="M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H8l-4 4V5a1 1 0 0 1 1-1z"/></svg>';
    const label = el("span", "", t("chat_toggle"));
    this.count = el("span", "chat-count", "");
    this.count.setAttribute("aria-hidden", "true");
    this.count.hidden = true;
    this.countText = el("span", "visually-hidden", "");
    toggle.append(label, this.count, this.countText);
    toggle.addEventListener("click", () => this.setOpen(!this.open));
    const controls = document.querySelector("#view-room .controls");
    controls.insertBefore(toggle, document.getElementById("leave-button"));
    this.toggle = toggle;

    const panel = el("aside", "chat-panel");
    panel.id = "chat-panel";
    panel.setAttribute("aria-labelledby", "chat-heading");
    panel.hidden = true;
    const head = el("div", "chat-head");
    const heading = el("h2", "chat-heading", t("chat_heading"));
    heading.id = "chat-heading";
    heading.tabIndex = -1;
    const close = el("button", "toggle chat-close", t("chat_close"));
    close.type = "button";
    close.addEventListener("click", () => this.setOpen(false, { returnFocus: true }));
    head.append(heading, close);
    this.empty = el("p", "chat-empty", t("chat_empty"));
    this.list = el("ol", "chat-list");
    this.list.id = "chat-list";
    this.list.tabIndex = 0; // scrollable: reachable from the keyboard
    this.list.setAttribute("aria-labelledby", "chat-heading");
    const form = el("form", "chat-form");
    form.noValidate = true;
    const field = el("label", "", t("chat_label"));
    field.htmlFor = "chat-input";
    this.input = el("input");
    this.input.id = "chat-input";
    this.input.type = "text";
    this.input.maxLength = MAX_LENGTH;
    this.input.autocomplete = "off";
    this.input.setAttribute("enterkeyhint", "send");
    const send = el("button", "primary", t("chat_send"));
    send.type = "submit";
    this.sendButton = send;
    const row = el("div", "chat-row");
    row.append(this.input, send);
    form.append(field, row);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    panel.append(head, this.empty, this.list, form);
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.setOpen(false, { returnFocus: true });
    });
    document.getElementById("view-room").append(panel);
    this.panel = panel;
    // The panel ends above the control bar, however many rows its buttons take (phones wrap them).
    const fit = () => panel.style.setProperty("--controls-height", `${Math.ceil(controls.getBoundingClientRect().height)}px`);
    if (typeof ResizeObserver === "function") new ResizeObserver(fit).observe(controls);
    window.addEventListener("resize", fit);
    this.fit = fit;
  }

  /** Follow a call (after `call.start()`): its history, its messages, who is a host. */
  attach(call) {
    this.build();
    this.call = call;
    this.toggle.hidden = false;
    const mine = whileCurrent(this, call);
    call.addEventListener("welcome", mine((e) => this.onWelcome(e.detail)));
    for (const type of ["joined", "updated"]) {
      call.addEventListener(type, mine((e) => e.detail?.id && this.names.set(e.detail.id, e.detail.name)));
    }
    call.socket.on("chat_message", mine((data) => this.onMessage(data)));
    call.socket.on("chat_removed", mine((data) => this.onRemoved(data)));
  }

  /** The call ended: forget it, close the panel. */
  detach() {
    this.call = null;
    if (!this.built) return;
    this.setOpen(false);
    this.toggle.hidden = true;
  }

  onWelcome(data) {
    if (data?.you?.state === "waiting") return; // nothing of the call's chat in the lobby
    if (data?.you?.id) this.names.set(data.you.id, data.you.name);
    for (const p of data?.participants || []) if (p?.id) this.names.set(p.id, p.name);
    this.host = data?.you?.role === "host";
    this.list.replaceChildren();
    this.items.clear();
    for (const message of Array.isArray(data?.chat) ? data.chat : []) this.render(message);
    this.unread = 0;
    this.refresh();
  }

  onMessage(data) {
    if (!this.render(data)) return;
    const fromOthers = data.from !== this.call?.you?.id;
    if (fromOthers) {
      if (!this.open) this.unread += 1;
      const text = data.text.length > ANNOUNCE_MAX ? `${data.text.slice(0, ANNOUNCE_MAX)}…` : data.text;
      this.announce(this.t("chat_new", { name: this.nameOf(data.from), text }));
    }
    this.refresh();
    if (this.open) this.list.lastElementChild?.scrollIntoView({ block: "nearest" });
  }

  onRemoved(data) {
    const li = this.items.get(data?.id);
    if (!li) return;
    const hadFocus = li.contains(document.activeElement);
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    this.items.delete(data.id);
    this.refresh();
    if (hadFocus) (next?.querySelector("button") || this.input).focus();
  }

  nameOf(id) {
    if (id === this.call?.you?.id) return this.t("chat_you");
    return this.names.get(id) || this.t("chat_someone");
  }

  /** Add one message to the list (textContent only); false when it is not a message or known already. */
  render(message) {
    if (!message || typeof message.id !== "string" || typeof message.text !== "string" || this.items.has(message.id)) {
      return false;
    }
    const li = el("li", "chat-item");
    li.dataset.messageId = message.id;
    if (message.from === this.call?.you?.id) li.classList.add("own");
    const meta = el("p", "chat-meta");
    const name = this.nameOf(message.from);
    const who = el("span", "chat-from", name);
    const when = el("time", "chat-time");
    const at = new Date(message.at);
    const clock = Number.isNaN(at.getTime()) ? "" : this.timeFormat.format(at);
    if (clock) {
      when.dateTime = message.at;
      when.textContent = clock;
    }
    meta.append(who, " ", when);
    const text = el("p", "chat-text", message.text);
    li.append(meta, text);
    if (this.host) {
      const remove = el("button", "chat-remove", this.t("chat_remove"));
      remove.type = "button";
      remove.append(el("span", "visually-hidden", ` ${this.t("chat_remove_of", { name, time: clock })}`));
      remove.addEventListener("click", () => this.remove(message.id));
      li.append(remove);
    }
    this.list.append(li);
    this.items.set(message.id, li);
    return true;
  }

  refresh() {
    this.empty.hidden = this.items.size > 0;
    this.list.hidden = this.items.size === 0;
    this.count.hidden = this.unread === 0;
    this.count.textContent = this.unread ? String(this.unread) : "";
    this.countText.textContent = this.unread ? ` (${this.t("chat_unread", { n: this.unread })})` : "";
  }

  setOpen(open, { returnFocus = false } = {}) {
    this.open = open;
    this.panel.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    document.getElementById("view-room").classList.toggle("chat-open", open);
    if (open) {
      this.fit();
      this.unread = 0;
      this.refresh();
      this.list.lastElementChild?.scrollIntoView({ block: "nearest" });
      this.input.focus();
    } else if (returnFocus) {
      this.toggle.focus();
    }
  }

  async send() {
    const text = this.input.value.trim();
    if (!text || !this.call) return;
    this.sendButton.disabled = true;
    try {
      await this.call.request("chat_send", { text });
      this.input.value = "";
    } catch (err) {
      // A refusal (too fast, not allowed) came as an `error` event too, shown by the page; the text stays.
      if (err?.code === "timeout") this.alertError(this.t("error_internal"));
    } finally {
      this.sendButton.disabled = false;
      this.input.focus();
    }
  }

  async remove(id) {
    // One request per message; the button is not disabled, so that it keeps the focus until it goes.
    if (!this.call || this.removing.has(id)) return;
    this.removing.add(id);
    try {
      await this.call.request("chat_remove", { message_id: id });
    } catch (err) {
      if (err?.code === "timeout") this.alertError(this.t("error_internal"));
    } finally {
      this.removing.delete(id);
    }
  }
}
