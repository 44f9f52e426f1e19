"""The errors of the audio pipeline."""

from __future__ import annotations

from nguon.speech.engines import SpeechError


class AudioError(SpeechError):
    """The audio could not be processed."""


class AudioToolMissing(AudioError):
    """ffmpeg or ffprobe is not installed."""


class AudioToolFailed(AudioError):
    """ffmpeg or ffprobe failed."""


class AudioTimeout(AudioError):
    """ffmpeg or ffprobe did not finish in time."""


class InvalidAudio(AudioError):
    """The file is not audio, is truncated, or holds only silence."""


class SilentAudio(InvalidAudio):
    """The speech holds nothing above the loudness gate."""
