"""What the pipeline produces (`AudioSettings`) and the cache key of one rendering."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from nguon.speech.audio.store import _file_sha256
from nguon.speech.engines import Engine

KEY_VERSION = 1  # bump when a change to the pipeline changes its output, so cached renders are redone


@dataclass(frozen=True)
class AudioSettings:
    """What the pipeline produces. Every field except the tool paths and the timeout is part of the cache key."""

    target_lufs: float = -16.0
    max_true_peak: float = -1.0
    # The limiter's sample-peak ceiling sits this far under `max_true_peak`: the MP3 encoder's low-pass and
    # quantisation add overshoot between samples (0.3–0.5 dB at 64 kbit/s on espeak-ng speech at −16 LUFS).
    peak_margin: float = 1.0
    method: str = "limiter"
    lra: float = 11.0  # loudness range target, loudnorm method only
    # 24 kHz covers speech (espeak-ng and Piper voices are 22.05 kHz) and horn loudspeakers (≈200 Hz–8 kHz); Opus
    # takes it natively and MP3 stores it as MPEG-2 Layer III, which every decoder plays. 48000 is available.
    sample_rate: int = 24000
    mp3_bitrate: int = 64  # kbit/s, constant
    mp3_quality: int = 7  # LAME algorithm quality, 0 (slow) … 9 (fast); 7 halves encode time, inaudible on speech
    opus_bitrate: int = 32  # kbit/s, constrained VBR
    # libopus complexity 0 … 10. 10 takes 4–5× as long as 5 on this voice, 3 saves another third (≈0.35 s of CPU
    # for 500 words, what keeps the pipeline within 3× of raw espeak-ng + MP3); speech over horn loudspeakers
    # does not reveal the difference.
    opus_complexity: int = 3
    intro: Path | None = None  # chime before the speech
    outro: Path | None = None  # chime after the speech
    chime_gap: float = 0.3  # seconds of silence between a chime and the speech
    ffmpeg: str = "ffmpeg"
    ffprobe: str = "ffprobe"
    timeout: float = 300.0  # per ffmpeg run

    def __post_init__(self) -> None:
        if not -40.0 <= self.target_lufs <= -5.0:
            raise ValueError("target_lufs must be between -40 and -5 LUFS")
        if not -9.0 <= self.max_true_peak <= 0.0:
            raise ValueError("max_true_peak must be between -9 and 0 dBTP")
        if not 0.0 <= self.peak_margin <= 6.0:
            raise ValueError("peak_margin must be between 0 and 6 dB")
        if self.method not in ("limiter", "loudnorm"):
            raise ValueError("method must be 'limiter' or 'loudnorm'")
        if self.sample_rate not in (8000, 12000, 16000, 24000, 48000):
            raise ValueError("sample_rate must be one Opus and MP3 share: 8000, 12000, 16000, 24000 or 48000")
        if not 8 <= self.mp3_bitrate <= 320 or not 6 <= self.opus_bitrate <= 256:
            raise ValueError("bitrates are in kbit/s: MP3 8–320, Opus 6–256")
        if not 0 <= self.mp3_quality <= 9 or not 0 <= self.opus_complexity <= 10:
            raise ValueError("mp3_quality is 0–9 and opus_complexity 0–10")
        if not 0.0 <= self.chime_gap <= 10.0:
            raise ValueError("chime_gap must be between 0 and 10 seconds")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")

    @property
    def ceiling_db(self) -> float:
        return self.max_true_peak - self.peak_margin

    def cache_dict(self) -> dict:
        """Return the fields that change the output, with chimes identified by their content."""
        data = asdict(self)
        for name in ("ffmpeg", "ffprobe", "timeout"):
            data.pop(name)
        for name in ("intro", "outro"):
            path = data[name]
            data[name] = _file_sha256(Path(path)) if path else None
        return data


def render_key(
    normalized_text: str,
    voice: str,
    settings: AudioSettings | Mapping | None = None,
    *,
    engine: Engine | Mapping | str | None = None,
    rate: int | None = None,
) -> str:
    """Return the SHA-256 (hex) that names one rendering: same text, voice, engine and settings, same audio."""
    if settings is None:
        settings = AudioSettings()
    settings_part = settings.cache_dict() if isinstance(settings, AudioSettings) else dict(settings)
    if isinstance(engine, Engine):
        engine_part = engine.settings_key()
    elif isinstance(engine, Mapping):
        engine_part = dict(engine)
    else:
        engine_part = {"engine": engine or "espeak"}
    payload = {
        "version": KEY_VERSION,
        "text": unicodedata.normalize("NFC", normalized_text).strip(),
        "voice": voice,
        "rate": rate,
        "engine": engine_part,
        "settings": settings_part,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
