/* Shared state of the e-board player: constants, localStorage, the state object and time helpers. */
// The device API's base path, from the page (no inline script: the board runs under a strict CSP).
export const BASE = document.getElementById("board")?.dataset.api || "/device/v1";
export const PREFIX = "nguon.board.";
export const K = {
  token: PREFIX + "token",
  publicKey: PREFIX + "publicKey",
  device: PREFIX + "device",
  manifest: PREFIX + "manifest",
  etag: PREFIX + "etag",
  outbox: PREFIX + "outbox",
  lastEvent: PREFIX + "lastEventId",
  plays: PREFIX + "plays",
  skew: PREFIX + "skew",
  alerts: PREFIX + "alerts", // the active alerts, oldest first
  alertStates: PREFIX + "alertStates", // alert id -> {until, acknowledged, played, gone}: what was done with it
};
export const DEFAULT_ZONE = "Asia/Ho_Chi_Minh";
export const DWELL_MS = 15000; // how long each item stays when a slot has several
export const PUSH_DEFAULT_MS = 60000; // a pushed item without a duration stays this long
export const STREAM_STALL_MS = 70000; // no byte (keep-alive every 25 s) for this long: reconnect
export const OUTBOX_MAX = 5000;
export const REPORT_EVERY_MS = 15000;
export const ALERT_MEMORY_MS = 7 * 86400000; // what was done with an alert is remembered this long after it expired

export const $ = (id) => document.getElementById(id);
export const store = {
  get(key) { try { return localStorage.getItem(key); } catch (e) { return null; } },
  set(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* full: keep going */ } },
  del(key) { try { localStorage.removeItem(key); } catch (e) { /* ignore */ } },
  json(key, fallback) {
    const text = this.get(key);
    if (!text) return fallback;
    try { return JSON.parse(text); } catch (e) { return fallback; }
  },
};

export function storedAlerts() {
  const list = store.json(K.alerts, []);
  return Array.isArray(list) ? list.filter((a) => a && typeof a.id === "string" && typeof a.until === "number"
    && typeof a.eventId === "number" && a.alert && typeof a.alert === "object") : [];
}

export const state = {
  token: store.get(K.token),
  publicKey: store.get(K.publicKey),
  device: store.json(K.device, null),
  manifest: null,
  etag: store.get(K.etag),
  skewMs: Number(store.get(K.skew)) || 0, // server clock minus device clock
  online: true,
  verifyKey: null, // CryptoKey, or "unsupported"
  override: null, // {id, item, until, occurrence, kind}
  stopped: null, // occurrence id stopped by a `stop` event
  volume: null, // set by a `volume` event until the next manifest
  lastEventId: Number(store.get(K.lastEvent)) || 0,
  shownKey: null,
  currentItem: "",
  plays: store.json(K.plays, {}), // "occurrence|item" -> open play record
  media: new Map(), // sha256 -> Promise<blob URL>
  reporting: false,
  reportRetryAt: 0,
  streamAbort: null,
  timers: [],
  alerts: storedAlerts(), // [{id, eventId, until, alert}], the newest (the one shown) last
  alertStates: store.json(K.alertStates, {}),
  alertShown: null, // id of the alert on the overlay
};

// ---------- time ----------
export const now = () => Date.now() + state.skewMs;
export const iso = (ms) => new Date(ms).toISOString();
export const zone = () => (state.manifest && state.manifest.timezone) || DEFAULT_ZONE;
export const fmt = {};
export function formatter(kind) {
  const key = kind + zone();
  if (!fmt[key]) {
    const options = {
      time: { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" },
      short: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
      date: { weekday: "long", day: "numeric", month: "long", year: "numeric" },
      full: { hour: "2-digit", minute: "2-digit", day: "2-digit", month: "2-digit", year: "numeric",
        hourCycle: "h23" },
    }[kind];
    fmt[key] = new Intl.DateTimeFormat("vi-VN", { timeZone: zone(), ...options });
  }
  return fmt[key];
}

export function fullTime(ms) {
  // "HH:mm dd/MM/yyyy" in the board's time zone, whatever order the locale puts the parts in.
  const part = {};
  formatter("full").formatToParts(ms).forEach((p) => { part[p.type] = p.value; });
  return part.hour + ":" + part.minute + " " + part.day + "/" + part.month + "/" + part.year;
}

export function measureSkew(response, sentAt, receivedAt) {
  const header = response.headers.get("X-Server-Time");
  const server = header ? Date.parse(header) : NaN;
  if (Number.isNaN(server)) return;
  state.skewMs = Math.round(server - (sentAt + receivedAt) / 2);
  store.set(K.skew, String(state.skewMs));
}
