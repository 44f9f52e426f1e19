"""One receiver: enrolment, manifest, media cache, event stream, playout and reports (docs/device-protocol.md).

The `Agent` class is put together from its parts: `manifests` (enrolment, manifest, media), `events` (the event
stream, commands and alerts) and `reports` (heartbeats and batches); `common` holds what they share.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from nguon_agent import __version__
from nguon_agent.clock import Clock, RealClock, iso, parse_time, wait_event
from nguon_agent.common import (  # noqa: F401 - the names callers import from here
    DEFAULT_SETTINGS,
    AgentOptions,
    AgentStats,
    EnrolmentError,
    Observer,
    ServerError,
    SlotInterner,
    Unauthorized,
    _Stopped,
    _timeout,
    log,
    retry_after_seconds,
)
from nguon_agent.crypto import SignatureCache, Verifier
from nguon_agent.events import EventsMixin
from nguon_agent.manifests import ManifestsMixin
from nguon_agent.playout import Playout
from nguon_agent.reports import ReportsMixin
from nguon_agent.sinks import SilentSink, Sink
from nguon_agent.store import Credentials, MemoryStore


class Agent(ManifestsMixin, EventsMixin, ReportsMixin):
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
        self._alerts_poll_missing = False  # the server answered GET /alerts with 404: do not ask again
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


def make_hardware(model: str = "", serial: str = "") -> dict[str, Any]:
    return {"model": model or "nguon-agent", "serial": serial, "firmware": __version__}


RecordHook = Callable[[dict[str, Any]], None]
