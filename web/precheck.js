// The pre-call check (docs/web-client.md, "Pre-call check"): camera, microphone with a live level meter,
// speaker with a test tone the person confirms, and a connection test against this server (round trip and
// upstream). The server judges the result ("video visit will work" / "audio only recommended" / "will not
// work") and keeps it with the visit; a host sees each waiting patient's latest result in the lobby panel.
// A patient of a consultation runs it before "Dołącz" works; everyone else may run it from a button.

import { el } from "./dom.js";

export const PRECHECK_API = "/api/v1/precheck";
const PING_SAMPLES = 5; // after one warm-up ping (it may open the connection)
const UPLOAD_SIZES = [32 * 1024, 128 * 1024, 512 * 1024, 1024 * 1024]; // grows while the link is fast
const ENOUGH_MS = 1500; // an upload that took this long measured the link well enough: stop growing
const REQUEST_TIMEOUT_MS = 8000;
const TEST_DEADLINE_MS = 15000;
const MAX_RTT_MS = 60000;
const MAX_KBPS = 10000000;
const TONE_HZ = 440;
const TONE_SECONDS = 1.2;
const METER_MS = 100;
const HOST_REFRESH_MS = 15000;

/** Must this person pass the check before joining: a patient (a citizen who publishes, not a host) of a
 *  consultation. Everyone else is offered it. */
export function precheckRequired(bootstrap) {
  const you = bootstrap?.you || {};
  return bootstrap?.room?.kind === "consultation" && you.party === "citizen" && you.role === "member";
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timedFetch(url, options, deadline) {
  const controller = new AbortController();
  const wait = Math.max(1, Math.min(REQUEST_TIMEOUT_MS, deadline - performance.now()));
  const timer = setTimeout(() => controller.abort(), wait);
  try {
    return await fetch(url, { ...options, cache: "no-store", credentials: "omit", signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

function randomBytes(size) {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
  return bytes;
}

/** The connection test against this server: the median round trip of small pings, then the upstream
 *  bitrate of uploads that grow while they are quick. Either is null when the server never answered. */
export async function measureConnection(token) {
  const auth = { Authorization: `Bearer ${token}` };
  const deadline = performance.now() + TEST_DEADLINE_MS;
  const samples = [];
  for (let i = 0; i <= PING_SAMPLES && performance.now() < deadline; i += 1) {
    const start = performance.now();
    try {
      const resp = await timedFetch(`${PRECHECK_API}/ping`, { headers: auth }, deadline);
      if (!resp.ok) continue;
      if (i > 0) samples.push(performance.now() - start);
    } catch {
      // no answer: no sample
    }
  }
  const rtt = samples.length ? median(samples) : null;
  let kbps = null;
  for (const size of UPLOAD_SIZES) {
    if (performance.now() >= deadline) break;
    const body = randomBytes(size);
    const start = performance.now();
    let answer;
    try {
      const resp = await timedFetch(`${PRECHECK_API}/upload`, {
        method: "POST", body, headers: { ...auth, "Content-Type": "application/octet-stream" },
      }, deadline);
      if (!resp.ok) break;
      answer = await resp.json();
    } catch {
      // Too slow to finish in time: at most this many bits in the time it had.
      if (kbps === null) kbps = Math.floor((size * 8) / (performance.now() - start));
      break;
    }
    const elapsed = performance.now() - start;
    // The transfer took at least what the server saw, and what we saw less one round trip.
    const transfer = Math.max(Number(answer.duration_ms) || 0, elapsed - (rtt || 0), 1);
    kbps = Math.floor(((Number(answer.bytes) || 0) * 8) / transfer);
    if (elapsed >= ENOUGH_MS) break;
  }
  return {
    rtt_ms: rtt === null ? null : Math.min(MAX_RTT_MS, Math.round(rtt)),
    upstream_kbps: kbps === null ? null : Math.min(MAX_KBPS, Math.max(0, kbps)),
  };
}

/** The sound level of a microphone track, 0..1, on a <meter> (Web Audio AnalyserNode). */
class LevelMeter {
  constructor(audio, meter) {
    this.audio = audio; // () => AudioContext
    this.meter = meter;
    this.track = null;
    this.source = null;
    this.analyser = null;
    this.timer = null;
    this.peak = 0;
    this.buffer = null;
  }

  follow(getTrack) {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(getTrack()), METER_MS);
  }

  tick(track) {
    if (track !== this.track) this.attach(track);
    if (!this.analyser) {
      this.meter.value = 0;
      return;
    }
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (const x of this.buffer) sum += x * x;
    const rms = Math.sqrt(sum / this.buffer.length);
    const level = rms > 0 ? Math.min(1, Math.max(0, (20 * Math.log10(rms) + 60) / 60)) : 0; // -60..0 dBFS
    this.meter.value = level;
    this.peak = Math.max(this.peak, level);
  }

  attach(track) {
    this.source?.disconnect();
    this.source = null;
    this.analyser = null;
    this.track = track;
    if (!track || track.readyState !== "live") return;
    const ctx = this.audio();
    if (!ctx) return;
    this.source = ctx.createMediaStreamSource(new MediaStream([track]));
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buffer = new Float32Array(this.analyser.fftSize);
    this.source.connect(this.analyser); // not to the speakers: no echo
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.attach(null);
  }
}

/** The pre-join panel: the steps, the verdict, "Sprawdź ponownie"; gates "Dołącz" when required. */
export class PreCheck {
  constructor({ t, lang, token, bootstrap, localStream, previewReady, announce }) {
    this.t = t;
    this.lang = lang;
    this.token = token;
    this.required = precheckRequired(bootstrap);
    this.offered = bootstrap?.you?.role !== "viewer";
    this.localStream = localStream; // () => the pre-join MediaStream (app.js owns it)
    this.previewReady = previewReady; // () => a promise settled once the preview's devices are acquired
    this.announce = announce;
    this.state = "idle"; // idle, running, done
    this.found = { camera: false, microphone: false, speaker: null, rtt_ms: null, upstream_kbps: null };
    this.result = null; // the server's answer: the stored result with its verdict and advice
    this.context = null;
    this.run_ = null;
    this.nodes = {};
  }

  /** Whether "Dołącz" must wait (a patient whose check has no verdict yet). */
  get blocksJoin() {
    return this.required && this.state !== "done";
  }

  mount(section, joinButton) {
    this.section = section;
    this.joinButton = joinButton;
    if (!section || !this.offered) return;
    const t = this.t;
    const n = this.nodes;
    n.open = el("button", "precheck-open", t("precheck_open"));
    n.open.type = "button";
    n.open.addEventListener("click", () => {
      n.open.hidden = true;
      n.panel.hidden = false;
      n.heading.focus();
      this.start();
    });
    n.panel = el("div", "precheck-panel");
    n.heading = el("h2", "precheck-heading", t("precheck_heading"));
    n.heading.id = "precheck-heading";
    n.heading.tabIndex = -1;
    section.setAttribute("aria-labelledby", "precheck-heading");
    const intro = el("p", "precheck-intro", t(this.required ? "precheck_intro_required" : "precheck_intro"));
    const steps = el("ul", "precheck-steps");
    const step = (name) => {
      const li = el("li", "precheck-step");
      li.dataset.step = name;
      li.dataset.state = "idle";
      const label = el("span", "precheck-label", t(`precheck_${name}`));
      const state = el("span", "precheck-state", "");
      li.append(label, state);
      steps.append(li);
      n[name] = { li, state };
      return li;
    };
    step("camera");
    const mic = step("microphone");
    const meterLabel = el("label", "precheck-meter-label", t("precheck_level"));
    meterLabel.htmlFor = "precheck-level";
    n.meter = el("meter", "precheck-meter");
    n.meter.id = "precheck-level";
    Object.assign(n.meter, { min: 0, max: 1, low: 0.15, high: 0.9, optimum: 0.5, value: 0 });
    const meterRow = el("span", "precheck-meter-row");
    meterRow.append(meterLabel, n.meter);
    mic.append(meterRow);
    const speaker = step("speaker");
    n.tone = el("button", "precheck-tone", t("precheck_play_tone"));
    n.tone.type = "button";
    n.tone.addEventListener("click", () => this.playTone());
    n.question = el("span", "precheck-question");
    n.question.hidden = true;
    n.heard = el("button", "precheck-heard", t("precheck_heard"));
    n.notHeard = el("button", "precheck-not-heard", t("precheck_not_heard"));
    for (const [button, heard] of [[n.heard, true], [n.notHeard, false]]) {
      button.type = "button";
      button.addEventListener("click", () => this.answerSpeaker(heard));
    }
    n.question.append(el("span", "precheck-question-text", t("precheck_heard_question")), n.heard, n.notHeard);
    const speakerRow = el("span", "precheck-speaker-row");
    speakerRow.append(n.tone, n.question);
    speaker.append(speakerRow);
    step("connection");
    n.verdict = el("div", "precheck-verdict");
    n.verdict.setAttribute("role", "status");
    n.verdictText = el("p", "precheck-verdict-text", "");
    n.advice = el("ul", "precheck-advice");
    n.verdict.append(n.verdictText, n.advice);
    n.again = el("button", "precheck-again", t("precheck_again"));
    n.again.type = "button";
    n.again.hidden = true;
    n.again.addEventListener("click", () => this.start());
    n.panel.append(n.heading, intro, steps, n.verdict, n.again);
    section.replaceChildren(n.open, n.panel);
    section.hidden = false;
    n.panel.hidden = !this.required;
    n.open.hidden = this.required;
    if (this.required) {
      n.gate = el("p", "precheck-gate", t("precheck_gate"));
      n.gate.id = "precheck-gate";
      section.append(n.gate);
      joinButton.disabled = true;
    }
    // A browser starts Web Audio only after a gesture: the first click or key on the page resumes it.
    const resume = () => this.context?.resume?.().catch(() => {});
    document.addEventListener("pointerdown", resume, { capture: true });
    document.addEventListener("keydown", resume, { capture: true });
  }

  audio() {
    if (this.context) return this.context;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    this.context = new Context();
    this.context.resume?.().catch(() => {});
    return this.context;
  }

  show(name, state, text) {
    const node = this.nodes[name];
    if (!node) return;
    node.li.dataset.state = state;
    node.state.textContent = text;
  }

  /** Run the check (again): devices at once, then the connection test, then the server's verdict. */
  start() {
    if (this.state === "running") return this.run_;
    this.run_ = this.run().catch((err) => console.warn("konsylium: pre-call check", err));
    return this.run_;
  }

  async run() {
    const t = this.t;
    this.state = "running";
    this.result = null;
    this.nodes.again.hidden = true;
    this.nodes.verdict.dataset.verdict = "";
    this.nodes.verdictText.textContent = t("precheck_running");
    this.nodes.advice.replaceChildren();
    if (this.required) {
      this.joinButton.disabled = true;
      this.joinButton.setAttribute("aria-describedby", "precheck-gate");
      this.nodes.gate.hidden = false;
    }
    await this.previewReady();
    const stream = this.localStream();
    const video = stream?.getVideoTracks?.()[0];
    const audio = stream?.getAudioTracks?.()[0];
    this.found.camera = Boolean(video && video.readyState === "live");
    this.found.microphone = Boolean(audio && audio.readyState === "live");
    this.show("camera", this.found.camera ? "ok" : "problem", t(this.found.camera ? "precheck_camera_ok" : "precheck_camera_missing"));
    this.show("microphone", this.found.microphone ? "ok" : "problem",
      t(this.found.microphone ? "precheck_microphone_ok" : "precheck_microphone_missing"));
    this.meter ??= new LevelMeter(() => this.audio(), this.nodes.meter);
    this.meter.follow(() => this.localStream()?.getAudioTracks?.()[0] || null);
    if (this.found.speaker === null) this.show("speaker", "idle", t("precheck_speaker_idle"));
    this.show("connection", "running", t("precheck_connection_running"));
    const link = await measureConnection(this.token);
    Object.assign(this.found, link);
    this.show("connection", link.rtt_ms === null || link.upstream_kbps === null ? "problem" : "ok",
      link.rtt_ms === null || link.upstream_kbps === null
        ? t("precheck_connection_failed")
        : t("precheck_connection_values", { rtt: link.rtt_ms, speed: formatKbps(link.upstream_kbps, t, this.lang) }));
    await this.submit();
    this.state = "done";
    this.nodes.again.hidden = false;
    if (this.required) {
      this.joinButton.disabled = false;
      this.joinButton.removeAttribute("aria-describedby");
      this.nodes.gate.hidden = true;
    }
  }

  /** Send what was found; the server answers the verdict, which is shown (a later answer replaces it). */
  async submit() {
    const t = this.t;
    try {
      const resp = await fetch(`${PRECHECK_API}/result`, {
        method: "POST", cache: "no-store", credentials: "omit",
        headers: { Authorization: `Bearer ${this.token}`, "Content-Type": "application/json" },
        body: JSON.stringify(this.found),
      });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      this.result = await resp.json();
    } catch (err) {
      console.warn("konsylium: the pre-call check result was not kept", err);
      this.result = null;
      this.nodes.verdict.dataset.verdict = "unknown";
      this.nodes.verdictText.textContent = t("precheck_result_failed");
      this.nodes.advice.replaceChildren();
      return;
    }
    const { verdict, advice = [] } = this.result;
    this.nodes.verdict.dataset.verdict = verdict;
    this.nodes.verdictText.textContent = t(`precheck_verdict_${verdict}`);
    this.nodes.advice.replaceChildren(...advice.map((code) => el("li", "", t(`precheck_advice_${code}`))));
    this.announce?.(t(`precheck_verdict_${verdict}`));
  }

  /** A short tone through the speakers (Web Audio); then ask whether it was heard. */
  playTone() {
    const ctx = this.audio();
    if (!ctx) {
      this.show("speaker", "problem", this.t("precheck_speaker_unsupported"));
      return;
    }
    ctx.resume?.().catch(() => {});
    const now = ctx.currentTime;
    const tone = ctx.createOscillator();
    const gain = ctx.createGain();
    tone.frequency.value = TONE_HZ;
    gain.gain.setValueAtTime(0, now);
    gain.gain.linearRampToValueAtTime(0.3, now + 0.05);
    gain.gain.setValueAtTime(0.3, now + TONE_SECONDS - 0.1);
    gain.gain.linearRampToValueAtTime(0, now + TONE_SECONDS);
    tone.connect(gain).connect(ctx.destination);
    tone.start(now);
    tone.stop(now + TONE_SECONDS);
    this.nodes.question.hidden = false;
    this.show("speaker", "running", this.t("precheck_speaker_playing"));
  }

  async answerSpeaker(heard) {
    this.found.speaker = heard;
    this.nodes.question.hidden = true;
    this.show("speaker", heard ? "ok" : "problem", this.t(heard ? "precheck_speaker_ok" : "precheck_speaker_not_heard"));
    if (this.state === "done") await this.submit(); // the latest result is the one the clinician sees
  }

  /** Joining: the meter and its audio graph go (the call has its own). */
  stop() {
    this.meter?.stop();
    this.context?.close?.().catch(() => {});
    this.context = null;
  }
}

/** "2,4 Mbit/s" or "300 kbit/s", with the language's decimal mark. */
function formatKbps(kbps, t, lang) {
  const number = new Intl.NumberFormat(lang === "en" ? "en-GB" : "pl-PL", { maximumFractionDigits: 1 });
  return kbps >= 1000 ? t("precheck_mbps", { n: number.format(kbps / 1000) }) : t("precheck_kbps", { n: number.format(kbps) });
}

/** A host's lobby panel: each waiting person's latest pre-call check next to their name. It follows the
 *  list app.js keeps (#lobby-list) and asks the server with the host's own join token. */
export class HostPrechecks {
  constructor({ t, lang, token, list }) {
    this.t = t;
    this.lang = lang;
    this.token = token;
    this.list = list;
    this.results = new Map(); // participant id -> latest result
    this.asked = 0;
    this.timer = null;
    this.refused = false;
    this.observer = new MutationObserver(() => this.changed());
    if (list) this.observer.observe(list, { childList: true });
  }

  items() {
    return [...this.list.querySelectorAll("li.lobby-item[data-participant-id]")];
  }

  changed() {
    const items = this.items();
    this.decorate(items);
    clearTimeout(this.timer);
    this.timer = null;
    if (this.refused || !items.length) return;
    const missing = items.some((li) => !this.results.has(li.dataset.participantId));
    const wait = missing ? Math.max(0, this.asked + 1000 - Date.now()) : HOST_REFRESH_MS;
    this.timer = setTimeout(() => this.fetch(), wait);
  }

  async fetch() {
    this.asked = Date.now();
    try {
      const resp = await fetch(`${PRECHECK_API}/results`, {
        cache: "no-store", credentials: "omit", headers: { Authorization: `Bearer ${this.token}` },
      });
      if (resp.status === 403 || resp.status === 401 || resp.status === 410) {
        this.refused = true; // not a host (or the link is over): nothing to show
        return;
      }
      if (resp.ok) {
        const view = await resp.json();
        this.results = new Map((view.items || []).map((item) => [item.participant_id, item]));
      }
    } catch {
      // try again at the next change or refresh
    }
    this.changed();
  }

  decorate(items) {
    for (const li of items) {
      const result = this.results.get(li.dataset.participantId);
      let line = li.querySelector(".lobby-precheck");
      if (!line) {
        line = el("span", "lobby-precheck");
        (li.querySelector(".lobby-who") || li).append(line);
      }
      line.dataset.verdict = result?.verdict || "none";
      line.textContent = this.describe(result);
    }
  }

  describe(result) {
    const t = this.t;
    if (!result) return t("precheck_host_none");
    const parts = [t(`precheck_host_${result.verdict}`)];
    if (result.rtt_ms !== null && result.upstream_kbps !== null) {
      parts.push(t("precheck_connection_values", { rtt: result.rtt_ms, speed: formatKbps(result.upstream_kbps, t, this.lang) }));
    }
    const issues = (result.advice || []).filter((a) => a !== "audio_only").map((a) => t(`precheck_host_issue_${a}`));
    if (issues.length) parts.push(t("precheck_host_issues", { list: issues.join(", ") }));
    return t("precheck_host_line", { text: parts.join(" · ") });
  }
}
