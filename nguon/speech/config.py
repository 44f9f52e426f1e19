"""The speech engine and audio settings this installation uses, from NGUON_* settings."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from nguon.speech.audio import AudioSettings
from nguon.speech.engines import (
    Engine,
    EngineUnavailable,
    EspeakEngine,
    HttpEngine,
    PiperEngine,
    gettext_noop,
    voice_for_province,
)

ENGINES = ("espeak", "piper", "http")


def make_engine(name: str | None = None) -> Engine:
    name = name or settings.TTS_ENGINE
    if name == "espeak":
        return EspeakEngine()
    if name == "piper":
        if not settings.PIPER_MODEL:
            raise EngineUnavailable(gettext_noop("Piper needs a voice file: set NGUON_PIPER_MODEL."))
        return PiperEngine(settings.PIPER_MODEL)
    if name == "http":
        if not settings.TTS_API_KEY:
            raise EngineUnavailable(gettext_noop("The HTTP speech service needs NGUON_TTS_API_KEY."))
        return HttpEngine(api_key=settings.TTS_API_KEY, url=settings.TTS_HTTP_URL)
    raise EngineUnavailable(gettext_noop("Unknown speech engine %(name)s."), name=name)


def default_voice() -> str:
    return settings.TTS_VOICE or voice_for_province(settings.DEFAULT_PROVINCE)


def speaking_rate() -> int | None:
    """NGUON_TTS_RATE, percent of the engine's normal speed; None at 100 (the engine's own default)."""
    rate = int(settings.TTS_RATE)
    return None if rate == 100 else rate


def audio_settings() -> AudioSettings:
    return AudioSettings(
        target_lufs=float(settings.LOUDNESS_TARGET),
        max_true_peak=float(settings.TRUE_PEAK_MAX),
        intro=Path(settings.CHIME_INTRO) if settings.CHIME_INTRO else None,
        outro=Path(settings.CHIME_OUTRO) if settings.CHIME_OUTRO else None,
    )
