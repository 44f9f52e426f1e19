"""Loudness measurement (EBU R128 integrated loudness, true peak, decoded duration) and the MP3 level check."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import NamedTuple

from nguon.speech.audio.errors import AudioToolFailed
from nguon.speech.audio.probe import probe
from nguon.speech.audio.settings import AudioSettings
from nguon.speech.audio.tools import _db, _ffmpeg, _filter_path, _read_metadata, _workdir
from nguon.speech.engines import gettext_noop


class Loudness(NamedTuple):
    integrated_lufs: float
    true_peak_dbtp: float
    duration: float


def measure_loudness(
    path: str | Path, *, ffmpeg: str = "ffmpeg", ffprobe: str = "ffprobe", timeout: float = 300.0
) -> Loudness:
    """Measure integrated loudness (EBU R128, LUFS), true peak (dBTP) and duration (s) of a decoded file."""
    path = Path(path)
    probe(path, ffprobe=ffprobe, timeout=timeout)  # a clear error for what is not complete audio
    return _measure(path, AudioSettings(ffmpeg=ffmpeg, ffprobe=ffprobe, timeout=timeout))


@functools.lru_cache(maxsize=8)
def _mp3_gain_db(ffmpeg: str, sample_rate: int, bitrate: int, quality: int, timeout: float) -> float:
    """Return how many dB the MP3 round trip changes the level (LAME lowers it by about 0.44 dB).

    Measured once per process on a 997 Hz tone, so the MP3 lands on the target and not 0.4 LU under it.
    """
    settings = AudioSettings(ffmpeg=ffmpeg, timeout=timeout)
    tone = f"sine=frequency=997:sample_rate={sample_rate}:duration=3,volume=0.1"
    with _workdir() as work:
        encoded = work / "tone.mp3"
        encode = ["-f", "lavfi", "-i", tone, "-c:a", "libmp3lame", "-b:a", f"{bitrate}k"]
        _ffmpeg([*encode, "-compression_level", str(quality), "-f", "mp3", f"file:{encoded}"], settings, "MP3 check")
        loudness = []
        for source in (["-f", "lavfi", "-i", tone], ["-i", f"file:{encoded}"]):
            meta = work / f"tone{len(loudness)}.txt"
            measure = f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={_filter_path(meta)}"
            _ffmpeg([*source, "-af", measure, "-f", "null", "-"], settings, "MP3 check")
            loudness.append(_read_metadata(meta).get("lavfi.r128.I", -70.0))
    change = loudness[1] - loudness[0]
    return change if abs(change) < 3 else 0.0  # a wild value means a broken measurement, not a real gain


def _measure(path: Path, settings: AudioSettings) -> Loudness:
    """Measure a file this pipeline wrote: loudness, true peak, and the decoded duration (gapless, exact)."""
    with _workdir() as work:
        meta = work / "loudness.txt"
        measure = f"ebur128=metadata=1:peak=true,ametadata=mode=print:file={_filter_path(meta)}"
        args = ["-progress", "pipe:1", "-i", f"file:{path}", "-map", "0:a:0", "-af", measure, "-f", "null", "-"]
        result = _ffmpeg(args, settings, "measure")
        values = _read_metadata(meta)
    if "lavfi.r128.I" not in values:
        raise AudioToolFailed(gettext_noop("ffmpeg did not report the loudness of %(name)s."), name=path.name)
    # -progress reports the decoded duration, the MP3 encoder's delay and padding already removed.
    found = re.findall(rb"^out_time_us=(\d+)", result.stdout, re.MULTILINE)
    return Loudness(
        integrated_lufs=round(values["lavfi.r128.I"], 2),
        true_peak_dbtp=round(_db(values.get("lavfi.r128.true_peak", 0.0)), 2),
        duration=round(int(found[-1]) / 1e6, 3) if found else 0.0,
    )
