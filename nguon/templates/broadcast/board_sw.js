/* Nguồn e-board service worker (served by nguon.broadcast.board.service_worker at /board/sw.js).
 *
 * It keeps the player itself (the page, its scripts, its style sheet) in Cache Storage and answers from there when
 * the network is down, so that a board restarted without network still starts and plays its schedule: the signed
 * manifest is in localStorage and the media in Cache Storage ("nguon-board-media", written by manifest.js).
 * Device API calls pass through untouched.
 */
"use strict";

const SHELL_CACHE = "nguon-board-shell-{{ version }}";
const SHELL = {{ shell|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("nguon-board-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

// The network first (a board that is online always runs the newest player), the cache when it fails.
async function networkFirst(request, key) {
  const cache = await caches.open(SHELL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key, { ignoreSearch: true, ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === SHELL[0]) {
    event.respondWith(networkFirst(request, SHELL[0]));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(networkFirst(request, url.pathname));
  }
});
