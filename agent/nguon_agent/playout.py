"""Playout by the clock: each manifest slot starts at its wall-clock `start` and stops at its `end`.

Items of a slot play in order. An audio item plays for its length (cut at the slot end); a `stream` or `board`
item plays until the next item is due: the slot end minus the time the later audio items need (or its own
`duration`, when it has one). Push commands (`play`, `live`) interrupt the schedule and hand back to it when they
end; `stop` ends what plays now and the rest of the slot. An `alert` interrupts everything, a push command and an
older alert included, and nothing but a newer alert or its own cancellation interrupts it: a `play` or `live` that
arrives meanwhile waits for the alert's end. Every item played, cut, failed or skipped becomes a `play` report
record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from nguon_agent.clock import Clock, iso, parse_time
from nguon_agent.sinks import PlaybackFailed, Sink

log = logging.getLogger("nguon_agent.playout")

FILE_KINDS = ("audio", "video")
CUT_TOLERANCE = 1.0  # seconds: an item cut this close to its natural end counts as played


def item_key(item: dict[str, Any], index: int) -> str:
    """How play reports name an item: its id or bulletin number, else its media hash, else kind and position."""
    for field in ("id", "bulletin"):
        if item.get(field) is not None:
            return str(item[field])
    if item.get("sha256"):
        return str(item["sha256"])
    return f"{item.get('kind', 'item')}:{index}"


def item_duration(item: dict[str, Any]) -> float | None:
    try:
        duration = float(item.get("duration"))
    except (TypeError, ValueError):
        return None
    return duration if duration > 0 else None


class MediaMissing(Exception):
    pass


@dataclass(slots=True)
class Playing:
    occurrence: str
    key: str
    source: str  # slot | push | live | alert
    task: asyncio.Task
    sha256: str = ""


@dataclass(slots=True)
class Held:
    """A `play` or `live` command that arrived while an alert played: it starts when the alert ends."""

    kind: str  # push | live
    start: Callable[[], Coroutine[Any, Any, str]]  # makes the coroutine that plays it
    occurrence: str
    key: str
    until: datetime | None = None


class Playout:
    def __init__(
        self,
        clock: Clock,
        sink: Sink,
        record: Callable[[dict[str, Any]], None],
        resolve: Callable[[dict[str, Any]], tuple[Path | None, str | None]],
        on_log: Callable[[str, str], None] | None = None,
    ):
        self.clock = clock
        self.sink = sink
        self._record = record
        self._resolve = resolve
        self._log = on_log or (lambda level, message: None)
        self.document: dict[str, Any] | None = None
        self.volume_override: int | None = None
        self._wake = asyncio.Event()
        self._handled: dict[str, datetime] = {}  # slot id -> its end, for slots already played (or joined)
        self._slot: dict[str, Any] | None = None
        self._stopped: str | None = None  # the slot that `stop` ended
        self._playing: Playing | None = None
        self._override: asyncio.Task | None = None
        self._override_kind: str | None = None
        self._override_alert: int | None = None  # the alert id, while an alert is the override
        self._held: Held | None = None
        self._closing = False
        self._no_override = asyncio.Event()
        self._no_override.set()

    # ----- what the agent calls -----

    def set_document(self, document: dict[str, Any]) -> None:
        """A new verified manifest: follow it from now on; a `volume` command ends here."""
        self.document = document
        self.volume_override = None
        slot = self._slot
        if slot is not None and self._current_version(slot.get("id")) is None:
            log.info("slot %s left the manifest: stopping it", slot.get("id"))
            self._stopped = slot.get("id")
            if self._playing is not None and self._playing.source == "slot":
                self._playing.task.cancel()
        self._wake.set()

    @property
    def current_item(self) -> str:
        playing = self._playing
        return f"{playing.occurrence}/{playing.key}" if playing else ""

    @property
    def busy_media(self) -> set[str]:
        playing = self._playing
        return {playing.sha256} if playing and playing.sha256 else set()

    @property
    def volume(self) -> int:
        if self.volume_override is not None:
            return self.volume_override
        slot = self._slot
        if slot is not None and isinstance(slot.get("volume"), int):
            return slot["volume"]
        settings = (self.document or {}).get("settings") or {}
        return int(settings.get("volume", 80)) if isinstance(settings.get("volume", 80), int) else 80

    def set_volume(self, volume: int) -> None:
        self.volume_override = max(0, min(100, int(volume)))
        self.sink.set_volume(self.volume_override)

    def play_now(self, item: dict[str, Any], event_id: Any) -> None:
        """`play` command: interrupt, play the item, then resume the schedule."""
        occurrence, key = f"push@{event_id}", item_key(item, 0)
        self._command(Held("push", lambda: self._play(item, occurrence, key, "push", None), occurrence, key))

    def live(self, url: str, title: str, until: datetime | None, event_id: Any) -> None:
        """`live` command: interrupt and relay the stream until `live_stop` or `until`."""
        item = {"kind": "stream", "title": title, "url": url}
        occurrence = f"live@{event_id}"
        self._command(
            Held("live", lambda: self._play(item, occurrence, "live", "live", until), occurrence, "live", until)
        )

    def live_stop(self) -> None:
        if self._override_kind == "live" and self._override is not None:
            self._override.cancel()
        if self._held is not None and self._held.kind == "live":
            self._drop_held()

    def stop(self) -> None:
        """`stop` command: stop what plays now; the schedule resumes at the next slot.

        An alert plays on (only `alert_cancel` or a newer alert ends it); the slot it interrupted does not resume.
        """
        self._drop_held()
        if self._override is not None and not self._override.done() and self._override_kind != "alert":
            self._override.cancel()
        if self._slot is not None:
            self._stopped = self._slot.get("id")
        if self._playing is not None and self._playing.source == "slot":
            self._playing.task.cancel()

    @property
    def alert_playing(self) -> int | None:
        """The id of the alert that plays now (downloaded and started), else None."""
        if self._override_kind == "alert" and self._override is not None and not self._override.done():
            return self._override_alert
        return None

    def alert(self, item: dict[str, Any], alert_id: int, until: datetime | None = None) -> asyncio.Task | None:
        """`alert` event: interrupt anything (an older alert too), play the item until its end or `until` (the
        alert's expiry), then resume the schedule.

        Returns the task that plays it; its result is how the play ended ("completed", "cut", "failed" for a
        player error, "missing" for media not in the cache); it is cancelled if the alert is cancelled. Returns
        None, interrupting nothing, when the item's media is not in the cache (a `failed` play record is written).
        """
        occurrence, key = f"alert@{alert_id}", item_key(item, 0)
        try:
            self._resolve(item)
        except MediaMissing:
            self._play_record(occurrence, key, self.clock.now(), "failed")
            return None
        task = self._start_override("alert", self._play(item, occurrence, key, "alert", until))
        self._override_alert = alert_id
        return task

    def end_alert(self, alert_id: int) -> bool:
        """`alert_cancel`, or a newer alert that replaces it: stop that alert if it plays; the schedule resumes."""
        if self.alert_playing == alert_id:
            self._override.cancel()
            return True
        return False

    # ----- the schedule -----

    async def run(self) -> None:
        self._closing = False  # run again by the agent's supervisor after a failure
        try:
            while True:
                self._wake.clear()
                slot = self._next_slot()
                if slot is None:
                    await self._wake.wait()
                    continue
                start, end = parse_time(slot["start"]), parse_time(slot["end"])
                if self.clock.now() < start and await self.clock.sleep_until(start, self._wake):
                    continue  # the manifest changed while waiting: look again
                self._handled[slot["id"]] = end
                await self._run_slot(slot, start, end)
        finally:
            self._closing = True  # a held command must not start while the playout shuts down
            if self._override is not None:
                self._override.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._override

    def _next_slot(self) -> dict[str, Any] | None:
        document = self.document
        if not document:
            return None
        now = self.clock.now()
        for sid, end in list(self._handled.items()):
            if end < now - timedelta(days=1):
                del self._handled[sid]
        valid_until = parse_time(document.get("valid_until"))
        best = None
        for slot in document.get("slots") or []:
            if not isinstance(slot, dict) or not isinstance(slot.get("id"), str | int) or slot["id"] in self._handled:
                continue
            start, end = parse_time(slot.get("start")), parse_time(slot.get("end"))
            if start is None or end is None or end <= now or end <= start:
                continue
            if valid_until is not None and start >= valid_until:
                continue
            if best is None or start < best[0]:
                best = (start, slot)
        return best[1] if best else None

    def _current_version(self, slot_id: str) -> dict[str, Any] | None:
        for slot in (self.document or {}).get("slots") or []:
            if isinstance(slot, dict) and slot.get("id") == slot_id:
                return slot
        return None

    async def _run_slot(self, slot: dict[str, Any], start: datetime, end: datetime) -> None:
        occurrence = str(slot["id"])
        self._slot, self._stopped = slot, None
        self.sink.set_volume(self.volume)
        items = [i for i in slot.get("items") or [] if isinstance(i, dict)]
        index = 0
        try:
            # Joining late (the agent started mid-slot): skip the audio items whose time has passed.
            now, t = self.clock.now(), start
            while index < len(items) and items[index].get("kind") in FILE_KINDS:
                duration = item_duration(items[index])
                if duration is None or t + timedelta(seconds=duration) > now:
                    break
                t += timedelta(seconds=duration)
                self._skip(occurrence, items[index], index)
                index += 1
            while index < len(items):
                if self._no_override.is_set() is False:
                    await self.clock.sleep_until(end, self._no_override)
                if self._stopped == occurrence or self.clock.now() >= end:
                    break
                latest = self._current_version(occurrence)
                if latest is None:
                    log.info("slot %s left the manifest: stopping it", occurrence)
                    break
                if latest is not slot:
                    slot, end = latest, parse_time(latest.get("end")) or end
                    items = [i for i in latest.get("items") or [] if isinstance(i, dict)]
                    self._slot = slot
                    if index >= len(items):
                        break
                item = items[index]
                until = self._item_until(items, index, end)
                if until <= self.clock.now():
                    self._skip(occurrence, item, index)
                    index += 1
                    continue
                outcome = await self._play(item, occurrence, item_key(item, index), "slot", until)
                if outcome == "interrupted" and self._stopped != occurrence and item.get("kind") not in FILE_KINDS:
                    continue  # a relay interrupted by a push command resumes when the command ends
                index += 1
            for rest in range(index, len(items)):
                self._skip(occurrence, items[rest], rest)
        finally:
            self._slot = None

    def _item_until(self, items: list[dict[str, Any]], index: int, end: datetime) -> datetime:
        item = items[index]
        if item.get("kind") in FILE_KINDS:
            return end
        reserve = sum(item_duration(i) or 0.0 for i in items[index + 1 :] if i.get("kind") in FILE_KINDS)
        until = end - timedelta(seconds=reserve)
        duration = item_duration(item)
        if duration is not None:
            until = min(until, self.clock.now() + timedelta(seconds=duration))
        return until

    def _skip(self, occurrence: str, item: dict[str, Any], index: int) -> None:
        self._skip_key(occurrence, item_key(item, index))

    def _skip_key(self, occurrence: str, key: str) -> None:
        at = iso(self.clock.now())
        self._record(
            {
                "type": "play",
                "occurrence": occurrence,
                "item": key,
                "started_at": at,
                "ended_at": at,
                "result": "skipped",
            }
        )

    # ----- playing one item -----

    def _command(self, command: Held) -> None:
        """Start a push command now, or, while an alert plays, hold it until the alert ends.

        An alert is not interrupted by a `play` or `live` (the protocol: an alert interrupts everything, and only
        `alert_cancel` or a newer alert ends it). The command is not dropped either: a live relay goes on after the
        alert, and a pushed bulletin still matters. Only the latest command waits; one it displaces is reported
        `skipped`.
        """
        if self.alert_playing is None:
            self._start_override(command.kind, command.start())
            return
        self._drop_held()
        self._held = command

    def _drop_held(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            self._skip_key(held.occurrence, held.key)

    def _start_override(self, kind: str, coro) -> asyncio.Task:
        previous = self._override
        if previous is not None and not previous.done():
            previous.cancel()
        self._no_override.clear()
        if self._playing is not None and self._playing.source == "slot":
            self._playing.task.cancel()
        task = asyncio.ensure_future(self._run_override(coro))
        self._override, self._override_kind, self._override_alert = task, kind, None
        return task

    async def _run_override(self, coro) -> str:
        try:
            return await coro
        finally:
            if self._override is asyncio.current_task():
                self._override, self._override_kind, self._override_alert = None, None, None
                held, self._held = self._held, None
                if held is not None and not self._closing:
                    if held.until is not None and held.until <= self.clock.now():
                        self._skip_key(held.occurrence, held.key)  # a live relay whose end passed during the alert
                    else:
                        # Started before the schedule is told the override ended: the slot stays paused (setting
                        # _no_override even for a moment would wake it, and two items would play at once).
                        self._start_override(held.kind, held.start())
                if self._override is None:
                    self._no_override.set()

    async def _play(self, item: dict[str, Any], occurrence: str, key: str, source: str, until: datetime | None) -> str:
        """Play one item to its end; record the play. Returns completed, cut, interrupted, failed or missing."""
        started = self.clock.now()
        kind = item.get("kind", "audio")
        try:
            path, url = self._resolve(item)
        except MediaMissing as exc:
            self._log("error", "media_missing")
            log.warning("%s %s: %s", occurrence, key, exc)
            self._play_record(occurrence, key, started, "failed")
            return "missing"
        previous = self._playing
        if previous is not None and not previous.task.done():  # an interrupted item still winding down
            previous.task.cancel()
            await asyncio.wait({previous.task})
        task = asyncio.ensure_future(
            self.sink.play(item, key=key, source=source, path=path, url=url, until=until, volume=self.volume)
        )
        self._playing = Playing(occurrence, key, source, task, str(item.get("sha256") or ""))
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._play_record(occurrence, key, started, "partial")
            raise
        finally:
            if self._playing is not None and self._playing.task is task:
                self._playing = None
        if task.cancelled():
            self._play_record(occurrence, key, started, "partial")
            return "interrupted"
        error = task.exception()
        if error is not None:
            if not isinstance(error, PlaybackFailed):
                log.error("sink error on %s %s: %r", occurrence, key, error)
            else:
                log.warning("%s %s failed: %s", occurrence, key, error)
            self._log("error", "play_failed")
            self._play_record(occurrence, key, started, "failed")
            return "failed"
        outcome = task.result()
        cut_short = outcome == "cut" and kind in FILE_KINDS
        if cut_short:  # cut within a second of its natural end (it was timed to end with the slot): played
            duration = item_duration(item)
            played = (self.clock.now() - started).total_seconds()
            cut_short = duration is None or played < duration - CUT_TOLERANCE
        self._play_record(occurrence, key, started, "partial" if cut_short else "played")
        return outcome

    def _play_record(self, occurrence: str, key: str, started: datetime, result: str) -> None:
        self._record(
            {
                "type": "play",
                "occurrence": occurrence,
                "item": key,
                "started_at": iso(started),
                "ended_at": iso(self.clock.now()),
                "result": result,
            }
        )
