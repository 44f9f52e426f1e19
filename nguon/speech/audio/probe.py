"""`probe`: describe an audio file, refusing what is not complete, playable audio."""

from __future__ import annotations

import json
import math
import os
import re
import wave
from pathlib import Path
from typing import NamedTuple

from nguon.speech.audio.errors import AudioTimeout, AudioToolMissing, InvalidAudio
from nguon.speech.engines import gettext_noop, run_tool


class ProbeResult(NamedTuple):
    format: str  # container: "mp3", "ogg", "wav", …
    codec: str  # audio codec: "mp3", "opus", "pcm_s16le", …
    duration: float  # seconds
    sample_rate: int
    channels: int
    bit_rate: int | None
    size: int


def probe(path: str | Path, *, ffprobe: str = "ffprobe", timeout: float = 60.0) -> ProbeResult:
    """Describe an audio file; raise `InvalidAudio` for anything that is not complete, playable audio.

    Truncation is caught by reading every packet (no decoding): for MP3 the packets must reach the duration in the
    header, for Ogg the last page must be complete and marked end-of-stream, for WAV the data chunk must fit the file.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidAudio(
            gettext_noop("The audio file %(path)s cannot be read: %(detail)s"), path=path.name, detail=exc
        )
    if size == 0:
        raise InvalidAudio(gettext_noop("The file %(name)s is empty."), name=path.name)
    entries = "format=format_name,duration,bit_rate:stream=codec_name,sample_rate,channels,duration"
    entries += ":packet=pts_time,duration_time"
    args = [ffprobe, "-v", "error", "-of", "json", "-select_streams", "a:0", "-show_entries", entries, f"file:{path}"]
    try:
        result = run_tool(
            args,
            timeout=timeout,
            name="ffprobe",
            unavailable=AudioToolMissing,
            crashed=InvalidAudio,
            timed_out=AudioTimeout,
        )
    except InvalidAudio as exc:
        raise InvalidAudio(
            gettext_noop("The file %(name)s is not a readable audio file (%(detail)s)."),
            name=path.name,
            detail=_clean_stderr(str(exc.params.get("stderr", "")), path) or exc.args[0],
        )
    try:
        info = json.loads(result.stdout or b"{}")
    except ValueError:
        info = {}
    streams = info.get("streams") or []
    fmt = info.get("format") or {}
    if not streams:
        raise InvalidAudio(gettext_noop("The file %(name)s contains no audio."), name=path.name)
    stream = streams[0]
    duration = _to_float(stream.get("duration")) or _to_float(fmt.get("duration")) or 0.0
    packets = info.get("packets") or []
    if duration <= 0 or not packets:
        raise InvalidAudio(gettext_noop("The file %(name)s contains no audio."), name=path.name)
    last = packets[-1]
    end = (_to_float(last.get("pts_time")) or 0.0) + (_to_float(last.get("duration_time")) or 0.0)
    format_name = str(fmt.get("format_name", ""))
    if end < duration - max(0.25, 0.01 * duration):
        raise InvalidAudio(
            gettext_noop("The file %(name)s is truncated: its audio ends at %(end).1f s of %(duration).1f s."),
            name=path.name,
            end=max(0.0, end),
            duration=duration,
        )
    if ("ogg" in format_name.split(",") and not _ogg_complete(path)) or (
        format_name == "wav" and not _wav_complete(path)
    ):
        raise InvalidAudio(gettext_noop("The file %(name)s is truncated: its end is missing."), name=path.name)
    return ProbeResult(
        format=format_name,
        codec=str(stream.get("codec_name", "")),
        duration=round(duration, 3),
        sample_rate=int(_to_float(stream.get("sample_rate")) or 0),
        channels=int(stream.get("channels") or 0),
        bit_rate=int(_to_float(fmt.get("bit_rate")) or 0) or None,
        size=size,
    )


def _clean_stderr(text: str, path: Path) -> str:
    """Drop ffmpeg's "[mp3 @ 0x…]" prefixes and our "file:" paths from an error message."""
    text = re.sub(r"\[[\w:]+ @ 0x[0-9a-f]+\] ", "", text).replace(f"file:{path}", path.name)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def _to_float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _ogg_complete(path: Path) -> bool:
    """Return whether the file is a chain of whole Ogg pages, the last one marked end-of-stream."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        position, last_flags = 0, 0
        while position < size:
            handle.seek(position)
            header = handle.read(27)
            if len(header) < 27 or header[:4] != b"OggS":
                return False
            table = handle.read(header[26])
            if len(table) < header[26]:
                return False
            position += 27 + len(table) + sum(table)
            last_flags = header[5]
        return position == size and bool(last_flags & 0x04)


def _wav_complete(path: Path) -> bool:
    """Return whether the WAV data chunk fits the file (PCM only; other WAV codecs pass)."""
    try:
        with wave.open(str(path), "rb") as wav:
            expected = wav.getnframes() * wav.getsampwidth() * wav.getnchannels()
    except (wave.Error, EOFError):
        return True  # float or extensible WAV: ffprobe's own checks apply
    return expected <= path.stat().st_size
