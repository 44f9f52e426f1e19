"""The agent's sense of time: real wall-clock time, or an accelerated clock for tests and simulations.

Everything that follows the programme (slot starts, item durations, heartbeats, manifest polling) reads and waits on
a `Clock`. Network timing that the server dictates (Retry-After, reconnect back-off) stays in real seconds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

# A real clock re-reads the wall clock at least this often while waiting, so an NTP step is noticed.
_MAX_REAL_WAIT = 30.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds and a Z, as the protocol writes times."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@lru_cache(maxsize=8192)
def parse_time(text: str | None) -> datetime | None:
    """Parse a protocol time (`2026-11-27T22:30:00Z`, with or without fractions or an offset); None if invalid."""
    if not text or not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait for `event` at most `timeout` real seconds; True if it is set.

    Unlike asyncio.wait_for on Python 3.11, a cancellation that arrives as the event is set is never lost.
    """
    if event.is_set():
        return True
    if timeout is not None and timeout <= 0:
        return False
    waiter = asyncio.ensure_future(event.wait())
    try:
        done, _ = await asyncio.wait({waiter}, timeout=timeout)
    finally:
        waiter.cancel()
    return bool(done)


class Clock:
    """Device time. `scale` is how many device seconds pass in one real second."""

    scale: float = 1.0

    def now(self) -> datetime:
        raise NotImplementedError

    def real_seconds(self, device_seconds: float) -> float:
        return max(0.0, device_seconds) / self.scale

    async def sleep(self, device_seconds: float) -> None:
        await asyncio.sleep(self.real_seconds(device_seconds))

    async def sleep_until(self, when: datetime, wake: asyncio.Event | None = None) -> bool:
        """Wait until the clock reads `when`. Returns True early if `wake` is set first (it is not cleared)."""
        while True:
            if wake is not None and wake.is_set():
                return True
            remaining = (when - self.now()).total_seconds()
            if remaining <= 0:
                return False
            delay = min(self.real_seconds(remaining), _MAX_REAL_WAIT)
            if wake is None:
                await asyncio.sleep(delay)
            elif await wait_event(wake, delay):
                return True


class RealClock(Clock):
    scale = 1.0

    def now(self) -> datetime:
        return utcnow()


class ScaledClock(Clock):
    """A clock that starts at `start_at` (default: now) and runs `scale` times faster than real time."""

    def __init__(self, scale: float = 1.0, start_at: datetime | None = None):
        if scale <= 0:
            raise ValueError("the time scale must be positive")
        self.scale = float(scale)
        self._origin = (start_at or utcnow()).astimezone(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._t0) * self.scale)


def make_clock(scale: float = 1.0, start_at: datetime | None = None) -> Clock:
    if scale == 1.0 and start_at is None:
        return RealClock()
    return ScaledClock(scale, start_at)
