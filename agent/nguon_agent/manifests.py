"""The receiver's enrolment, manifest and media cache (docs/device-protocol.md §1–3)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from typing import Any
from urllib.parse import urljoin, urlsplit

from nguon_agent import PROTOCOL
from nguon_agent.clock import iso, wait_event
from nguon_agent.common import (
    _MEDIA_TIMEOUT,
    NETWORK_ERRORS,
    EnrolmentError,
    ServerError,
    Unauthorized,
    _Stopped,
    log,
    retry_after_seconds,
)
from nguon_agent.crypto import check_public_key
from nguon_agent.playout import FILE_KINDS, MediaMissing
from nguon_agent.store import Credentials, SignedManifest


class ManifestsMixin:
    """Part of `Agent` (nguon_agent.agent): the state it uses is set up in `Agent.__init__`."""

    # ----- enrolment -----

    async def enrol(self) -> Credentials:
        credentials = self.store.load_credentials()
        if credentials is not None:
            if self.code:
                log.info("already enrolled as %s: the enrolment code is not used", credentials.code)
            return credentials
        if not self.code:
            raise EnrolmentError("this device is not enrolled: give it an enrolment code (--code)")
        attempt = 0
        while True:
            sent = time.time()
            try:
                async with self._session.post(
                    self.base + "/enrol",
                    json={"code": self.code, "hardware": self.options.hardware},
                    timeout=self._request_timeout,
                ) as response:
                    self._note_time(response, sent)
                    if response.status == 200:
                        document = await response.json(content_type=None)
                        return self._save_enrolment(document)
                    if response.status == 400:
                        raise EnrolmentError("the server refused the enrolment code (unknown, used or expired)")
                    delay = (
                        retry_after_seconds(response.headers.get("Retry-After"))
                        if response.status == 429
                        else self._backoff(attempt)
                    )
                    log.warning("enrolment: server answered %s; retrying in %.1f s", response.status, delay)
            except NETWORK_ERRORS as exc:
                delay = self._backoff(attempt)
                log.warning("enrolment: %r; retrying in %.1f s", exc, delay)
            attempt += 1
            await self._pause(delay)
            if self._stop.is_set():
                raise _Stopped()

    def _save_enrolment(self, document: Any) -> Credentials:
        try:
            token, public_key = document["token"], document["public_key"]
            device = document.get("device") or {}
            check_public_key(public_key)
            if not isinstance(token, str) or not token or not isinstance(device, dict):
                raise ValueError("bad token or device")
        except (KeyError, TypeError, ValueError) as exc:
            raise EnrolmentError(f"the enrolment answer is not valid: {exc}") from exc
        if document.get("protocol") not in (None, PROTOCOL):
            log.warning("server speaks protocol %s; this agent speaks %s", document.get("protocol"), PROTOCOL)
        credentials = Credentials(token, public_key, device, self.server, iso(self.clock.now()))
        self.store.save_credentials(credentials)
        log.info("enrolled as %s (%s)", credentials.code, device.get("name", ""))
        return credentials

    # ----- manifest -----

    def _load_cached_manifest(self) -> None:
        cached = self.store.load_manifest()
        if cached is None:
            return
        body, meta = cached
        if self._adopt(body, meta.get("signature"), meta.get("etag"), cached=True):
            log.info("playing from the cached manifest, version %s", self.version)
        else:
            log.warning("the cached manifest did not verify; waiting for the server")

    async def fetch_manifest(self) -> bool:
        """GET the manifest (If-None-Match). True when a new manifest was adopted."""
        headers = self._auth()
        if self.etag:
            headers["If-None-Match"] = self.etag
        sent = time.time()
        url = self.base + "/manifest"
        async with self._session.get(url, headers=headers, timeout=self._request_timeout) as response:
            self._note_time(response, sent)
            if response.status == 304:
                self.stats.not_modified += 1
                return False
            if response.status == 401:
                raise Unauthorized()
            if response.status != 200:
                raise ServerError(response.status, retry_after_seconds(response.headers.get("Retry-After"), 0))
            body = await response.read()
            received = time.time()
            signature, etag = response.headers.get("X-Nguon-Signature"), response.headers.get("ETag")
            return self._adopt(body, signature, etag, received=received)

    def take_inline_manifest(self, inline: str, received: float = 0.0) -> bool:
        """A manifest carried by its `manifest` event (§4.4: `<ETag> <base64url body> <signature>`): True when it
        is the one held already or was verified and taken; False (then fetch it) when it is malformed or refused."""
        parts = inline.split(" ")
        body = None
        if len(parts) == 3:
            etag, encoded, signature = parts
            if self.document is not None and etag == self.etag:
                return True
            with contextlib.suppress(ValueError):
                body = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        if body is None:
            self.stats.ignored["inline_manifest_invalid"] = self.stats.ignored.get("inline_manifest_invalid", 0) + 1
            return False
        taken = self._adopt(body, signature, etag, received=received or time.time())
        if taken:
            self.stats.inline_manifests += 1
        return taken

    def _refuse(self, message: str) -> bool:
        self.stats.manifests_refused += 1
        self.log_record("warning", message)
        return False

    def _adopt(
        self, body: bytes, signature: str | None, etag: str | None, cached: bool = False, received: float = 0.0
    ) -> bool:
        """Verify the raw body, then check and take the manifest. Anything wrong: keep the previous one."""
        if not self.verifier.verify_manifest(body, signature):
            return self._refuse("manifest_bad_signature")
        try:
            document = json.loads(body)
        except ValueError:
            return self._refuse("manifest_invalid")
        if not isinstance(document, dict) or not isinstance(document.get("slots", []), list):
            return self._refuse("manifest_invalid")
        if document.get("protocol") != PROTOCOL:
            return self._refuse("manifest_unsupported_protocol")
        device = document.get("device") if isinstance(document.get("device"), dict) else {}
        code = str(device.get("code") or "")
        if self.device_code and code != self.device_code:
            return self._refuse("manifest_wrong_device")
        manifest = SignedManifest(body, signature or "", etag or "", document)
        if self.document is not None and manifest.version < self.version:
            return self._refuse("manifest_old_version")
        if self._interner is not None:
            document["slots"] = self._interner.intern(document, body)
        if self.credentials is not None and not self.credentials.code and code:
            self.credentials.device = {**self.credentials.device, **device}
        if not cached:
            self.store.save_manifest(manifest)
        previous_version = self.version if self.document is not None else None
        self.document, self.version, self.etag = document, manifest.version, manifest.etag or None
        self.stats.manifests += 1
        self.playout.set_document(document)
        if manifest.version != previous_version:
            self.observer.on_manifest(self, manifest.version, received or time.time())
        self._media_failed.clear()
        self._pinned_media.clear()
        self._media_wake.set()
        return True

    async def _manifest_loop(self) -> None:
        """Fetch when told (start, `manifest` event, reconnect); poll every heartbeat_seconds without a stream."""
        attempt = 0
        retry: float | None = self.options.stream_grace if self.options.sse else None
        while not self._stop.is_set():
            if self._fetch_now:
                timeout = 0.0
            elif retry is not None:
                timeout = retry
            elif self.stats.stream_up:
                timeout = None
            else:
                timeout = self.clock.real_seconds(self._setting("heartbeat_seconds", 5, 86400))
            if timeout != 0.0 and not await wait_event(self._fetch_wake, timeout):
                self._fetch_now = True
            self._fetch_wake.clear()
            if not self._fetch_now:
                continue  # woken to re-plan (the stream went up or down)
            self._fetch_now = False
            if not self.stats.stream_up:
                # Polling (no stream, or it is down): current alerts come with every manifest poll (§4.3).
                try:
                    await self.poll_alerts()
                except Unauthorized:
                    pass  # the manifest fetch below finds it too
                except (ServerError, *NETWORK_ERRORS) as exc:
                    log.debug("alert poll failed: %r", exc)
            try:
                await self.fetch_manifest()
                attempt, retry, self.unauthorized = 0, None, False
            except Unauthorized:
                self._unauthorized()
                retry = self.options.backoff_max
            except ServerError as exc:
                self.stats.errors += 1
                retry = exc.retry_after or self._backoff(attempt)
                attempt += 1
            except NETWORK_ERRORS as exc:
                self.stats.errors += 1
                log.debug("manifest fetch failed: %r", exc)
                retry = self._backoff(attempt) if self.stats.stream_up else None
                attempt += 1

    def request_manifest(self) -> None:
        self._fetch_now = True
        self._fetch_wake.set()

    def _unauthorized(self) -> None:
        if not self.unauthorized:
            log.error("%s: the server refused the token (revoked?); playing from the cache", self.device_code)
        self.unauthorized = True

    # ----- media -----

    def _wanted_media(self) -> dict[str, dict[str, Any]]:
        wanted: dict[str, dict[str, Any]] = {}
        for slot in (self.document or {}).get("slots") or []:
            for item in (slot.get("items") or []) if isinstance(slot, dict) else []:
                if not isinstance(item, dict):
                    continue
                if item.get("sha256"):  # audio, video, an image: every file the manifest names by hash
                    wanted.setdefault(str(item["sha256"]), item)
                for media in item.get("media") or [] if item.get("kind") == "board" else []:
                    if isinstance(media, dict) and media.get("sha256"):
                        wanted.setdefault(str(media["sha256"]), media)
        return wanted

    def _resolve(self, item: dict[str, Any]):
        if item.get("kind") in FILE_KINDS or item.get("sha256"):
            sha = str(item.get("sha256") or "")
            if not self.options.media:
                return None, None  # a simulated device without media plays silently all the same
            if not sha or not self.store.has_media(sha):
                raise MediaMissing(f"media {sha[:12]} not in the cache")
            return self.store.media_path(sha), None
        return None, item.get("url")

    async def _media_loop(self) -> None:
        """Download every file the manifest names, ahead of time; forget files it no longer names."""
        attempt = 0
        limit = asyncio.Semaphore(max(1, self.options.download_concurrency))
        while not self._stop.is_set():
            await self._media_wake.wait()
            self._media_wake.clear()
            wanted = self._wanted_media()
            keep = self.playout.busy_media | self._pinned_media | self._alert_media
            removed = self.store.keep_media(set(wanted), keep)
            if removed:
                log.info("removed %d media files no manifest names", removed)
            missing = [
                (sha, item)
                for sha, item in wanted.items()
                if not self.store.has_media(sha) and sha not in self._media_failed
            ]
            failed = False
            results = await asyncio.gather(
                *(self._download_limited(limit, sha, item) for sha, item in missing), return_exceptions=True
            )
            for result in results:
                if isinstance(result, BaseException):
                    failed = True
                    if not isinstance(result, NETWORK_ERRORS + (ServerError, Unauthorized)):
                        log.error("media download error: %r", result)
            if failed:
                await self._pause(self._backoff(attempt))
                attempt += 1
                self._media_wake.set()
            else:
                attempt = 0

    async def _download_limited(self, limit: asyncio.Semaphore, sha: str, item: dict[str, Any]) -> bool:
        async with limit:
            return await self.download(sha, item)

    async def download(self, sha: str, item: dict[str, Any]) -> bool:
        """Fetch one media file (resuming a partial one with Range); keep it only if its SHA-256 matches."""
        url = urljoin(self.server + "/", str(item.get("url") or f"/device/v1/media/{sha}"))
        same_origin = urlsplit(url)[:2] == urlsplit(self.server)[:2]
        headers = self._auth() if same_origin else {}
        writer = self.store.media_writer(sha)
        if writer.offset:
            headers["Range"] = f"bytes={writer.offset}-"
        try:
            limit = int(item.get("size") or 0)
        except (TypeError, ValueError):
            limit = 0
        committed = False
        try:
            sent = time.time()
            async with self._session.get(url, headers=headers, timeout=_MEDIA_TIMEOUT) as response:
                if same_origin:
                    self._note_time(response, sent)
                if response.status == 401:
                    raise Unauthorized()
                if response.status == 404:
                    self._media_failed[sha] = "media_not_found"
                    self.log_record("warning", "media_not_found")
                    return False
                if response.status == 416:
                    writer.restart()
                    raise ServerError(416)
                if response.status == 200 and writer.offset:
                    writer.restart()
                elif response.status not in (200, 206):
                    raise ServerError(response.status)
                total = writer.offset
                async for chunk in response.content.iter_chunked(1 << 16):
                    total += len(chunk)
                    if limit and total > limit:
                        break  # longer than the manifest says: it cannot be the right file
                    writer.write(chunk)
            committed = True
            if writer.commit():
                self.stats.media_ok += 1
                return True
            self.stats.media_bad += 1
            self._media_failed[sha] = "media_bad_hash"
            self.log_record("warning", "media_bad_hash")
            return False
        finally:
            if not committed:
                writer.discard()
