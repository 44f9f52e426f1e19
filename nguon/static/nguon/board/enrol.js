/* HTTP helpers, enrolment with a one-time code, and forgetting everything when the token is revoked. */
import { showAlerts } from "./alerts.js";
import { start } from "./main.js";
import { MEDIA_CACHE } from "./manifest.js";
import { $, BASE, K, state, store } from "./state.js";

// ---------- HTTP ----------
export function auth(extra) {
  return Object.assign({ Authorization: "Bearer " + state.token }, extra || {});
}

export function setOnline(online) {
  state.online = online;
  $("offline").hidden = online;
}

export function unenrol() {
  // The token was revoked (401): forget it and ask for a new code.
  if (state.streamAbort) state.streamAbort.abort();
  [K.token, K.publicKey, K.device, K.manifest, K.etag, K.lastEvent, K.plays, K.outbox, K.alerts, K.alertStates]
    .forEach((k) => store.del(k));
  if (self.caches) caches.delete(MEDIA_CACHE).catch(() => {}); // another enrolment must not inherit them
  state.token = state.publicKey = state.device = state.manifest = state.etag = null;
  state.verifyKey = null;
  state.plays = {};
  state.alerts = [];
  state.alertStates = {}; // alert ids belong to this device's enrolment: another device must not inherit them
  showAlerts();
  state.timers.forEach(clearInterval);
  state.timers = [];
  showEnrol("Thiết bị cần đăng ký lại. Vui lòng nhập mã đăng ký mới.");
}

// ---------- enrolment ----------
export function showEnrol(message) {
  $("starting").hidden = true;
  $("screen").hidden = true;
  $("ticker").hidden = true;
  $("status").hidden = true;
  $("enrol").hidden = false;
  $("enrol-error").textContent = message || "";
  $("enrol-code").focus();
}

export async function enrol(event) {
  event.preventDefault();
  const code = $("enrol-code").value.trim();
  const button = $("enrol-form").querySelector("button");
  button.disabled = true;
  $("enrol-error").textContent = "Đang đăng ký…";
  try {
    const response = await fetch(BASE + "/enrol", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code, hardware: { model: "Bảng tin trình duyệt", firmware: "board 2" } }),
      cache: "no-store",
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok && answer.token && answer.public_key) {
      store.set(K.token, answer.token);
      store.set(K.publicKey, answer.public_key);
      store.set(K.device, JSON.stringify(answer.device || {}));
      state.token = answer.token;
      state.publicKey = answer.public_key;
      state.device = answer.device || {};
      state.verifyKey = null;
      $("enrol-code").value = "";
      $("enrol").hidden = true;
      start();
      return;
    }
    $("enrol-error").textContent = response.status === 429
      ? "Thử quá nhiều lần. Vui lòng đợi một phút rồi thử lại."
      : "Mã đăng ký không đúng, đã dùng hoặc đã hết hạn.";
  } catch (e) {
    $("enrol-error").textContent = "Không kết nối được máy chủ. Vui lòng kiểm tra mạng rồi thử lại.";
  } finally {
    button.disabled = false;
  }
}
