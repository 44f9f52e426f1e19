/* What the board shows now, how it is rendered, the ticker, and proof of play. */
import { mediaOf, mediaUrl } from "./manifest.js";
import { queueRecord } from "./reports.js";
import { $, DWELL_MS, K, formatter, iso, now, state, store, zone } from "./state.js";

// ---------- what to show ----------
export const displayable = (item) => item && (item.kind === "board" || item.kind === "image" || item.kind === "video"
  || item.kind === "text" || typeof item.text === "string");
export const itemId = (item, index) => String(item.bulletin ?? item.id ?? (item.sha256 ? item.sha256.slice(0, 16) : index));

export function currentSlot(at) {
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

export function upcoming(at) {
  // What the ticker announces: the titles of the published bulletins coming up, never a slot's name (slots are
  // named by and for the operators) nor a library file's title. [{start, title}], at most four, one per title.
  const m = state.manifest;
  if (!m || !Array.isArray(m.slots)) return [];
  const found = [];
  const seen = new Set();
  for (const slot of m.slots) {
    const start = Date.parse(slot.start);
    if (!(start > at)) continue;
    for (const item of slot.items || []) {
      const title = item && item.kind === "board" && typeof item.title === "string" ? item.title.trim() : "";
      if (!title || seen.has(title)) continue;
      seen.add(title);
      found.push({ start, title });
    }
    if (found.length >= 4) break;
  }
  return found.slice(0, 4);
}

export function decide(at) {
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

export function endOverride() {
  const audio = document.querySelector("#content audio");
  if (audio) audio.pause();
  state.override = null;
}

// ---------- rendering ----------
export function render(shown) {
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

export function effectiveVolume() {
  if (state.volume !== null) return state.volume;
  const current = currentSlot(now());
  if (current && typeof current.slot.volume === "number") return current.slot.volume;
  const settings = state.manifest && state.manifest.settings;
  return settings && typeof settings.volume === "number" ? settings.volume : 80;
}

export function applyVolume() {
  const silent = state.alertShown !== null; // nothing under an alert overlay may be heard
  document.querySelectorAll("#content video, #content audio").forEach((el) => {
    el.volume = Math.max(0, Math.min(1, effectiveVolume() / 100));
    el.muted = silent || (el.tagName === "VIDEO" && state.volume === 0);
  });
}

// The QR code of the feedback form for the board's own commune, on the idle screen. Loaded once per unit; a board
// of a unit that is not a commune, or one without network, gets an error and keeps the code hidden.
function showFeedbackQr() {
  const box = $("idle-qr");
  const unit = state.device && state.device.unit;
  if (!box || !unit) return;
  const img = $("idle-qr-img");
  if (img.dataset.unit === unit) return;
  img.dataset.unit = unit;
  img.addEventListener("load", () => { box.hidden = false; }, { once: true });
  img.addEventListener("error", () => { box.hidden = true; }, { once: true });
  img.src = box.dataset.src + "?xa=" + encodeURIComponent(unit);
}

export function renderChrome(at) {
  const time = formatter("time").format(at);
  $("status-clock").textContent = time;
  $("idle-time").textContent = time;
  $("idle-date").textContent = formatter("date").format(at);
  $("idle-name").textContent = (state.device && state.device.name) || "";
  showFeedbackQr();
  const next = upcoming(at);
  $("ticker").hidden = next.length === 0;
  $("ticker-text").textContent = next.map((entry) => {
    const when = formatter("short").format(entry.start);
    const day = new Intl.DateTimeFormat("vi-VN", { timeZone: zone(), day: "2-digit", month: "2-digit" });
    const today = day.format(at) === day.format(entry.start);
    return when + (today ? "" : " (" + day.format(entry.start) + ")") + " · " + entry.title;
  }).join("     •     ");
}

// ---------- proof of play ----------
// One open record per (occurrence, item) when it first shows, one closing record (with ended_at) when its
// occurrence is over or interrupted. The server counts distinct devices per occurrence, so both are safe.
export function trackPlays(shown, at) {
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
