/* Emergency alerts (protocol §4.1): the overlay, its stack, and what the board reports about them. */
import { flushReports, queueRecord } from "./reports.js";
import { applyVolume } from "./screen.js";
import { $, ALERT_MEMORY_MS, K, fullTime, iso, now, state, store } from "./state.js";

// ---------- emergency alerts (§4.1): a full-screen overlay until the alert expires or is cancelled ----------
// The alerts in force form a stack: the newest is shown, the others wait underneath until it goes. Each alert
// is acknowledged once (sent at once) and reported "displayed" once it is on screen (a board has nothing to play;
// the server counts it delivered); both facts are kept, so a reload or a replayed event never reports it again.
export const DRILL = new Set(["Exercise", "Test"]);
export const SEVERITY = { Extreme: "Đặc biệt nghiêm trọng", Severe: "Nghiêm trọng", Moderate: "Trung bình", Minor: "Nhẹ" };
export const URGENCY = { Immediate: "Khẩn cấp ngay", Expected: "Sắp xảy ra", Future: "Có thể xảy ra", Past: "Đã qua" };
export const plain = (value) => (typeof value === "string" ? value.trim() : "");
export const alertKey = (id) => String(id);
export const validAlertId = (id) => (typeof id === "number" && Number.isFinite(id)) || (typeof id === "string" && id !== "");

export function saveAlerts() {
  store.set(K.alerts, JSON.stringify(state.alerts));
  store.set(K.alertStates, JSON.stringify(state.alertStates));
}

export function alertMemory(key, until) {
  const entry = state.alertStates[key] || (state.alertStates[key] = { until });
  entry.until = Math.max(entry.until || 0, until || 0);
  return entry;
}

export function reportAlert(entry, stateName) {
  // One record per alert and state, ever: {"seq", "type": "alert", "alert": <id as sent>, "state", "at"}.
  const memory = alertMemory(entry.id, entry.until);
  if (memory[stateName]) return false;
  memory[stateName] = true;
  queueRecord({ type: "alert", alert: entry.alert.id, state: stateName, at: iso(now()) });
  return true;
}

export function forgetAlert(id) {
  // Cancelled, or replaced by a newer alert: off the stack, and never shown again if it comes back.
  const key = alertKey(id);
  state.alerts = state.alerts.filter((a) => a.id !== key);
  alertMemory(key, now()).gone = true;
}

export function receiveAlert(event) {
  const alert = event.alert;
  if (!alert || typeof alert !== "object" || !validAlertId(alert.id)) return;
  const key = alertKey(alert.id);
  let until = Date.parse(alert.expires);
  if (Number.isNaN(until)) until = Date.parse(event.expires);
  if (Number.isNaN(until) || until <= now()) return; // expired: neither shown nor acknowledged
  // Acknowledged, cancelled or replaced already (a replay, a reload): drop it.
  if (state.alertStates[key] || state.alerts.some((a) => a.id === key)) return;
  (Array.isArray(alert.replaces) ? alert.replaces : []).filter(validAlertId).forEach(forgetAlert);
  const entry = { id: key, eventId: typeof event.id === "number" ? event.id : 0, until, alert };
  state.alerts.push(entry);
  state.alerts.sort((a, b) => a.eventId - b.eventId); // the newest event on top
  reportAlert(entry, "acknowledged");
  saveAlerts();
  flushReports(); // at once, not at the next report interval
}

export function cancelAlert(event) {
  const alert = event.alert;
  if (!alert || typeof alert !== "object" || !validAlertId(alert.id)) return;
  forgetAlert(alert.id);
  saveAlerts();
}

export function pruneAlertMemory(at) {
  let changed = false;
  for (const key of Object.keys(state.alertStates)) {
    if ((state.alertStates[key].until || 0) + ALERT_MEMORY_MS < at) {
      delete state.alertStates[key];
      changed = true;
    }
  }
  if (changed) saveAlerts();
}

export function renderAlert(entry) {
  const a = entry.alert;
  const overlay = $("alert");
  const severe = a.severity === "Extreme" || a.severity === "Severe";
  const drill = DRILL.has(a.status);
  overlay.className = "alert " + (severe ? "alert-severe" : "alert-warning") + (drill ? " alert-is-drill" : "");
  overlay.lang = plain(a.language) || "vi";
  $("alert-drill").hidden = !drill;
  const fill = (id, value) => { $(id).textContent = value; $(id).hidden = value === ""; };
  const headline = plain(a.headline) || plain(a.event) || "Cảnh báo khẩn cấp";
  fill("alert-event", plain(a.event) !== headline ? plain(a.event) : "");
  fill("alert-headline", headline);
  const level = [];
  if (SEVERITY[a.severity]) level.push("Mức độ: " + SEVERITY[a.severity]);
  if (URGENCY[a.urgency]) level.push(URGENCY[a.urgency]);
  fill("alert-level", level.join(" · "));
  fill("alert-description", plain(a.description));
  fill("alert-instruction", plain(a.instruction));
  const onset = Date.parse(a.onset);
  fill("alert-time", (onset > now() ? "Bắt đầu từ " + fullTime(onset) + " · " : "")
    + "Hiệu lực đến " + fullTime(entry.until));
  fill("alert-sender", plain(a.sender_name) ? "Cơ quan phát tin: " + plain(a.sender_name) : "");
}

// The whole message at the largest size that fits: lower --fit (see board.css) until nothing overflows. Whatever
// is still too long is cut in the description and instruction only, never the headline or the issuing authority.
const FIT_STEPS = [1, 0.9, 0.8, 0.7, 0.62, 0.55, 0.5];

export function fitAlert() {
  const overlay = $("alert");
  if (overlay.hidden) return;
  const body = overlay.querySelector(".alert-body");
  for (const fit of FIT_STEPS) {
    overlay.style.setProperty("--fit", String(fit));
    const bodyFits = !body || body.scrollHeight <= body.clientHeight + 1;
    if (bodyFits && overlay.scrollHeight <= overlay.clientHeight + 1) return;
  }
}

export function showAlerts() {
  // Drop what expired, show the newest alert in force (or nothing), and report it displayed once shown.
  const at = now();
  const count = state.alerts.length;
  state.alerts = state.alerts.filter((a) => a.until > at);
  let changed = state.alerts.length !== count;
  const top = state.alerts.length ? state.alerts[state.alerts.length - 1] : null;
  const overlay = $("alert");
  if (!top) {
    if (state.alertShown !== null || !overlay.hidden) {
      overlay.hidden = true;
      state.alertShown = null;
      applyVolume();
    }
  } else {
    if (state.alertShown !== top.id) {
      renderAlert(top);
      overlay.hidden = false;
      fitAlert();
      state.alertShown = top.id;
      applyVolume();
      overlay.focus();
    }
    const others = state.alerts.length - 1;
    $("alert-more").hidden = others === 0;
    $("alert-more").textContent = others ? "Còn " + others + " cảnh báo khác đang có hiệu lực" : "";
    if (reportAlert(top, "displayed")) changed = true;
  }
  if (changed) saveAlerts();
}
