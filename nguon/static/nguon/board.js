/* Nguồn e-board player (docs/device-protocol.md). Vanilla JS, no build step.
 *
 * Flow: enrol once with a one-time code (token + server public key kept in localStorage, never in the URL);
 * fetch the signed manifest (If-None-Match, Ed25519 check of the raw body); every second show the current slot's
 * board items; follow push events over a fetch()-read SSE stream; report proof of play and heartbeats in
 * batches with a persisted per-device seq, buffered while offline. Emergency alerts (§4.1) cover everything with a
 * full-screen overlay until they expire or are cancelled; they are acknowledged at once and kept across reloads.
 */
(function () {
  "use strict";

  const script = document.currentScript;
  const BASE = (script && script.dataset.api) || "/device/v1";
  const PREFIX = "nguon.board.";
  const K = {
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
  const DEFAULT_ZONE = "Asia/Ho_Chi_Minh";
  const DWELL_MS = 15000; // how long each item stays when a slot has several
  const PUSH_DEFAULT_MS = 60000; // a pushed item without a duration stays this long
  const STREAM_STALL_MS = 70000; // no byte (keep-alive every 25 s) for this long: reconnect
  const OUTBOX_MAX = 5000;
  const REPORT_EVERY_MS = 15000;
  const ALERT_MEMORY_MS = 7 * 86400000; // what was done with an alert is remembered this long after it expired

  const $ = (id) => document.getElementById(id);
  const store = {
    get(key) { try { return localStorage.getItem(key); } catch (e) { return null; } },
    set(key, value) { try { localStorage.setItem(key, value); } catch (e) { /* full: keep going */ } },
    del(key) { try { localStorage.removeItem(key); } catch (e) { /* ignore */ } },
    json(key, fallback) {
      const text = this.get(key);
      if (!text) return fallback;
      try { return JSON.parse(text); } catch (e) { return fallback; }
    },
  };

  function storedAlerts() {
    const list = store.json(K.alerts, []);
    return Array.isArray(list) ? list.filter((a) => a && typeof a.id === "string" && typeof a.until === "number"
      && typeof a.eventId === "number" && a.alert && typeof a.alert === "object") : [];
  }

  const state = {
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
  const now = () => Date.now() + state.skewMs;
  const iso = (ms) => new Date(ms).toISOString();
  const zone = () => (state.manifest && state.manifest.timezone) || DEFAULT_ZONE;
  const fmt = {};
  function formatter(kind) {
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

  function fullTime(ms) {
    // "HH:mm dd/MM/yyyy" in the board's time zone, whatever order the locale puts the parts in.
    const part = {};
    formatter("full").formatToParts(ms).forEach((p) => { part[p.type] = p.value; });
    return part.hour + ":" + part.minute + " " + part.day + "/" + part.month + "/" + part.year;
  }

  function measureSkew(response, sentAt, receivedAt) {
    const header = response.headers.get("X-Server-Time");
    const server = header ? Date.parse(header) : NaN;
    if (Number.isNaN(server)) return;
    state.skewMs = Math.round(server - (sentAt + receivedAt) / 2);
    store.set(K.skew, String(state.skewMs));
  }

  // ---------- encoding and signatures ----------
  function b64decode(text) {
    // Standard or url-safe base64, with or without `=` padding.
    let s = text.trim().replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
    s += "===".slice((s.length + 3) % 4);
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  async function verifyKey() {
    if (state.verifyKey) return state.verifyKey;
    try {
      state.verifyKey = await crypto.subtle.importKey(
        "raw", b64decode(state.publicKey), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      // No WebCrypto Ed25519 (old browser, or not a secure context): accept unsigned-checked data.
      state.verifyKey = "unsupported";
      queueRecord({ type: "log", at: iso(now()), level: "warning", message: "ed25519_unsupported" });
    }
    return state.verifyKey;
  }

  async function verified(data, signature) {
    const key = await verifyKey();
    if (key === "unsupported") return true;
    try {
      return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, data);
    } catch (e) {
      return false;
    }
  }

  async function sha256hex(buffer) {
    if (!(window.crypto && crypto.subtle)) return null;
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---------- HTTP ----------
  function auth(extra) {
    return Object.assign({ Authorization: "Bearer " + state.token }, extra || {});
  }

  function setOnline(online) {
    state.online = online;
    $("offline").hidden = online;
  }

  function unenrol() {
    // The token was revoked (401): forget it and ask for a new code.
    if (state.streamAbort) state.streamAbort.abort();
    [K.token, K.publicKey, K.device, K.manifest, K.etag, K.lastEvent, K.plays, K.outbox, K.alerts, K.alertStates]
      .forEach((k) => store.del(k));
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
  function showEnrol(message) {
    $("starting").hidden = true;
    $("screen").hidden = true;
    $("ticker").hidden = true;
    $("status").hidden = true;
    $("enrol").hidden = false;
    $("enrol-error").textContent = message || "";
    $("enrol-code").focus();
  }

  async function enrol(event) {
    event.preventDefault();
    const code = $("enrol-code").value.trim();
    const button = $("enrol-form").querySelector("button");
    button.disabled = true;
    $("enrol-error").textContent = "Đang đăng ký…";
    try {
      const response = await fetch(BASE + "/enrol", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ code, hardware: { model: "Bảng tin trình duyệt", firmware: "board.js 1" } }),
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

  // ---------- manifest ----------
  function loadStoredManifest() {
    const text = store.get(K.manifest);
    if (!text) return;
    try { state.manifest = JSON.parse(text); } catch (e) { state.manifest = null; }
    if (state.manifest && state.manifest.device) state.device = Object.assign({}, state.device, state.manifest.device);
  }

  let fetching = null;
  function fetchManifest() {
    if (!fetching) fetching = doFetchManifest().finally(() => { fetching = null; });
    return fetching;
  }

  async function doFetchManifest() {
    if (!state.token) return;
    const headers = auth();
    if (state.etag && state.manifest) headers["If-None-Match"] = state.etag;
    const sentAt = Date.now();
    let response;
    try {
      response = await fetch(BASE + "/manifest", { headers, cache: "no-store" });
    } catch (e) {
      setOnline(false);
      return;
    }
    measureSkew(response, sentAt, Date.now());
    if (response.status === 401) return unenrol();
    if (response.status === 304) { setOnline(true); return; }
    if (!response.ok) { setOnline(false); return; }
    setOnline(true);
    const body = new Uint8Array(await response.arrayBuffer());
    const signature = response.headers.get("X-Nguon-Signature") || "";
    let good = false;
    try { good = signature !== "" && await verified(body, b64decode(signature)); } catch (e) { good = false; }
    if (!good) {
      queueRecord({ type: "log", at: iso(now()), level: "error", message: "manifest_bad_signature" });
      return; // keep the previous manifest
    }
    const text = new TextDecoder().decode(body);
    let document_;
    try { document_ = JSON.parse(text); } catch (e) { return; }
    state.manifest = document_;
    state.etag = response.headers.get("ETag");
    state.volume = null;
    store.set(K.manifest, text);
    if (state.etag) store.set(K.etag, state.etag);
    if (document_.device) state.device = Object.assign({}, state.device, document_.device);
    prefetchMedia();
    tick();
  }

  // ---------- media (fetched with the token, shown from blob URLs) ----------
  function mediaOf(item) {
    const list = [];
    (item.media || []).forEach((m) => { if (m && m.sha256) list.push(m); });
    if ((item.kind === "image" || item.kind === "video") && item.sha256) {
      list.push({ sha256: item.sha256, url: item.url, type: item.kind === "video" ? "video/mp4" : "image/*" });
    }
    return list;
  }

  function mediaUrl(m) {
    if (!state.media.has(m.sha256)) {
      const url = m.url && m.url.startsWith(BASE) ? m.url : BASE + "/media/" + m.sha256;
      const promise = fetch(url, { headers: auth(), cache: "no-store" })
        .then(async (response) => {
          if (!response.ok) throw new Error("media " + response.status);
          const buffer = await response.arrayBuffer();
          const hash = await sha256hex(buffer);
          if (hash && hash !== m.sha256) throw new Error("media hash mismatch");
          const type = response.headers.get("Content-Type") || m.type || "";
          return URL.createObjectURL(new Blob([buffer], { type }));
        })
        .catch((e) => { state.media.delete(m.sha256); throw e; });
      state.media.set(m.sha256, promise);
    }
    return state.media.get(m.sha256);
  }

  function prefetchMedia() {
    if (!state.manifest) return;
    const wanted = new Set();
    (state.manifest.slots || []).forEach((slot) => (slot.items || []).forEach((item) => {
      mediaOf(item).forEach((m) => { wanted.add(m.sha256); mediaUrl(m).catch(() => {}); });
    }));
    // Free blob URLs the manifest no longer names (a pushed item may still use its own).
    const keep = state.override ? mediaOf(state.override.item).map((m) => m.sha256) : [];
    for (const [sha, promise] of state.media) {
      if (!wanted.has(sha) && !keep.includes(sha)) {
        state.media.delete(sha);
        promise.then((u) => URL.revokeObjectURL(u)).catch(() => {});
      }
    }
  }

  // ---------- what to show ----------
  const displayable = (item) => item && (item.kind === "board" || item.kind === "image" || item.kind === "video"
    || item.kind === "text" || typeof item.text === "string");
  const itemId = (item, index) => String(item.bulletin ?? item.id ?? (item.sha256 ? item.sha256.slice(0, 16) : index));

  function currentSlot(at) {
    const m = state.manifest;
    if (!m || !Array.isArray(m.slots)) return null;
    if (m.valid_until && Date.parse(m.valid_until) <= at) return null;
    for (const slot of m.slots) {
      const start = Date.parse(slot.start);
      const end = Date.parse(slot.end);
      if (start <= at && at < end && slot.id !== state.stopped) {
        return { slot, start, end, items: (slot.items || []).filter(displayable) };
      }
    }
    return null;
  }

  function upcoming(at) {
    const m = state.manifest;
    if (!m || !Array.isArray(m.slots)) return [];
    return m.slots.filter((s) => Date.parse(s.start) > at).slice(0, 4);
  }

  function decide(at) {
    if (state.override && state.override.until <= at) endOverride();
    if (state.override) {
      const o = state.override;
      return { key: "push:" + o.id, item: o.item, occurrence: o.occurrence, itemId: itemId(o.item, 0),
        endsAt: o.until, live: o.kind === "live" };
    }
    const current = currentSlot(at);
    if (current && current.items.length) {
      const n = current.items.length;
      const index = n === 1 ? 0 : Math.floor((at - current.start) / DWELL_MS) % n;
      const item = current.items[index];
      // The item itself is part of the key: a new manifest may change what the same slot shows.
      return { key: current.slot.id + "/" + index + "/" + JSON.stringify(item), item, occurrence: current.slot.id, itemId: itemId(item, index),
        endsAt: current.end };
    }
    return null;
  }

  function endOverride() {
    const audio = document.querySelector("#content audio");
    if (audio) audio.pause();
    state.override = null;
  }

  // ---------- rendering ----------
  function render(shown) {
    const content = $("content");
    content.textContent = "";
    content.className = "content";
    if (!shown) {
      content.hidden = true;
      $("idle").hidden = false;
      return;
    }
    $("idle").hidden = true;
    content.hidden = false;
    const item = shown.item;
    if (item.priority === "priority" || item.priority === "urgent" || shown.live) content.classList.add("priority");
    const title = shown.live ? "Đang phát trực tiếp" : item.title;
    const text = shown.live ? (item.title || "") : (item.text || "");
    const media = mediaOf(item);
    if (title && title !== text) {
      const h = document.createElement("h1");
      h.className = "item-title";
      h.textContent = title;
      content.appendChild(h);
    }
    if (text) {
      const p = document.createElement("p");
      p.className = "item-text" + (text.length > 220 ? " long" : "");
      p.textContent = text;
      content.appendChild(p);
    }
    if (!text && media.length) content.classList.add("media-only");
    const key = shown.key;
    media.forEach((m) => {
      const isVideo = (m.type || "").startsWith("video");
      const element = document.createElement(isVideo ? "video" : "img");
      element.className = "item-media";
      if (isVideo) {
        element.autoplay = true;
        element.loop = true;
        element.playsInline = true;
        element.muted = state.volume === 0 || state.alertShown !== null;
        element.volume = effectiveVolume() / 100;
      } else {
        element.alt = item.title || "";
      }
      element.hidden = true;
      content.appendChild(element);
      mediaUrl(m).then((url) => {
        if (state.shownKey !== key) return;
        element.src = url;
        element.hidden = false;
      }).catch(() => element.remove());
    });
    if (item.kind === "audio" && item.sha256) {
      const audio = document.createElement("audio");
      audio.autoplay = true;
      audio.muted = state.alertShown !== null;
      audio.volume = effectiveVolume() / 100;
      content.appendChild(audio);
      mediaUrl({ sha256: item.sha256, url: item.url }).then((url) => {
        if (state.shownKey === key) audio.src = url;
      }).catch(() => {});
    }
  }

  function effectiveVolume() {
    if (state.volume !== null) return state.volume;
    const current = currentSlot(now());
    if (current && typeof current.slot.volume === "number") return current.slot.volume;
    const settings = state.manifest && state.manifest.settings;
    return settings && typeof settings.volume === "number" ? settings.volume : 80;
  }

  function applyVolume() {
    const silent = state.alertShown !== null; // nothing under an alert overlay may be heard
    document.querySelectorAll("#content video, #content audio").forEach((el) => {
      el.volume = Math.max(0, Math.min(1, effectiveVolume() / 100));
      el.muted = silent || (el.tagName === "VIDEO" && state.volume === 0);
    });
  }

  function renderChrome(at) {
    const time = formatter("time").format(at);
    $("status-clock").textContent = time;
    $("idle-time").textContent = time;
    $("idle-date").textContent = formatter("date").format(at);
    $("idle-name").textContent = (state.device && state.device.name) || "";
    const next = upcoming(at);
    $("ticker").hidden = next.length === 0;
    $("ticker-text").textContent = next.map((s) => {
      const when = formatter("short").format(Date.parse(s.start));
      const day = new Intl.DateTimeFormat("vi-VN", { timeZone: zone(), day: "2-digit", month: "2-digit" });
      const today = day.format(at) === day.format(Date.parse(s.start));
      return when + (today ? "" : " (" + day.format(Date.parse(s.start)) + ")") + " · " + s.name;
    }).join("     •     ");
  }

  // ---------- proof of play ----------
  // One open record per (occurrence, item) when it first shows, one closing record (with ended_at) when its
  // occurrence is over or interrupted. The server counts distinct devices per occurrence, so both are safe.
  function trackPlays(shown, at) {
    const active = shown ? shown.occurrence + "|" + shown.itemId : null;
    let changed = false;
    if (shown && !state.plays[active]) {
      state.plays[active] = { occurrence: shown.occurrence, item: shown.itemId, started: at, last: at,
        endsAt: shown.endsAt };
      queueRecord({ type: "play", occurrence: shown.occurrence, item: shown.itemId, started_at: iso(at),
        result: "played" });
      changed = true;
    } else if (shown) {
      state.plays[active].last = at;
    }
    const occurrences = new Set();
    if (shown) occurrences.add(shown.occurrence);
    const scheduled = currentSlot(at);
    if (scheduled) occurrences.add(scheduled.slot.id); // a push interrupts a slot, it does not end it
    for (const key of Object.keys(state.plays)) {
      const play = state.plays[key];
      if (occurrences.has(play.occurrence) && play.endsAt > at) continue;
      const ended = Math.min(at, play.endsAt);
      queueRecord({ type: "play", occurrence: play.occurrence, item: play.item, started_at: iso(play.started),
        ended_at: iso(Math.max(ended, play.started)), result: ended >= play.endsAt - 2000 ? "played" : "partial" });
      delete state.plays[key];
      changed = true;
    }
    if (changed) store.set(K.plays, JSON.stringify(state.plays));
    else if (Math.floor(at / 1000) % 10 === 0) store.set(K.plays, JSON.stringify(state.plays));
  }

  // ---------- reports ----------
  function seqKey() {
    return PREFIX + "seq." + ((state.device && state.device.code) || "_");
  }

  function nextSeq() {
    // Start from the clock (in µs) so that a wiped localStorage never reuses a seq the server already holds.
    let seq = Number(store.get(seqKey()));
    if (!seq) seq = Date.now() * 1000;
    seq += 1;
    store.set(seqKey(), String(seq));
    return seq;
  }

  function queueRecord(record) {
    const outbox = store.json(K.outbox, []);
    outbox.push(Object.assign({ seq: nextSeq() }, record));
    while (outbox.length > OUTBOX_MAX) outbox.shift();
    store.set(K.outbox, JSON.stringify(outbox));
    setTimeout(flushReports, 0);
  }

  async function flushReports() {
    if (!state.token || state.reporting || Date.now() < state.reportRetryAt) return;
    const outbox = store.json(K.outbox, []);
    if (!outbox.length) return;
    const max = (state.manifest && state.manifest.settings && state.manifest.settings.report_batch_max) || 500;
    const batch = outbox.slice(0, Math.min(max, 1000));
    state.reporting = true;
    try {
      const sentAt = Date.now();
      const response = await fetch(BASE + "/reports", {
        method: "POST",
        headers: auth({ "Content-Type": "application/json" }),
        body: JSON.stringify({ records: batch }),
        cache: "no-store",
      });
      measureSkew(response, sentAt, Date.now());
      if (response.status === 401) { state.reporting = false; unenrol(); return; }
      if (response.status === 429 || response.status === 503) {
        const wait = Number(response.headers.get("Retry-After")) || 30;
        state.reportRetryAt = Date.now() + wait * 1000;
        return;
      }
      setOnline(true);
      const highest = batch[batch.length - 1].seq;
      // 200: stored (rejected ones are not retried); 400/413: the batch can never pass, drop it too.
      const left = store.json(K.outbox, []).filter((r) => r.seq > highest);
      store.set(K.outbox, JSON.stringify(left));
      if (left.length) setTimeout(flushReports, 0);
    } catch (e) {
      setOnline(false);
      state.reportRetryAt = Date.now() + 5000;
    } finally {
      state.reporting = false;
    }
  }

  function heartbeat() {
    queueRecord({
      type: "heartbeat", at: iso(now()), volume: effectiveVolume(), clock_skew_ms: -state.skewMs,
      current_item: state.currentItem.slice(0, 200),
    });
  }

  // ---------- emergency alerts (§4.1): a full-screen overlay until the alert expires or is cancelled ----------
  // The alerts in force form a stack: the newest is shown, the others wait underneath until it goes. Each alert
  // is acknowledged once (sent at once) and reported "played" once it is on screen; both facts are kept, so a
  // reload or a replayed event never reports it again.
  const DRILL = new Set(["Exercise", "Test"]);
  const SEVERITY = { Extreme: "Đặc biệt nghiêm trọng", Severe: "Nghiêm trọng", Moderate: "Trung bình", Minor: "Nhẹ" };
  const URGENCY = { Immediate: "Khẩn cấp ngay", Expected: "Sắp xảy ra", Future: "Có thể xảy ra", Past: "Đã qua" };
  const plain = (value) => (typeof value === "string" ? value.trim() : "");
  const alertKey = (id) => String(id);
  const validAlertId = (id) => (typeof id === "number" && Number.isFinite(id)) || (typeof id === "string" && id !== "");

  function saveAlerts() {
    store.set(K.alerts, JSON.stringify(state.alerts));
    store.set(K.alertStates, JSON.stringify(state.alertStates));
  }

  function alertMemory(key, until) {
    const entry = state.alertStates[key] || (state.alertStates[key] = { until });
    entry.until = Math.max(entry.until || 0, until || 0);
    return entry;
  }

  function reportAlert(entry, stateName) {
    // One record per alert and state, ever: {"seq", "type": "alert", "alert": <id as sent>, "state", "at"}.
    const memory = alertMemory(entry.id, entry.until);
    if (memory[stateName]) return false;
    memory[stateName] = true;
    queueRecord({ type: "alert", alert: entry.alert.id, state: stateName, at: iso(now()) });
    return true;
  }

  function forgetAlert(id) {
    // Cancelled, or replaced by a newer alert: off the stack, and never shown again if it comes back.
    const key = alertKey(id);
    state.alerts = state.alerts.filter((a) => a.id !== key);
    alertMemory(key, now()).gone = true;
  }

  function receiveAlert(event) {
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

  function cancelAlert(event) {
    const alert = event.alert;
    if (!alert || typeof alert !== "object" || !validAlertId(alert.id)) return;
    forgetAlert(alert.id);
    saveAlerts();
  }

  function pruneAlertMemory(at) {
    let changed = false;
    for (const key of Object.keys(state.alertStates)) {
      if ((state.alertStates[key].until || 0) + ALERT_MEMORY_MS < at) {
        delete state.alertStates[key];
        changed = true;
      }
    }
    if (changed) saveAlerts();
  }

  function renderAlert(entry) {
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

  function showAlerts() {
    // Drop what expired, show the newest alert in force (or nothing), and report it played once shown.
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
        state.alertShown = top.id;
        applyVolume();
        overlay.focus();
      }
      const others = state.alerts.length - 1;
      $("alert-more").hidden = others === 0;
      $("alert-more").textContent = others ? "Còn " + others + " cảnh báo khác đang có hiệu lực" : "";
      if (reportAlert(top, "played")) changed = true;
    }
    if (changed) saveAlerts();
  }

  // ---------- push events (SSE over fetch, since EventSource cannot send Authorization) ----------
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function eventLoop() {
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

  async function readStream(reader, arm) {
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

  function addressed(audience) {
    // An event's audience names this board by its code, one of its units (own and above) or one of its groups;
    // the board knows them from its manifest, or from its enrolment answer until the first manifest arrives.
    if (!audience || typeof audience !== "object") return false;
    const list = (value) => (Array.isArray(value) ? value : []);
    const device = state.device || {};
    if (device.code && list(audience.devices).includes(device.code)) return true;
    if (list(audience.units).some((u) => list(device.units).includes(u))) return true;
    return list(audience.groups).some((g) => list(device.groups).includes(g));
  }

  async function handleEvent(data) {
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

  function act(event) {
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

  // ---------- main loop ----------
  function tick() {
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

  function start() {
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

  function boot() {
    $("enrol-form").addEventListener("submit", enrol);
    window.addEventListener("online", () => { fetchManifest(); flushReports(); });
    if (state.token && state.publicKey) start();
    else showEnrol("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
