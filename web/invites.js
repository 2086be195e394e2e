// Guest invites for hosts (docs/web-client.md, "Guest invites"): a small panel to make a one-time
// link for an interpreter, a family member or a second clinician, valid from 5 minutes to 5 hours,
// to copy it, and to revoke it before it is used. The guest who opens it waits in the lobby (the
// lobby panel marks them "gość z zaproszenia") until a host lets them in.

import { el, whileCurrent } from "./dom.js";

const PURPOSES = ["interpreter", "family_member", "clinician"];
const LIFETIMES = [5, 15, 30, 60, 120, 300]; // minutes: the server takes any whole number from 5 to 300

export class InvitePanel {
  /**
   * @param {object} options
   * @param {(key: string, vars?: object) => string} options.t
   * @param {(text: string) => void} options.announce
   */
  constructor({ t, announce }) {
    this.t = t;
    this.announce = announce;
    this.call = null;
    this.made = []; // invites made from this page: [{id, url, purpose, expires_at, li}]
    this.busy = false;
    this.built = false;
  }

  build() {
    if (this.built) return;
    this.built = true;
    // Folded by default: opened only when a host wants a link, so on a phone the tiles keep the room.
    const panel = el("details", "invite-panel");
    panel.id = "invite-panel";
    panel.hidden = true;
    const heading = el("summary", "invite-heading", this.t("inv_heading"));
    heading.id = "invite-heading";
    const form = el("form", "invite-form");
    form.id = "invite-form";
    form.noValidate = true;
    const purpose = this.select("invite-purpose", "inv_purpose", PURPOSES.map((p) => [p, this.t(`inv_purpose_${p}`)]));
    const minutes = this.select("invite-minutes", "inv_lifetime",
      LIFETIMES.map((m) => [String(m), m < 60 ? this.t("inv_minutes", { n: m }) : this.t("inv_hours", { n: m / 60 })]));
    minutes.select.value = "30";
    const make = el("button", "primary", this.t("inv_make"));
    make.type = "submit";
    make.id = "invite-make";
    form.append(purpose.field, minutes.field, make);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.make(purpose.select.value, Number(minutes.select.value));
    });
    this.list = el("ul", "invite-list");
    this.list.id = "invite-list";
    this.list.setAttribute("aria-labelledby", "invite-heading");
    panel.append(heading, form, this.list);
    const room = document.getElementById("view-room");
    room.insertBefore(panel, document.getElementById("participants-heading"));
    this.panel = panel;
  }

  select(id, labelKey, options) {
    const field = el("div", "field");
    const label = el("label", "", this.t(labelKey));
    label.htmlFor = id;
    const select = el("select");
    select.id = id;
    for (const [value, text] of options) {
      const option = el("option", "", text);
      option.value = value;
      select.append(option);
    }
    field.append(label, select);
    return { field, select };
  }

  attach(call) {
    this.build();
    this.call = call;
    const mine = whileCurrent(this, call);
    call.addEventListener("welcome", mine((e) => {
      const host = e.detail?.you?.role === "host" && e.detail?.you?.state !== "waiting";
      this.panel.hidden = !host;
    }));
  }

  detach() {
    this.call = null;
    if (!this.built) return;
    this.panel.hidden = true;
  }

  async make(purpose, minutes) {
    if (!this.call || this.busy) return;
    this.busy = true;
    try {
      const ack = await this.call.request("create_invite", { purpose, expires_in_minutes: minutes });
      this.add(ack.invite);
      this.announce(this.t("inv_made"));
    } catch {
      // refused (invite_refused: too many live invites, …): the page's error alert says why
    } finally {
      this.busy = false;
    }
  }

  add(invite) {
    if (!invite || typeof invite.url !== "string") return;
    const li = el("li", "invite-item");
    li.dataset.inviteId = invite.id;
    const what = el("p", "invite-what", this.t("inv_item", {
      purpose: this.t(`inv_purpose_${invite.purpose}`),
      until: new Date(invite.expires_at).toLocaleTimeString(this.t("inv_locale"), { hour: "2-digit", minute: "2-digit" }),
    }));
    const link = el("input", "invite-url");
    link.type = "text";
    link.readOnly = true;
    link.value = invite.url;
    link.setAttribute("aria-label", this.t("inv_link_label"));
    const copy = el("button", "", this.t("inv_copy"));
    copy.type = "button";
    copy.addEventListener("click", async () => {
      link.select();
      try {
        await navigator.clipboard.writeText(invite.url);
        this.announce(this.t("inv_copied"));
      } catch {
        // no clipboard permission: the link is selected for the person to copy
      }
    });
    const revoke = el("button", "danger", this.t("inv_revoke"));
    revoke.type = "button";
    revoke.addEventListener("click", async () => {
      if (!this.call) return;
      try {
        await this.call.request("revoke_invite", { invite_id: invite.id });
        li.remove();
        this.announce(this.t("inv_revoked"));
      } catch {
        // refused (used already): the page's error alert says so
      }
    });
    li.append(what, link, copy, revoke);
    this.list.prepend(li);
    this.made.push({ ...invite, li });
    link.focus();
    link.select();
  }
}
