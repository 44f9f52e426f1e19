"""In-memory caches of the gateway: tokens, compiled manifests and media files. Used from the event loop only."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from dataclasses import dataclass, field

from nguon.broadcast import device_auth, device_media
from nguon.broadcast.actions import token_hash
from nguon.broadcast.gateway import db
from nguon.broadcast.models import CompiledManifest
from nguon.broadcast.protocol import manifest_hashes, manifest_headers

logger = logging.getLogger(__name__)

# Manifests up to this size travel inside their `manifest` event (§4.4): 10,000 devices then need no fetch after a
# change. Larger ones (rare: a week of dense schedule is ~5 kB) are fetched as before.
INLINE_MAX_BYTES = 16 * 1024


class Tokens:
    """token hash → device, loaded on demand (and all at once at warm-up), dropped by "revoke" events.

    A hit is trusted for POSITIVE_TTL, so a device switched out of service (no event for that) is refused within
    that time; a revoked token is refused as soon as the outbox poller sees the "revoke" event.
    """

    POSITIVE_TTL = 300.0
    NEGATIVE_TTL = 5.0  # a wrong token asked again and again costs one query per 5 s, not one per request
    MAX_ENTRIES = 200_000

    def __init__(self):
        self._entries: dict[str, tuple[device_auth.DeviceRef | None, float]] = {}
        self._by_device: dict[int, set[str]] = {}
        self._revocations = 0

    def preload(self, tokens: dict[str, device_auth.DeviceRef]) -> None:
        until = time.monotonic() + self.POSITIVE_TTL
        for hashed, ref in tokens.items():
            self._remember(hashed, ref, until)

    def cached(self, token: str) -> device_auth.DeviceRef | None:
        """The device of a token known and still trusted, without asking the database; None otherwise."""
        hit = self._entries.get(token_hash(token))
        return hit[0] if hit is not None and hit[1] > time.monotonic() else None

    async def device(self, token: str) -> device_auth.DeviceRef | None:
        hashed = token_hash(token)
        now = time.monotonic()
        hit = self._entries.get(hashed)
        if hit is not None and hit[1] > now:
            return hit[0]
        revocations = self._revocations
        ref = await db.run(device_auth.lookup, hashed)
        # Race: a revocation seen while the query ran may postdate what it read. Answer this request with it,
        # but remember it only if no revocation came in between.
        if revocations == self._revocations:
            self._remember(hashed, ref, now + (self.POSITIVE_TTL if ref else self.NEGATIVE_TTL))
        return ref

    def _remember(self, hashed: str, ref, until: float) -> None:
        if len(self._entries) >= self.MAX_ENTRIES:  # a flood of made-up tokens: forget the refusals
            self._entries = {h: e for h, e in self._entries.items() if e[0] is not None}
        self._entries[hashed] = (ref, until)
        if ref is not None:
            self._by_device.setdefault(ref.id, set()).add(hashed)

    def revoke(self, device_ids) -> None:
        """Forget the tokens of these devices (None: of every device); the next request asks the database."""
        self._revocations += 1
        if device_ids is None:
            self._entries.clear()
            self._by_device.clear()
            return
        for device_id in device_ids:
            for hashed in self._by_device.pop(device_id, ()):
                self._entries.pop(hashed, None)


@dataclass(slots=True)
class Manifest:
    version: int
    etag: str
    body: bytes
    signature: str
    _hashes: frozenset[str] | None = field(default=None, repr=False)
    headers_200: list[tuple[bytes, bytes]] = field(init=False, repr=False)
    headers_304: list[tuple[bytes, bytes]] = field(init=False, repr=False)
    etag_bytes: bytes = field(init=False, repr=False)

    def __post_init__(self):
        pairs = [
            *manifest_headers(etag=self.etag, version=self.version, signature=self.signature),
            ("Content-Type", "application/json"),
        ]
        self.headers_200 = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
        self.etag_bytes = self.etag.encode("latin-1")
        self.headers_304 = [(b"etag", self.etag_bytes)]

    def inline_line(self) -> bytes:
        """The `manifest:` field a `manifest` event carries for this device (protocol §4.4), or b"" when the body is
        larger than INLINE_MAX_BYTES (the device then fetches it)."""
        if len(self.body) > INLINE_MAX_BYTES:
            return b""
        encoded = base64.urlsafe_b64encode(self.body)
        return b"manifest: " + self.etag_bytes + b" " + encoded + b" " + self.signature.encode("ascii") + b"\n"

    @property
    def hashes(self) -> frozenset[str]:
        if self._hashes is None:
            self._hashes = manifest_hashes(self.body)
        return self._hashes


def load_manifests(device_ids: list[int]) -> dict[int, Manifest]:
    found = {}
    for start in range(0, len(device_ids), 2000):
        rows = CompiledManifest.objects.filter(device_id__in=device_ids[start : start + 2000]).order_by()
        for device_id, version, etag, body, signature in rows.values_list(
            "device_id", "version", "etag", "body", "signature"
        ):
            found[device_id] = Manifest(version, etag, bytes(body), signature)
    return found


def load_all_manifests(budget: int) -> dict[int, Manifest]:
    """Every compiled manifest, in device order, until their bodies add up to `budget` bytes."""
    found, total, after = {}, 0, 0
    while total < budget:
        rows = CompiledManifest.objects.filter(device_id__gt=after).order_by("device_id")[:2000]
        rows = list(rows.values_list("device_id", "version", "etag", "body", "signature"))
        for device_id, version, etag, body, signature in rows:
            found[device_id] = Manifest(version, etag, bytes(body), signature)
            total += len(body)
        if len(rows) < 2000:
            break
        after = rows[-1][0]
    return found


class Manifests:
    """device → its compiled, signed manifest; all of them loaded at the first request (within PRELOAD_BYTES),
    reloaded in bulk when a "manifest" event names devices, so that the fetches that follow a push (or a reconnect
    storm after a restart) are answered from memory, without a query each.

    Race: a load that started before a change was committed may return the old manifest after the change's
    event was handled. Each change bumps a clock and records it per device; a load stores its result only if no
    change to its device came after the load began.
    """

    # Bodies held at most by the preload (10,000 devices with a week of dense schedule, ~5 kB each, take 50 MB);
    # past it, the rest are loaded one by one when asked for, as before.
    PRELOAD_BYTES = 96 * 1024 * 1024

    def __init__(self):
        self._entries: dict[int, Manifest] = {}
        self._clock = 0
        self._changed: dict[int, int] = {}
        self._all_changed = 0
        self._preload: asyncio.Future | None = None

    def _still_current(self, device_id: int, started: int) -> bool:
        return self._changed.get(device_id, 0) <= started and self._all_changed <= started

    def cached(self, device_id: int) -> Manifest | None:
        """The device's manifest if it is in memory now (None: ask `get`)."""
        return self._entries.get(device_id)

    async def get(self, device_id: int) -> Manifest | None:
        """The device's manifest, or None when none is compiled yet (Django then compiles it)."""
        entry = self._entries.get(device_id)
        if entry is not None:
            return entry
        if self._preload is None:
            self._preload = asyncio.ensure_future(self._load_all())
        if not self._preload.done():
            # A wave of devices asking at once (a restart) waits for the one bulk load, not a query each.
            with contextlib.suppress(Exception):
                await asyncio.shield(self._preload)
            entry = self._entries.get(device_id)
            if entry is not None:
                return entry
        started = self._clock
        entry = (await db.run(load_manifests, [device_id])).get(device_id)
        if entry is not None and self._still_current(device_id, started):
            self._entries[device_id] = entry
        return entry

    async def _load_all(self) -> None:
        started = self._clock
        try:
            found = await db.run(load_all_manifests, self.PRELOAD_BYTES)
        except Exception:
            logger.exception("preloading the manifests failed; they are loaded one by one")
            return
        for device_id, entry in found.items():
            if device_id not in self._entries and self._still_current(device_id, started):
                self._entries[device_id] = entry

    async def changed(self, device_ids) -> None:
        """Forget these devices' manifests (None: all) and reload those that were cached, in bulk."""
        self._clock += 1
        if device_ids is None:
            self._all_changed = self._clock
            self._entries.clear()
            self._preload = None  # the next request loads them all again
            return
        cached = [i for i in device_ids if i in self._entries]
        for device_id in device_ids:
            self._changed[device_id] = self._clock
            self._entries.pop(device_id, None)
        if cached:
            started = self._clock
            for device_id, entry in (await db.run(load_manifests, cached)).items():
                if self._still_current(device_id, started):
                    self._entries[device_id] = entry


class MediaFiles:
    """sha256 → stored file. A file named by its hash never changes, so entries never go stale."""

    def __init__(self):
        self._entries: dict[str, device_media.MediaFile] = {}

    async def get(self, sha256: str) -> device_media.MediaFile | None:
        found = self._entries.get(sha256)
        if found is None:
            found = await db.run(device_media.find, sha256)
            if found is not None:
                self._entries[sha256] = found
        return found
