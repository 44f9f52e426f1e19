"""The receiver's heartbeats and report batches (docs/device-protocol.md §5)."""

from __future__ import annotations

import contextlib
import random
import time
from typing import Any

import aiohttp

from nguon_agent.clock import iso
from nguon_agent.common import (
    NETWORK_ERRORS,
    Unauthorized,
    log,
    retry_after_seconds,
)


class ReportsMixin:
    """Part of `Agent` (nguon_agent.agent): the state it uses is set up in `Agent.__init__`."""

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
