/* Nguồn e-board player (docs/device-protocol.md): the entry module. No build step, no inline script.
 *
 * Flow: enrol once with a one-time code (token + server public key kept in localStorage, never in the URL);
 * fetch the signed manifest (If-None-Match, Ed25519 check of the raw body); every second show the current slot's
 * board items; follow push events over a fetch()-read SSE stream; report proof of play and heartbeats in
 * batches with a persisted per-device seq, buffered while offline. Emergency alerts (§4.1) cover everything with a
 * full-screen overlay until they expire or are cancelled. A service worker (/board/sw.js) keeps the player itself,
 * and media are kept in Cache Storage, so a board restarted without network plays its schedule.
 */
import { fitAlert, pruneAlertMemory, showAlerts } from "./alerts.js";
import { enrol, showEnrol } from "./enrol.js";
import { eventLoop } from "./events.js";
import { fetchManifest, loadStoredManifest } from "./manifest.js";
import { flushReports, heartbeat } from "./reports.js";
import { decide, render, renderChrome, trackPlays } from "./screen.js";
import { $, REPORT_EVERY_MS, now, state } from "./state.js";

// ---------- main loop ----------
export function tick() {
  if (!state.token) return;
  const at = now();
  showAlerts();
  const shown = decide(at);
  const key = shown ? shown.key : "idle";
  if (key !== state.shownKey) {
    state.shownKey = key;
    render(shown);
  }
  // The schedule goes on under an alert overlay (to resume where it would be now), but nothing under it is
  // seen: no proof of play for it meanwhile.
  const alerting = state.alertShown !== null;
  state.currentItem = alerting ? "alert/" + state.alertShown : shown ? shown.occurrence + "/" + shown.itemId : "";
  renderChrome(at);
  trackPlays(alerting ? null : shown, at);
}

export function start() {
  $("starting").hidden = true;
  $("enrol").hidden = true;
  $("screen").hidden = false;
  $("status").hidden = false;
  state.shownKey = null;
  loadStoredManifest();
  pruneAlertMemory(now());
  tick();
  fetchManifest();
  eventLoop();
  const heartbeatMs = () => ((state.manifest && state.manifest.settings
    && state.manifest.settings.heartbeat_seconds) || 60) * 1000;
  state.timers.push(setInterval(tick, 1000));
  state.timers.push(setInterval(flushReports, REPORT_EVERY_MS));
  // Polling the manifest as well covers a stream that a proxy silently holds open (mostly 304s).
  state.timers.push(setInterval(fetchManifest, heartbeatMs()));
  state.timers.push(setInterval(heartbeat, heartbeatMs()));
  heartbeat();
}

function installServiceWorker() {
  // The service worker keeps the page and these scripts for a restart without network; media and the manifest are
  // kept by the page itself. Ask for persistent storage so that the browser does not evict them under pressure.
  const url = $("board").dataset.sw;
  if (url && navigator.serviceWorker) navigator.serviceWorker.register(url).catch(() => {});
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
}

export function boot() {
  installServiceWorker();
  $("enrol-form").addEventListener("submit", enrol);
  window.addEventListener("online", () => { fetchManifest(); flushReports(); });
  window.addEventListener("resize", fitAlert);
  if (state.token && state.publicKey) start();
  else showEnrol("");
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
else boot();
