"""Audio outputs. A sink plays one thing at a time; the playout engine cancels the task to interrupt it.

`SilentSink` is the simulation: it "plays" an item for its duration on the agent's clock and keeps a log of what
it played and when (tests assert on it). `SubprocessSink` runs ffplay or mpv.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from nguon_agent.clock import Clock

log = logging.getLogger("nguon_agent.sink")


class PlaybackFailed(Exception):
    pass


@dataclass(slots=True)
class PlayEntry:
    """One thing the silent sink played: what, from when to when (device clock), and how it ended."""

    kind: str
    title: str
    key: str
    source: str  # "slot", "push" or "live"
    volume: int
    started: datetime
    ended: datetime | None = None
    outcome: str = "playing"  # completed | cut (reached its end time) | interrupted


class Sink:
    name = "sink"

    def __init__(self, clock: Clock):
        self.clock = clock
        self.volume = 80

    def set_volume(self, volume: int) -> None:
        self.volume = volume

    async def play(
        self,
        item: dict[str, Any],
        *,
        key: str,
        source: str,
        path: Path | None,
        url: str | None,
        until: datetime | None,
        volume: int,
    ) -> str:
        """Play until the item ends or the clock reaches `until`. Returns "completed" or "cut".

        Raises CancelledError when interrupted and PlaybackFailed when it cannot play.
        """
        raise NotImplementedError


class SilentSink(Sink):
    name = "silent"

    def __init__(self, clock: Clock, keep_log: bool = True, default_duration: float = 30.0):
        super().__init__(clock)
        self.keep_log = keep_log
        self.default_duration = default_duration
        self.log: list[PlayEntry] = []
        self.changed = asyncio.Event()  # set whenever the log changes (tests wait on it)

    def _note(self, entry: PlayEntry) -> None:
        if self.keep_log:
            self.changed.set()

    def set_volume(self, volume: int) -> None:
        super().set_volume(volume)
        self.changed.set()

    async def play(self, item, *, key, source, path, url, until, volume) -> str:
        self.volume = volume
        now = self.clock.now()
        kind = item.get("kind", "audio")
        if kind in ("audio", "video"):
            try:
                duration = float(item.get("duration") or self.default_duration)
            except (TypeError, ValueError):
                duration = self.default_duration
            end = now.timestamp() + duration
            natural = True
            if until is not None and until.timestamp() < end:
                end, natural = until.timestamp(), False
        else:  # stream, board: until told otherwise
            end = until.timestamp() if until is not None else None
            natural = False
        entry = PlayEntry(kind, str(item.get("title", "")), key, source, volume, now)
        if self.keep_log:
            self.log.append(entry)
            self._note(entry)
        try:
            if end is None:
                await asyncio.Event().wait()  # forever, until cancelled
            else:
                await self.clock.sleep(end - now.timestamp())
        except asyncio.CancelledError:
            entry.ended, entry.outcome = self.clock.now(), "interrupted"
            self._note(entry)
            raise
        entry.ended, entry.outcome = self.clock.now(), "completed" if natural else "cut"
        self._note(entry)
        return entry.outcome


class SubprocessSink(Sink):
    """Plays through ffplay or mpv. A file plays to its end; a stream plays until cancelled or `until`."""

    def __init__(self, clock: Clock, program: str = "ffplay"):
        super().__init__(clock)
        if program not in ("ffplay", "mpv"):
            raise ValueError("the sink is ffplay or mpv")
        self.program = program
        self.name = program
        if shutil.which(program) is None:
            log.warning("%s not found on PATH: every item will fail", program)

    def command(self, target: str, volume: int) -> list[str]:
        if self.program == "ffplay":
            return ["ffplay", "-nodisp", "-autoexit", "-loglevel", "error", "-volume", str(volume), target]
        return ["mpv", "--no-video", "--really-quiet", f"--volume={volume}", target]

    async def play(self, item, *, key, source, path, url, until, volume) -> str:
        self.volume = volume
        target = str(path) if path is not None else url
        if not target:
            raise PlaybackFailed("nothing to play")
        try:
            proc = await asyncio.create_subprocess_exec(
                *self.command(target, volume),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as exc:
            raise PlaybackFailed(str(exc)) from exc
        timeout = None
        if until is not None:
            timeout = self.clock.real_seconds((until - self.clock.now()).total_seconds())
        try:
            await asyncio.wait_for(proc.wait(), timeout=timeout)
        except TimeoutError:
            await _terminate(proc)
            return "cut"
        except asyncio.CancelledError:
            await asyncio.shield(_terminate(proc))
            raise
        if proc.returncode != 0:
            error = (await proc.stderr.read()).decode(errors="replace").strip() if proc.stderr else ""
            raise PlaybackFailed(f"{self.program} exited {proc.returncode}: {error[:200]}")
        return "completed"


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), timeout=3)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


def make_sink(name: str, clock: Clock, keep_log: bool = True) -> Sink:
    if name == "silent":
        return SilentSink(clock, keep_log=keep_log)
    return SubprocessSink(clock, name)
