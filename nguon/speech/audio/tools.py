"""Running ffmpeg: the command line, filtergraph escaping, the metadata files its filters write, work directories."""

from __future__ import annotations

import contextlib
import math
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from nguon.speech.audio.errors import AudioTimeout, AudioToolFailed, AudioToolMissing
from nguon.speech.audio.settings import AudioSettings
from nguon.speech.engines import run_tool


def _ffmpeg(args: list[str], settings: AudioSettings, what: str, *, loglevel: str = "error"):
    return run_tool(
        [settings.ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", loglevel, "-y", *args],
        timeout=settings.timeout,
        name=f"ffmpeg ({what})",
        unavailable=AudioToolMissing,
        crashed=AudioToolFailed,
        timed_out=AudioTimeout,
    )


def _filter_path(path: Path) -> str:
    """Escape a path for use as a filter option value inside a filtergraph (ffmpeg's two escaping levels)."""
    value = re.sub(r"([\\:'])", r"\\\1", str(path))
    return re.sub(r"([\\'\[\],;])", r"\\\1", value)


def _read_metadata(path: Path) -> dict[str, float]:
    """Return the last value of each key an ``ametadata=mode=print`` file holds (ebur128 values are running)."""
    values: dict[str, float] = {}
    try:
        text = path.read_text()
    except FileNotFoundError:
        return values
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("lavfi."):
            with contextlib.suppress(ValueError):
                values[key] = float(value)
    return values


def _db(linear: float) -> float:
    return 20 * math.log10(linear) if linear > 0 else -120.0


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nguon-audio-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
