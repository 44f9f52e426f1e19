"""One receiver: enrolment, manifest, media cache, event stream, playout and reports (docs/device-protocol.md)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from nguon_agent import PROTOCOL, __version__
from nguon_agent.clock import Clock, RealClock, iso, parse_time, wait_event
from nguon_agent.crypto import SignatureCache, Verifier, check_public_key
from nguon_agent.playout import FILE_KINDS, MediaMissing, Playout
from nguon_agent.sinks import SilentSink, Sink
from nguon_agent.sse import SSEParser
from nguon_agent.store import Credentials, MemoryStore, SignedManifest

log = logging.getLogger("nguon_agent")

NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, ConnectionError, OSError)
DEFAULT_SETTINGS = {"volume": 80, "grace_seconds": 180, "heartbeat_seconds": 60, "report_batch_max": 500}
RECENT_EVENT_IDS = 64
ALERT_MEMORY = 256  # alert ids remembered (acknowledged or cancelled), so a replayed alert is dropped
ALERT_CANCEL_KEEP = 86400.0  # seconds to remember a cancel for an alert this device never got (its expiry unknown)
ALERT_DOWNLOAD_TRIES = 3  # an alert's audio is fetched at once; network errors are retried with back-off
# How an alert's play ended (Playout.alert) -> the `reason` of its `failed` report; other outcomes are `played`.
ALERT_FAILURES = {"failed": "play_failed", "missing": "media_missing", "interrupted": "interrupted"}


class EnrolmentError(Exception):
    """The server refused the enrolment code (unknown, used or expired), or there is no code to send."""


class _Stopped(Exception):
    """stop() was called before the agent got going."""


class Unauthorized(Exception):
    """The server answered 401: the token is wrong or was revoked."""


class ServerError(Exception):
    def __init__(self, status: int, retry_after: float | None = None):
        super().__init__(f"server answered {status}")
        self.status = status
        self.retry_after = retry_after


@dataclass
class AgentOptions:
    media: bool = True  # download media ahead of time (off: a simulated device that only "plays" silently)
    sse: bool = True  # hold the event stream (off: poll the manifest every heartbeat_seconds)
    play: bool = True  # follow the schedule through the sink
    backoff_base: float = 1.0  # reconnect back-off, real seconds: base doubling to max, with jitter
    backoff_max: float = 60.0
    request_timeout: float = 30.0
    stream_read_timeout: float = 75.0  # three missed keep-alives: the stream is dead
    heartbeat_phase: bool = False  # first heartbeat at a random point of the period (fleets), else at once
    download_concurrency: int = 2
    stream_grace: float = 5.0  # real seconds to wait for the stream before the first manifest fetch
    hardware: dict[str, Any] = field(
        default_factory=lambda: {"model": "nguon-agent", "serial": "", "firmware": __version__}
    )


class AgentStats:
    __slots__ = (
        "stream_up",
        "connects",
        "stream_failures",
        "last_error",
        "events",
        "ignored",
        "manifests",
        "manifests_refused",
        "not_modified",
        "media_ok",
        "media_bad",
        "records_sent",
        "report_requests",
        "rate_limited",
        "errors",
        "alerts_reported",
    )

    def __init__(self) -> None:
        self.stream_up = False
        self.connects = 0
        self.stream_failures = 0
        self.last_error = ""
        self.events: dict[str, int] = {}
        self.ignored: dict[str, int] = {}
        self.manifests = 0
        self.manifests_refused = 0
        self.not_modified = 0
        self.media_ok = 0
        self.media_bad = 0
        self.records_sent = 0
        self.report_requests = 0
        self.rate_limited = 0
        self.errors = 0
        self.alerts_reported: dict[str, int] = {}  # alert records the server took, by state


class Observer:
    """Hooks for the simulator's stats file; the default does nothing."""

    def on_event(self, agent: Agent, payload: dict[str, Any], received: float) -> None:
        pass

    def on_manifest(self, agent: Agent, version: int, received: float) -> None:
        pass

    def on_alert(self, agent: Agent, alert_id: int, state: str, sent: float) -> None:
        """An `alert` report record reached the server: `sent` is when the batch holding it was posted.

        Local wall time (epoch seconds), like `received` in on_event: the time from an alert event to its
        acknowledgement is `sent` of state "acknowledged" minus `received` of the event. Called once the server
        answered 200, and not for a record it rejected.
        """


@lru_cache(maxsize=64)
def _timeout(**values: Any) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(**values)


_MEDIA_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=15, sock_read=60)


class SlotInterner:
    """Shares one parsed slot list between simulated devices whose manifests carry identical slots."""

    def __init__(self, size: int = 256):
        self._size = size
        self._lists: dict[bytes, list] = {}

    @staticmethod
    def _key(document: dict[str, Any], body: bytes) -> bytes:
        """The raw bytes of the slots when the body is canonical JSON (cheap), else the slots re-serialised.

        In canonical JSON (sorted keys) "timezone" follows "slots" and only short scalars follow "timezone", so the
        bytes from the first `"slots":` to the last `,"timezone":` hold the whole slot list.
        """
        keys = list(document)
        if keys == sorted(keys) and "slots" in keys and keys[keys.index("slots") + 1 :][:1] == ["timezone"]:
            start, end = body.find(b'"slots":'), body.rfind(b',"timezone":')
            if 0 <= start < end:
                return hashlib.blake2b(body[start:end], digest_size=16).digest()
        return hashlib.blake2b(json.dumps(document.get("slots"), sort_keys=True).encode(), digest_size=16).digest()

    def intern(self, document: dict[str, Any], body: bytes) -> list:
        slots = document.get("slots") or []
        key = self._key(document, body)
        shared = self._lists.get(key)
        if shared is not None:
            return shared
        if len(self._lists) >= self._size:
            self._lists.pop(next(iter(self._lists)))
        self._lists[key] = slots
        return slots


def retry_after_seconds(value: str | None, default: float = 5.0) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, moment.timestamp() - time.time())


class Agent:
    def __init__(
        self,
        server: str,
        store: MemoryStore,
        *,
        clock: Clock | None = None,
        sink: Sink | None = None,
        session: aiohttp.ClientSession | None = None,
        code: str | None = None,
        options: AgentOptions | None = None,
        signature_cache: SignatureCache | None = None,
        observer: Observer | None = None,
        interner: SlotInterner | None = None,
        name: str = "",
    ):
        self.server = server.rstrip("/")
        self.base = self.server + "/device/v1"
        self.store = store
        self.clock = clock or RealClock()
        self.sink = sink or SilentSink(self.clock)
        self.options = options or AgentOptions()
        self.code = code
        self.name = name
        self.observer = observer or Observer()
        self.stats = AgentStats()
        self._session = session
        self._own_session = session is None
        self._signature_cache = signature_cache
        self._interner = interner
        self._request_timeout = _timeout(total=self.options.request_timeout)
        self._stream_timeout = _timeout(total=None, sock_connect=15, sock_read=self.options.stream_read_timeout)
        self.credentials: Credentials | None = None
        self.verifier: Verifier | None = None
        self.document: dict[str, Any] | None = None
        self.version = 0
        self.etag: str | None = None
        self.server_offset: float | None = None  # server time minus local real time, seconds
        self.clock_skew_ms: int | None = None  # device clock minus server clock
        self.unauthorized = False
        self.reboot_requested = False
        self.playout = Playout(self.clock, self.sink, self.record, self._resolve, self.log_record)
        self._stop = asyncio.Event()
        self._report_wake = asyncio.Event()
        self._fetch_wake = asyncio.Event()
        self._fetch_now = False
        self._media_wake = asyncio.Event()
        self._reports_idle = asyncio.Event()
        self._recent_ids: deque | None = None
        self._media_failed: dict[str, str] = {}  # sha256 -> why it is not in the cache (a log message)
        self._pinned_media: set[str] = set()
        self._alert_media: set[str] = set()  # audio of alerts in progress: kept through manifest changes
        self._alerts: dict[int, asyncio.Task] = {}  # alerts being downloaded or played, oldest first
        self._tasks: list[asyncio.Task] = []
        self._side_tasks: set[asyncio.Task] = set()

    # ----- settings -----

    @property
    def settings(self) -> dict[str, Any]:
        settings = (self.document or {}).get("settings")
        return {**DEFAULT_SETTINGS, **settings} if isinstance(settings, dict) else DEFAULT_SETTINGS

    def _setting(self, name: str, low: float, high: float) -> float:
        try:
            value = float(self.settings[name])
        except (TypeError, ValueError):
            value = float(DEFAULT_SETTINGS[name])
        return min(high, max(low, value))

    @property
    def device_code(self) -> str:
        return self.credentials.code if self.credentials else ""

    # ----- running -----

    async def run(self) -> str:
        """Run until stop() (returns "stopped") or a `reboot` command (returns "reboot")."""
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=8))
        try:
            self.credentials = await self.enrol()
            self.verifier = Verifier(self.credentials.public_key, self._signature_cache)
            self._load_cached_manifest()
            self._reports_idle.set()
            self._report_wake.set()
            # With a stream, the manifest is fetched as soon as the stream is up (so no change falls between the
            # two); without one, or if the stream does not come up soon, at once.
            self._fetch_now = not self.options.sse
            self._fetch_wake.set()
            self._spawn_main(self._report_loop, self._heartbeat_loop, self._manifest_loop)
            if self.options.play:
                self._spawn_main(self.playout.run)
            if self.options.media:
                self._spawn_main(self._media_loop)
            if self.options.sse:
                self._spawn_main(self._events_loop)
            stopper = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait([stopper, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            for task in self._tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()
        except _Stopped:
            pass
        finally:
            await self._shutdown()
        return "reboot" if self.reboot_requested else "stopped"

    def stop(self) -> None:
        self._stop.set()

    def _spawn_main(self, *loops) -> None:
        for loop in loops:
            self._tasks.append(asyncio.ensure_future(self._supervised(loop)))

    async def _supervised(self, loop) -> None:
        """Run one of the agent's loops; if it fails on something unforeseen, report it and start it again."""
        failures = 0
        while not self._stop.is_set():
            try:
                await loop()
                return
            except Exception as exc:  # noqa: BLE001 - a receiver must keep going
                log.exception("%s failed", getattr(loop, "__name__", loop))
                self.log_record("error", f"internal_error {getattr(loop, '__name__', '')}: {exc!r}"[:500])
                await self._pause(min(60.0, 2.0**failures))
                failures += 1

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)
        return task

    async def _shutdown(self) -> None:
        pending = {*self._tasks, *self._side_tasks}
        for _ in range(50):  # cancel again if a task swallowed a cancellation (bounded)
            pending = {task for task in pending if not task.done()}
            if not pending:
                break
            for task in pending:
                task.cancel()
            await asyncio.wait(pending, timeout=0.2)
        for task in pending:
            if not task.done():
                log.error("task did not stop: %r", task)
        self._tasks.clear()
        self.stats.stream_up = False
        if self._own_session and self._session is not None:
            await self._session.close()
            self._session = None
        self.store.close()

    # ----- records -----

    def record(self, record: dict[str, Any]) -> int:
        seq = self.store.journal.append(record)
        self._report_wake.set()
        return seq

    def log_record(self, level: str, message: str) -> None:
        log.log(logging.WARNING if level != "info" else logging.INFO, "%s %s", self.name or self.device_code, message)
        self.record({"type": "log", "at": iso(self.clock.now()), "level": level, "message": message})

    # ----- HTTP -----

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.token}"} if self.credentials else {}

    def _note_time(self, response: aiohttp.ClientResponse, sent: float) -> None:
        """Clock skew from X-Server-Time (or Date), taking the request's midpoint as the server's moment."""
        received = time.time()
        header = response.headers.get("X-Server-Time")
        server = parse_time(header) if header else None
        if server is None and response.headers.get("Date"):
            with contextlib.suppress(TypeError, ValueError):
                server = parsedate_to_datetime(response.headers["Date"])
        if server is None:
            return
        midpoint = (sent + received) / 2
        self.server_offset = server.timestamp() - midpoint
        device_at_midpoint = self.clock.now().timestamp() - (received - midpoint) * self.clock.scale
        self.clock_skew_ms = round((device_at_midpoint - server.timestamp()) * 1000)

    def server_now(self) -> float:
        """The server's time now (epoch seconds), as measured from its answers."""
        return time.time() + (self.server_offset or 0.0)

    def _device_time(self, moment: datetime | None) -> datetime | None:
        """A moment the server named (an `until`, an `expires`) on the device clock, which may be off or scaled."""
        if moment is None:
            return None
        return self.clock.now() + timedelta(seconds=moment.timestamp() - self.server_now()) * self.clock.scale

    def _backoff(self, attempt: int) -> float:
        delay = min(self.options.backoff_max, self.options.backoff_base * (2 ** min(attempt, 30)))
        return delay * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret

    async def _pause(self, seconds: float) -> None:
        """Sleep `seconds` real seconds, or less if the agent stops."""
        await wait_event(self._stop, seconds)

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

    # ----- event stream -----

    async def _events_loop(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            headers = {**self._auth(), "Accept": "text/event-stream", "Cache-Control": "no-cache"}
            if self.store.last_event_id:
                headers["Last-Event-ID"] = str(self.store.last_event_id)
            delay = None
            sent = time.time()
            try:
                async with self._session.get(
                    self.base + "/events", headers=headers, timeout=self._stream_timeout
                ) as response:
                    self._note_time(response, sent)
                    if response.status == 200:
                        attempt = 0
                        self.stats.stream_up = True
                        self.stats.connects += 1
                        self.request_manifest()  # it may have changed while the stream was down
                        await self._read_stream(response)
                    elif response.status == 401:
                        self._unauthorized()
                        delay = self.options.backoff_max
                    elif response.status in (404, 405, 501):
                        log.warning("the server has no event stream (%s): polling the manifest", response.status)
                        delay = self.options.backoff_max * 5
                    elif response.status in (429, 503) and response.headers.get("Retry-After"):
                        delay = retry_after_seconds(response.headers.get("Retry-After"))
            except NETWORK_ERRORS as exc:
                log.debug("event stream: %r", exc)
                self.stats.stream_failures += 1
                self.stats.last_error = type(exc).__name__
            finally:
                if self.stats.stream_up:
                    self.stats.stream_up = False
                    self._fetch_wake.set()  # re-plan: poll while the stream is down
            if delay is None:
                delay = self._backoff(attempt)
                attempt += 1
            await self._pause(delay)

    async def _read_stream(self, response: aiohttp.ClientResponse) -> None:
        """Read the event stream until the server closes it; hand each event over with the time it was read."""
        parser = SSEParser()
        content = response.content
        loop = asyncio.get_running_loop()
        while True:
            chunk = await content.readany()
            if not chunk:
                return  # the server closed the stream
            received = time.time()
            for event_id, data in parser.feed(chunk):
                # Handled on a later loop turn: when thousands of simulated streams get an event at once, each is
                # stamped as it is read, before any of them spends time on its signature.
                loop.call_soon(self.handle_event_data, data, event_id, received)

    def _ignore(self, reason: str) -> None:
        self.stats.ignored[reason] = self.stats.ignored.get(reason, 0) + 1
        log.debug("%s: event ignored (%s)", self.device_code, reason)

    def handle_event_data(self, data: str, sse_id: str | None = None, received: float | None = None) -> None:
        """Verify one pushed event and act on it. `received`: when it was read from the stream."""
        received = received or time.time()
        payload = self.verifier.open_event(data) if self.verifier else None
        if payload is None:
            self._ignore("bad_signature")
            self.log_record("warning", "event_bad_signature")
            return
        target = payload.get("device")
        if target != "*" and (not target or (self.device_code and target != self.device_code)):
            return self._ignore("other_device")
        expires = parse_time(payload.get("expires")) if payload.get("expires") else None
        if expires is not None and expires.timestamp() < self.server_now():
            return self._ignore("expired")
        event_id = payload.get("id", sse_id)
        if event_id is not None:
            if self._recent_ids is None:
                self._recent_ids = deque(maxlen=RECENT_EVENT_IDS)
            if event_id in self._recent_ids:
                return self._ignore("duplicate")
            self._recent_ids.append(event_id)
        if sse_id:
            self.store.save_state(last_event_id=sse_id)
        kind = str(payload.get("type") or "")
        self.stats.events[kind] = self.stats.events.get(kind, 0) + 1
        self.observer.on_event(self, payload, received)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            return self._ignore("unknown_type")
        handler(payload)

    def _on_manifest(self, payload: dict[str, Any]) -> None:
        version = payload.get("version")
        if isinstance(version, int) and self.document is not None and version <= self.version:
            return  # already holding it
        self.request_manifest()

    def _on_play(self, payload: dict[str, Any]) -> None:
        item = payload.get("item")
        if isinstance(item, dict):
            self._spawn(self._play_pushed(item, payload.get("id")))

    async def _play_pushed(self, item: dict[str, Any], event_id: Any) -> None:
        sha = str(item.get("sha256") or "")
        if sha:
            self._pinned_media.add(sha)  # not named by the manifest: keep it from the cache clean-up
        if self.options.media and sha and not self.store.has_media(sha):
            with contextlib.suppress(*NETWORK_ERRORS, ServerError, Unauthorized):
                await self.download(sha, item)
        self.playout.play_now(item, event_id)

    def _on_stop(self, payload: dict[str, Any]) -> None:
        self.playout.stop()

    # ----- alerts (docs/device-protocol.md §4.1) -----

    @staticmethod
    def _alert_id(payload: dict[str, Any]) -> int | None:
        alert = payload.get("alert")
        alert_id = alert.get("id") if isinstance(alert, dict) else None
        return alert_id if isinstance(alert_id, int) and not isinstance(alert_id, bool) else None

    def _alert_until(self, payload: dict[str, Any], minimum: float = 0.0) -> float:
        """Until when (server epoch seconds) to drop a replay of this alert: the later of its two expiries."""
        alert = payload.get("alert") if isinstance(payload.get("alert"), dict) else {}
        times = [parse_time(v) for v in (payload.get("expires"), alert.get("expires")) if isinstance(v, str)]
        now = self.server_now()
        until = max((t.timestamp() for t in times if t is not None), default=now + ALERT_CANCEL_KEEP)
        return max(until, now + minimum)

    def _remember_alerts(self, alert_ids: list[int], until: float) -> None:
        """Keep these ids (with the state store, so a restart keeps them too): their alert events are dropped."""
        alerts = self.store.alerts
        now = self.server_now()
        for alert_id in alert_ids:
            alerts[alert_id] = max(until, alerts.get(alert_id, 0.0))
        for alert_id in [a for a, t in alerts.items() if t < now]:
            del alerts[alert_id]
        while len(alerts) > ALERT_MEMORY:
            del alerts[min(alerts, key=alerts.get)]
        self.store.save_state(alerts=alerts)

    def _alert_record(self, alert_id: int, state: str, reason: str | None = None) -> None:
        record = {"type": "alert", "alert": alert_id, "state": state, "at": iso(self.clock.now())}
        if reason:
            record["reason"] = reason
        self.record(record)  # wakes the report loop: sent at once unless it waits out a failure

    def _on_alert(self, payload: dict[str, Any]) -> None:
        """Acknowledge at once, then (a loudspeaker with an item) download, interrupt and play.

        Kept cheap up to the acknowledgement: 10,000 simulated devices take the same event on one core. A device
        that does not play (a simulated one without media, or with playing off) only acknowledges.
        """
        alert_id = self._alert_id(payload)
        if alert_id is None:
            return self._ignore("invalid")
        if alert_id in self.store.alerts:
            return self._ignore("duplicate_alert")  # acknowledged (or cancelled) before, maybe before a restart
        alert = payload["alert"]
        replaces = [a for a in alert.get("replaces") or [] if isinstance(a, int) and a != alert_id]
        # Recorded before the id is stored: a crash between the two plays the alert again rather than never.
        self._alert_record(alert_id, "acknowledged")
        self._remember_alerts([alert_id, *replaces], self._alert_until(payload))
        for old in replaces:
            self._end_alert(old)
        item = payload.get("item")
        if isinstance(item, dict) and self.options.play and self.options.media:
            # Never played past its expiry (the event's `expires` is the alert's own).
            expires = parse_time(payload.get("expires")) if isinstance(payload.get("expires"), str) else None
            self._alerts[alert_id] = self._spawn(self._play_alert(alert_id, item, self._device_time(expires)))

    def _on_alert_cancel(self, payload: dict[str, Any]) -> None:
        """Stop the alert if it is being fetched or played (the schedule resumes) and drop it if it comes later."""
        alert_id = self._alert_id(payload)
        if alert_id is None:
            return self._ignore("invalid")
        # A cancel carries no expiry of the alert itself: keep it at least a day (a known alert keeps its own).
        self._remember_alerts([alert_id], self._alert_until(payload, minimum=ALERT_CANCEL_KEEP))
        self._end_alert(alert_id)

    def _end_alert(self, alert_id: int, reason: str | None = None) -> None:
        """Stop an alert in progress. Cancelled or replaced (reason None): reported no further, the server knows."""
        self.playout.end_alert(alert_id)  # at once, rather than when its task next runs
        task = self._alerts.pop(alert_id, None)
        if task is not None:
            task.cancel()  # a cancelled task reports nothing: report the end here
            if reason:
                self._alert_record(alert_id, "failed", reason)

    async def _play_alert(self, alert_id: int, item: dict[str, Any], until: datetime | None) -> None:
        sha = str(item.get("sha256") or "")
        try:
            if sha:
                self._alert_media.add(sha)
                reason = await self._fetch_alert_media(sha, item)
            else:
                reason = None
            if reason is None:
                # A newer alert replaces an older one still being fetched or played (only one plays; one still
                # being fetched would interrupt this one later). Those that came after this one are newer: they stay.
                arrived = list(self._alerts)
                for older in arrived[: arrived.index(alert_id)] if alert_id in arrived else []:
                    self._end_alert(older, "superseded")
            playing = self.playout.alert(item, alert_id, until)  # without its media: interrupts nothing, `failed`
            if playing is None:
                reason = reason or self._media_failed.get(sha) or "media_missing"
            else:
                try:
                    await asyncio.wait({playing})
                except asyncio.CancelledError:
                    playing.cancel()  # cancelled or replaced: its play record says "partial"
                    raise
                reason = ALERT_FAILURES.get("interrupted" if playing.cancelled() else playing.result())
        finally:
            if self._alerts.get(alert_id) is asyncio.current_task():
                del self._alerts[alert_id]
            if not self._alerts:
                self._alert_media.clear()
        self._alert_record(alert_id, "failed" if reason else "played", reason)

    async def _fetch_alert_media(self, sha: str, item: dict[str, Any]) -> str | None:
        """Download an alert's audio unless it is cached. None when it is there, else why not (a log message)."""
        for attempt in range(ALERT_DOWNLOAD_TRIES):
            if self.store.has_media(sha):
                return None
            if attempt:
                await self._pause(self._backoff(attempt - 1))
            try:
                if await self.download(sha, item):
                    return None
                return self._media_failed.get(sha, "media_missing")  # not found, or the hash differs: final
            except (*NETWORK_ERRORS, ServerError, Unauthorized) as exc:
                log.warning("%s: alert media %s: %r", self.device_code, sha[:12], exc)
        return None if self.store.has_media(sha) else "media_missing"

    def _on_live(self, payload: dict[str, Any]) -> None:
        url = payload.get("url")
        if not isinstance(url, str) or not url:
            return self._ignore("invalid")
        until = parse_time(payload.get("until")) if isinstance(payload.get("until"), str) else None
        self.playout.live(url, str(payload.get("title") or ""), self._device_time(until), payload.get("id"))

    def _on_live_stop(self, payload: dict[str, Any]) -> None:
        self.playout.live_stop()

    def _on_volume(self, payload: dict[str, Any]) -> None:
        volume = payload.get("volume")
        if isinstance(volume, int | float) and 0 <= volume <= 100:
            self.playout.set_volume(int(volume))
        else:
            self._ignore("invalid")

    def _on_reboot(self, payload: dict[str, Any]) -> None:
        self._spawn(self._reboot())

    async def _reboot(self) -> None:
        self.log_record("info", "reboot")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.flush_reports(), timeout=10)
        self.reboot_requested = True
        self.stop()

    # ----- reports -----

    def heartbeat(self) -> None:
        record: dict[str, Any] = {
            "type": "heartbeat",
            "at": iso(self.clock.now()),
            "volume": self.playout.volume,
            "current_item": self.playout.current_item,
        }
        if self.clock_skew_ms is not None:
            record["clock_skew_ms"] = max(-(2**31), min(2**31 - 1, self.clock_skew_ms))
        free = self.store.storage_free_mb()
        if free is not None:
            record["storage_free_mb"] = free
        self.record(record)

    async def _heartbeat_loop(self) -> None:
        if self.options.heartbeat_phase:
            await self.clock.sleep(random.uniform(0, self._setting("heartbeat_seconds", 5, 86400)))  # noqa: S311
        while not self._stop.is_set():
            self.heartbeat()
            await self.clock.sleep(self._setting("heartbeat_seconds", 5, 86400))

    async def flush_reports(self) -> None:
        """Wait until the journal is empty (everything acknowledged)."""
        while len(self.store.journal):
            self._report_wake.set()
            self._reports_idle.clear()
            await self._reports_idle.wait()

    async def _report_loop(self) -> None:
        """Send the journal in order, at most report_batch_max records a request; drop them only after 200."""
        attempt = 0
        batch_cap = None
        while not self._stop.is_set():
            journal = self.store.journal
            if not len(journal):
                self._reports_idle.set()
                self._report_wake.clear()
                await self._report_wake.wait()
                continue
            limit = int(self._setting("report_batch_max", 1, 10000))
            batch = journal.pending(min(limit, batch_cap or limit))
            try:
                delay = await self._send(batch)
            except Unauthorized:
                self._unauthorized()
                delay = self.options.backoff_max
            except NETWORK_ERRORS as exc:
                log.debug("reports: %r", exc)
                delay = self._backoff(attempt)
                attempt += 1
            else:
                if delay == "smaller":
                    batch_cap = max(1, len(batch) // 2)
                    continue
                if delay is None:
                    attempt, batch_cap = 0, None
                    continue
                if delay == "backoff":
                    delay = self._backoff(attempt)
                    attempt += 1
            self._reports_idle.set()
            await self._pause(delay)

    async def _send(self, batch: list[dict[str, Any]]):
        """POST one batch. None when acknowledged; else seconds to wait, "backoff" or "smaller"."""
        sent = time.time()
        self.stats.report_requests += 1
        async with self._session.post(
            self.base + "/reports", json={"records": batch}, headers=self._auth(), timeout=self._request_timeout
        ) as response:
            self._note_time(response, sent)
            if response.status == 200:
                rejected = None
                with contextlib.suppress(ValueError, aiohttp.ContentTypeError):
                    answer = await response.json(content_type=None)
                    rejected = answer.get("rejected") if isinstance(answer, dict) else None
                    if rejected:
                        log.warning("%s: server rejected records %s", self.device_code, rejected[:5])
                top = max(int(r["seq"]) for r in batch)
                self.store.journal.ack(top)
                self.stats.records_sent += len(batch)
                self.unauthorized = False
                self._alerts_delivered(batch, rejected, sent)
                return None
            if response.status == 429:
                self.stats.rate_limited += 1
                return retry_after_seconds(response.headers.get("Retry-After"))
            if response.status == 401:
                raise Unauthorized()
            if response.status == 413 and len(batch) > 1:
                return "smaller"
            self.stats.errors += 1
            body = (await response.text())[:200]
            log.warning("%s: reports answered %s %s", self.device_code, response.status, body)
            if response.status == 400 and len(batch) > 1:
                return "smaller"  # find the record the server cannot read
            return "backoff"

    def _alerts_delivered(self, batch: list[dict[str, Any]], rejected: Any, sent: float) -> None:
        alerts = [r for r in batch if r.get("type") == "alert"]
        if not alerts:
            return
        refused = set()
        if isinstance(rejected, list):
            refused = {r.get("seq") for r in rejected if isinstance(r, dict)}
        for record in alerts:
            if record["seq"] not in refused:
                state = record["state"]
                self.stats.alerts_reported[state] = self.stats.alerts_reported.get(state, 0) + 1
                self.observer.on_alert(self, record["alert"], state, sent)


def make_hardware(model: str = "", serial: str = "") -> dict[str, Any]:
    return {"model": model or "nguon-agent", "serial": serial, "firmware": __version__}


RecordHook = Callable[[dict[str, Any]], None]
