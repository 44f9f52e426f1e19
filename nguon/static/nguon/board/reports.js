/* Report batches (protocol §5): a persisted outbox with per-device seq, sent in order. */
import { auth, setOnline, unenrol } from "./enrol.js";
import { effectiveVolume } from "./screen.js";
import { BASE, K, OUTBOX_MAX, PREFIX, iso, measureSkew, now, state, store } from "./state.js";

// ---------- reports ----------
export function seqKey() {
  return PREFIX + "seq." + ((state.device && state.device.code) || "_");
}

export function nextSeq() {
  // Start from the clock (in µs) so that a wiped localStorage never reuses a seq the server already holds.
  let seq = Number(store.get(seqKey()));
  if (!seq) seq = Date.now() * 1000;
  seq += 1;
  store.set(seqKey(), String(seq));
  return seq;
}

export function queueRecord(record) {
  const outbox = store.json(K.outbox, []);
  outbox.push(Object.assign({ seq: nextSeq() }, record));
  while (outbox.length > OUTBOX_MAX) outbox.shift();
  store.set(K.outbox, JSON.stringify(outbox));
  setTimeout(flushReports, 0);
}

export async function flushReports() {
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

export function heartbeat() {
  queueRecord({
    type: "heartbeat", at: iso(now()), volume: effectiveVolume(), clock_skew_ms: -state.skewMs,
    current_item: state.currentItem.slice(0, 200),
  });
}
