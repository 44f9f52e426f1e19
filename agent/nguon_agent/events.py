"""The receiver's event stream, the commands it carries and emergency alerts (docs/device-protocol.md §4)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from datetime import datetime
from typing import Any

import aiohttp

from nguon_agent.clock import iso, parse_time
from nguon_agent.common import (
    ALERT_CANCEL_KEEP,
    ALERT_DOWNLOAD_TRIES,
    ALERT_FAILURES,
    ALERT_MEMORY,
    NETWORK_ERRORS,
    RECENT_EVENT_IDS,
    ServerError,
    Unauthorized,
    log,
    retry_after_seconds,
)
from nguon_agent.sse import SSEParser

AUDIENCE = ("devices", "units", "groups")  # the keys of an event's `audience` (§4.2)


class EventsMixin:
    """Part of `Agent` (nguon_agent.agent): the state it uses is set up in `Agent.__init__`."""

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
            for event_id, data, inline in parser.feed(chunk):
                # Handled on a later loop turn: when thousands of simulated streams get an event at once, each is
                # stamped as it is read, before any of them spends time on its signature.
                loop.call_soon(self.handle_event_data, data, event_id, received, inline)

    async def poll_alerts(self) -> None:
        """Without a stream: fetch the current alerts (GET /alerts, protocol §4.3) and handle each signed event
        exactly as if the stream had carried it (signature, audience, duplicates, acknowledgement)."""
        if self._alerts_poll_missing:
            return  # an older server without the endpoint: the manifest poll is all there is
        sent = time.time()
        async with self._session.get(
            self.base + "/alerts", headers=self._auth(), timeout=self._request_timeout
        ) as response:
            self._note_time(response, sent)
            if response.status in (404, 405, 501):
                log.warning("the server has no alert poll (%s): polling the manifest only", response.status)
                self._alerts_poll_missing = True
                return
            if response.status == 401:
                raise Unauthorized()
            if response.status != 200:
                raise ServerError(response.status, retry_after_seconds(response.headers.get("Retry-After"), 0))
            try:
                answer = await response.json(content_type=None)
            except ValueError:
                answer = None
        found = answer.get("events") if isinstance(answer, dict) else None
        if not isinstance(found, list):
            return self._ignore("invalid")
        received = time.time()
        for entry in found:
            data = entry.get("data") if isinstance(entry, dict) else None
            if not isinstance(data, str):
                self._ignore("invalid")
                continue
            event_id = entry.get("id")
            self.handle_event_data(data, str(event_id) if isinstance(event_id, int) else None, received)

    def _ignore(self, reason: str) -> None:
        self.stats.ignored[reason] = self.stats.ignored.get(reason, 0) + 1
        log.debug("%s: event ignored (%s)", self.device_code, reason)

    def handle_event_data(
        self, data: str, sse_id: str | None = None, received: float | None = None, inline: str | None = None
    ) -> None:
        """Verify one pushed event and act on it. `received`: when it was read from the stream; `inline`: the
        manifest a `manifest` event carried (§4.4)."""
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
        if "audience" in payload and not self._addressed(payload["audience"]):
            # Signed by our server, but for other devices: a replay (§4.2). Refuse it, and say so.
            self.log_record("warning", "event_wrong_audience")
            return self._ignore("wrong_audience")
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
        if kind == "manifest":
            return self._on_manifest(payload, inline, received)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            return self._ignore("unknown_type")
        handler(payload)

    def _memberships(self) -> tuple[set[str], set[int], str]:
        """The units (own and above) and groups this device belongs to, and its kind: from the manifest, else the
        enrolment answer."""
        for source in ((self.document or {}).get("device"), self.credentials.device if self.credentials else None):
            if isinstance(source, dict) and isinstance(source.get("units"), list):
                groups = source.get("groups") if isinstance(source.get("groups"), list) else []
                kind = str(source.get("kind") or "speaker")
                return {str(u) for u in source["units"]}, {g for g in groups if isinstance(g, int)}, kind
        return set(), set(), ""

    def _addressed(self, audience: Any) -> bool:
        """Whether an event's `audience` names this device: its code, one of its units, or one of its groups."""
        if not isinstance(audience, dict):
            return False
        devices, units, groups = (audience.get(k) if isinstance(audience.get(k), list) else [] for k in AUDIENCE)
        if self.device_code and self.device_code in devices:
            return True
        my_units, my_groups, my_kind = self._memberships()
        kinds = audience.get("kinds")
        if kinds is not None and (not isinstance(kinds, list) or my_kind not in kinds):
            return False  # units and groups stand for their devices of those kinds only
        return bool(my_units.intersection(u for u in units if isinstance(u, str))) or bool(
            my_groups.intersection(g for g in groups if isinstance(g, int))
        )

    def _on_manifest(self, payload: dict[str, Any], inline: str | None = None, received: float = 0.0) -> None:
        version = payload.get("version")
        if isinstance(version, int) and self.document is not None and version <= self.version:
            return  # already holding it
        if inline is not None and self.take_inline_manifest(inline, received):
            return  # the event carried it (§4.4): verified and taken, no fetch
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
