/* The signed manifest (kept in localStorage) and its media (kept in Cache Storage, shown from blob URLs). */
import { b64decode, sha256hex, verified } from "./crypto.js";
import { auth, setOnline, unenrol } from "./enrol.js";
import { tick } from "./main.js";
import { queueRecord } from "./reports.js";
import { BASE, K, iso, measureSkew, now, state, store } from "./state.js";

// ---------- manifest ----------
export function loadStoredManifest() {
  const text = store.get(K.manifest);
  if (!text) return;
  try { state.manifest = JSON.parse(text); } catch (e) { state.manifest = null; }
  if (state.manifest && state.manifest.device) state.device = Object.assign({}, state.device, state.manifest.device);
}

let fetching = null;
export function fetchManifest() {
  if (!fetching) fetching = doFetchManifest().finally(() => { fetching = null; });
  return fetching;
}

export async function doFetchManifest() {
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
export function mediaOf(item) {
  const list = [];
  (item.media || []).forEach((m) => { if (m && m.sha256) list.push(m); });
  if ((item.kind === "image" || item.kind === "video") && item.sha256) {
    list.push({ sha256: item.sha256, url: item.url, type: item.kind === "video" ? "video/mp4" : "image/*" });
  }
  return list;
}

// Media are kept in Cache Storage under their URL (the name is the content hash, so an entry never goes stale):
// a board that restarts without network shows them from there. Entries the manifest no longer names are dropped.
export const MEDIA_CACHE = "nguon-board-media";
const mediaCache = () => (self.caches ? caches.open(MEDIA_CACHE).catch(() => null) : Promise.resolve(null));
const mediaPath = (m) => (m.url && m.url.startsWith(BASE) ? m.url : BASE + "/media/" + m.sha256);

async function loadMedia(m) {
  const url = mediaPath(m);
  const cache = await mediaCache();
  let response = cache ? await cache.match(url, { ignoreVary: true }).catch(() => undefined) : undefined;
  const cached = Boolean(response);
  if (!response) {
    response = await fetch(url, { headers: auth(), cache: "no-store" });
    if (!response.ok) throw new Error("media " + response.status);
  }
  const buffer = await response.clone().arrayBuffer();
  const hash = await sha256hex(buffer);
  if (hash && hash !== m.sha256) {
    if (cached && cache) await cache.delete(url).catch(() => {});
    throw new Error("media hash mismatch");
  }
  if (!cached && cache && response.status === 200) await cache.put(url, response).catch(() => {});
  const type = response.headers.get("Content-Type") || m.type || "";
  return URL.createObjectURL(new Blob([buffer], { type }));
}

export function mediaUrl(m) {
  if (!state.media.has(m.sha256)) {
    const promise = loadMedia(m).catch((e) => { state.media.delete(m.sha256); throw e; });
    state.media.set(m.sha256, promise);
  }
  return state.media.get(m.sha256);
}

async function pruneMediaCache(keep) {
  const cache = await mediaCache();
  if (!cache) return;
  for (const request of await cache.keys()) {
    const sha = new URL(request.url).pathname.split("/").pop();
    if (!keep.has(sha)) await cache.delete(request);
  }
}

export function prefetchMedia() {
  if (!state.manifest) return;
  const wanted = new Set();
  (state.manifest.slots || []).forEach((slot) => (slot.items || []).forEach((item) => {
    mediaOf(item).forEach((m) => { wanted.add(m.sha256); mediaUrl(m).catch(() => {}); });
  }));
  // Free blob URLs the manifest no longer names (a pushed item may still use its own).
  const keep = state.override ? mediaOf(state.override.item).map((m) => m.sha256) : [];
  pruneMediaCache(new Set([...wanted, ...keep])).catch(() => {});
  for (const [sha, promise] of state.media) {
    if (!wanted.has(sha) && !keep.includes(sha)) {
      state.media.delete(sha);
      promise.then((u) => URL.revokeObjectURL(u)).catch(() => {});
    }
  }
}
