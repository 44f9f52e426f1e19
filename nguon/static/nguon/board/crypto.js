/* base64, Ed25519 signature checks over the bytes as received, SHA-256 of media. */
import { queueRecord } from "./reports.js";
import { iso, now, state } from "./state.js";

// ---------- encoding and signatures ----------
export function b64decode(text) {
  // Standard or url-safe base64, with or without `=` padding.
  let s = text.trim().replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  s += "===".slice((s.length + 3) % 4);
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function verifyKey() {
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

export async function verified(data, signature) {
  const key = await verifyKey();
  if (key === "unsupported") return true;
  try {
    return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, data);
  } catch (e) {
    return false;
  }
}

export async function sha256hex(buffer) {
  if (!(window.crypto && crypto.subtle)) return null;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
