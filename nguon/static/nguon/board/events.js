/* Push events (protocol §4): the SSE stream read with fetch(), signature and audience checks, commands. */
import { cancelAlert, receiveAlert } from "./alerts.js";
import { b64decode, verified } from "./crypto.js";
import { auth, setOnline, unenrol } from "./enrol.js";
import { tick } from "./main.js";
import { fetchManifest, mediaOf, mediaUrl } from "./manifest.js";
import { flushReports, heartbeat, queueRecord } from "./reports.js";
import { applyVolume, currentSlot, endOverride } from "./screen.js";
import { BASE, K, PUSH_DEFAULT_MS, STREAM_STALL_MS, iso, now, state, store } from "./state.js";

// ---------- push events (SSE over fetch, since EventSource cannot send Authorization) ----------
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventLoop() {
  let delay = 1000;
  while (state.token) {
    const controller = new AbortController();
    state.streamAbort = controller;
    let stall = null;
    const arm = () => { clearTimeout(stall); stall = setTimeout(() => controller.abort(), STREAM_STALL_MS); };
    try {
      const headers = auth({ Accept: "text/event-stream" });
      if (state.lastEventId) headers["Last-Event-ID"] = String(state.lastEventId);
      arm();
      const response = await fetch(BASE + "/events", { headers, cache: "no-store", signal: controller.signal });
      if (response.status === 401) { clearTimeout(stall); unenrol(); return; }
      if (!response.ok || !response.body) throw new Error("events " + response.status);
      setOnline(true);
      delay = 1000;
      fetchManifest(); // a `manifest` event may have been missed while away
      await readStream(response.body.getReader(), arm);
    } catch (e) {
      if (!state.token) return;
      setOnline(false);
    } finally {
      clearTimeout(stall);
    }
    await sleep(delay / 2 + Math.random() * delay / 2);
    delay = Math.min(delay * 2, 60000);
  }
}

export async function readStream(reader, arm) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    arm();
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const frame = { data: [] };
      block.split("\n").forEach((line) => {
        if (!line || line.startsWith(":")) return;
        const colon = line.indexOf(":");
        const name = colon < 0 ? line : line.slice(0, colon);
        let value_ = colon < 0 ? "" : line.slice(colon + 1);
        if (value_.startsWith(" ")) value_ = value_.slice(1);
        if (name === "data") frame.data.push(value_);
        else frame[name] = value_;
      });
      if (frame.data.length) await handleEvent(frame.data.join("\n"));
    }
  }
}

export function addressed(audience) {
  // An event's audience names this board by its code, one of its units (own and above) or one of its groups;
  // the board knows them from its manifest, or from its enrolment answer until the first manifest arrives.
  if (!audience || typeof audience !== "object") return false;
  const list = (value) => (Array.isArray(value) ? value : []);
  const device = state.device || {};
  if (device.code && list(audience.devices).includes(device.code)) return true;
  // With `kinds`, units and groups stand for their devices of those kinds only.
  if ("kinds" in audience && !list(audience.kinds).includes(device.kind || "board")) return false;
  if (list(audience.units).some((u) => list(device.units).includes(u))) return true;
  return list(audience.groups).some((g) => list(device.groups).includes(g));
}

export async function handleEvent(data) {
  const dot = data.indexOf(".");
  if (dot < 0) return;
  let payloadBytes;
  let signature;
  try {
    payloadBytes = b64decode(data.slice(0, dot));
    signature = b64decode(data.slice(dot + 1));
  } catch (e) {
    return;
  }
  if (!(await verified(payloadBytes, signature))) {
    queueRecord({ type: "log", at: iso(now()), level: "error", message: "event_bad_signature" });
    return;
  }
  let event;
  try { event = JSON.parse(new TextDecoder().decode(payloadBytes)); } catch (e) { return; }
  const code = state.device && state.device.code;
  if (event.device !== "*" && event.device !== code) return;
  if (!event.expires || Date.parse(event.expires) <= now()) return;
  if ("audience" in event && !addressed(event.audience)) {
    // Signed by our server but meant for other devices: a replay (§4.2). Refuse it, and say so.
    queueRecord({ type: "log", at: iso(now()), level: "warning", message: "event_wrong_audience" });
    return;
  }
  if (typeof event.id !== "number") return;
  // Alerts are told apart by their alert id (receiveAlert drops one already handled, a cancel is harmless twice),
  // so that an alert the server holds back for a board that missed it is taken even when a later event came first.
  const idempotent = event.type === "alert" || event.type === "alert_cancel";
  if (event.id <= state.lastEventId && !idempotent) return;
  if (event.id > state.lastEventId) {
    state.lastEventId = event.id;
    store.set(K.lastEvent, String(event.id));
  }
  act(event);
}

export function act(event) {
  const at = now();
  switch (event.type) {
    case "manifest":
      fetchManifest();
      break;
    case "play": {
      if (!event.item || typeof event.item !== "object") break;
      const seconds = Number(event.item.duration);
      state.override = { id: event.id, kind: "play", item: event.item, occurrence: "push-" + event.id,
        until: at + (seconds > 0 ? seconds * 1000 : PUSH_DEFAULT_MS) };
      mediaOf(event.item).forEach((m) => mediaUrl(m).catch(() => {}));
      break;
    }
    case "live": {
      const until = Date.parse(event.until);
      state.override = { id: event.id, kind: "live", occurrence: "live-" + event.id,
        item: { kind: "stream", title: event.title || "", url: event.url },
        until: Number.isNaN(until) ? at + 3600000 : until };
      break;
    }
    case "live_stop":
      if (state.override && state.override.kind === "live") endOverride();
      break;
    case "stop": {
      if (state.override) endOverride();
      const current = currentSlot(at);
      if (current) state.stopped = current.slot.id;
      break;
    }
    case "volume":
      if (typeof event.volume === "number") { state.volume = Math.max(0, Math.min(100, event.volume)); applyVolume(); }
      break;
    case "alert":
      receiveAlert(event);
      break;
    case "alert_cancel":
      cancelAlert(event);
      break;
    case "reboot":
      heartbeat();
      flushReports().finally(() => location.reload());
      return;
    default:
      return;
  }
  tick();
}
