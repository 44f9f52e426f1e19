"""The audio pipeline: synthesise → normalise loudness → add chimes → encode MP3 and Opus → store by SHA-256.

Loudness is normalised once, at ingest, to a configurable integrated target (default −16 LUFS, true peak at most
−1 dBTP), so that every commune loudspeaker plays every item at the same level.

Two methods:

* ``"limiter"`` (default): measure each segment (EBU R128, ffmpeg ``ebur128``), apply one gain per segment and a
  look-ahead peak limiter, measure the result and correct the gain (secant steps) until it is within 0.2 LU of
  the target; the pass expected to land also writes the MP3 and Opus files, so at −16 LUFS a render is two
  passes over the audio plus the encoders. Everything runs at the working sample rate, and accurately even when
  the limiter works hard.
* ``"loudnorm"``: ffmpeg's two-pass ``loudnorm`` with the values measured in the first pass, then the limiter
  method's gain correction. Kept for comparison: espeak-ng's peaks sit 19–20 dB over its loudness (15 dB fit
  between −16 LUFS and −1 dBTP), so loudnorm cannot stay linear; its dynamic mode lands 1–2.5 LU under the
  target and runs at 192 kHz. For 160 s of speech its passes take about 13 s of CPU, the limiter method's 1 s.

Each stage reports progress through ``on_progress(stage, fraction)`` and its time in ``RenderResult.timings``.
Failures raise `AudioError` subclasses (or the engine's `EngineError`); temporary files are always removed and
the store only ever receives complete files, renamed into place.

The package: `pipeline` (render, process_audio), `levelling` (gain search, limiter, loudnorm), `measure`
(loudness), `probe` (file checks), `tools` (running ffmpeg), `store` (content-addressed files), `settings`
(AudioSettings, render_key), `progress` (stages and timings), `errors`.
"""

from nguon.speech.audio.errors import (
    AudioError,
    AudioTimeout,
    AudioToolFailed,
    AudioToolMissing,
    InvalidAudio,
    SilentAudio,
)
from nguon.speech.audio.measure import Loudness, measure_loudness
from nguon.speech.audio.pipeline import RenderResult, process_audio, render
from nguon.speech.audio.probe import ProbeResult, probe
from nguon.speech.audio.progress import STAGES, ProgressCallback
from nguon.speech.audio.settings import KEY_VERSION, AudioSettings, render_key
from nguon.speech.audio.store import ContentStore, StoredFile, copy_atomically
from nguon.speech.audio.tools import _ffmpeg  # used by the alerts app's tone generator

__all__ = [
    "KEY_VERSION",
    "STAGES",
    "AudioError",
    "AudioSettings",
    "AudioTimeout",
    "AudioToolFailed",
    "AudioToolMissing",
    "ContentStore",
    "InvalidAudio",
    "Loudness",
    "ProbeResult",
    "ProgressCallback",
    "RenderResult",
    "SilentAudio",
    "StoredFile",
    "_ffmpeg",
    "copy_atomically",
    "measure_loudness",
    "probe",
    "process_audio",
    "render",
    "render_key",
]
