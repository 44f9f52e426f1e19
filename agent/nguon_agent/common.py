"""What the receiver's parts share: options, statistics, errors, hooks and small helpers."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import aiohttp

from nguon_agent import __version__

if TYPE_CHECKING:
    from nguon_agent.agent import Agent

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
        "inline_manifests",
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
        self.inline_manifests = 0  # taken from their `manifest` event (§4.4), without a fetch
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
