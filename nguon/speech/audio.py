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
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import re
import resource
import shutil
import tempfile
import time
import unicodedata
import wave
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

from nguon.speech.engines import (
    DEFAULT_VOICE,
    Engine,
    EngineBadOutput,
    EngineEmptyOutput,
    EspeakEngine,
    SpeechError,
    gettext_noop,
    run_tool,
)

__all__ = [
    "AudioError",
    "AudioSettings",
    "AudioTimeout",
    "AudioToolFailed",
    "AudioToolMissing",
    "ContentStore",
    "InvalidAudio",
    "Loudness",
    "ProbeResult",
    "RenderResult",
    "SilentAudio",
    "StoredFile",
    "copy_atomically",
    "measure_loudness",
    "probe",
    "process_audio",
    "render",
    "render_key",
]

KEY_VERSION = 1  # bump when a change to the pipeline changes its output, so cached renders are redone
SILENCE_LUFS = -69.0  # ebur128 reports −70 LUFS when nothing passes the absolute gate
LOUDNESS_TOLERANCE = 0.2  # LU; the limiter method stops correcting within this distance of the target
KNEE_STEP_FACTOR = 1.3
# Short attack and release act on single glottal pulses (espeak-ng's peaks), which costs less loudness than
# holding the gain down for a whole syllable: at −16 LUFS, 1/10 ms needs ≈6 dB of gain where 10/200 ms needs ≈14.
LIMITER_ATTACK_MS = 1
LIMITER_RELEASE_MS = 10
ProgressCallback = Callable[[str, float], None]

# Where each stage starts, as a fraction of the whole render (synthesis of long texts dominates with HTTP engines).
STAGES = {"synthesise": 0.0, "analyse": 0.2, "normalise": 0.3, "encode": 0.5, "store": 0.95}


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


# --------------------------------------------------------------------------------------------------------------
# Settings and cache key


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


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError as exc:
        raise InvalidAudio(
            gettext_noop("The audio file %(path)s cannot be read: %(detail)s"), path=str(path), detail=exc
        )
    return digest.hexdigest()


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


# --------------------------------------------------------------------------------------------------------------
# Content-addressed store


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    path: Path
    size: int
    format: str  # file extension: "mp3", "opus"


def copy_atomically(source: Path, target: Path) -> None:
    """Copy `source` to `target` through a temporary file beside it, flushed to disk, then renamed into place.

    The temporary name starts with a dot and ends in ".part", so readers (the device media route, a directory
    listing) never see a half-written file under the final name, and a crash leaves only an obvious leftover.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class ContentStore:
    """Files named by the SHA-256 of their bytes: ``<root>/<sha[:2]>/<sha>.<ext>``. Existing files are reused."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str, ext: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{ext}"

    def put(self, source: Path, ext: str) -> StoredFile:
        """Copy `source` into the store (atomically: temporary file, fsync, rename) and describe it."""
        sha = _file_sha256(source)
        size = source.stat().st_size
        target = self.path_for(sha, ext)
        if target.exists() and target.stat().st_size == size:
            return StoredFile(sha, target, size, ext)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_atomically(source, target)
        return StoredFile(sha, target, size, ext)


# --------------------------------------------------------------------------------------------------------------
# ffmpeg and ffprobe


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


# --------------------------------------------------------------------------------------------------------------
# The pipeline


@dataclass(frozen=True)
class RenderResult:
    mp3: StoredFile
    opus: StoredFile
    duration: float  # seconds, of the MP3
    loudness_lufs: float  # integrated, measured on the final MP3
    true_peak_dbtp: float  # measured on the final MP3
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage ("encode" and "measure" overlap)
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # CPU per stage, mostly ffmpeg's and espeak-ng's
    key: str = ""  # render_key() of the request, when it came from text
    gain_db: float = 0.0  # gain applied to the speech
    normalise_passes: int = 0

    @property
    def mp3_sha256(self) -> str:
        return self.mp3.sha256

    @property
    def opus_sha256(self) -> str:
        return self.opus.sha256

    def as_dict(self) -> dict:
        data = asdict(self)
        for name in ("mp3", "opus"):
            data[name]["path"] = str(data[name]["path"])
        return data


@dataclass
class _Segment:
    path: Path  # float WAV at the working sample rate
    loudness: float  # LUFS
    peak: float  # sample peak, dBFS
    gain: float = 0.0  # dB that brings it to the target
    pad: float = 0.0  # seconds of silence after it


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="nguon-audio-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (process-wide: concurrent renders add up)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class _Clock:
    """Wall time per stage in `timings`, CPU time (the tools', mostly) in `cpu`; reports progress."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.on_progress = on_progress
        self.reported: set[str] = set()
        self.started = (time.perf_counter(), _cpu_seconds())

    def report(self, name: str) -> None:
        """Tell the caller a stage has begun (once per stage; the normalise/encode passes may alternate)."""
        if self.on_progress is not None and name in STAGES and name not in self.reported:
            self.reported.add(name)
            self.on_progress(name, STAGES[name])

    def add(self, name: str, seconds: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 4)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.report(name)
        start, cpu = time.perf_counter(), _cpu_seconds()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)
            self.cpu[name] = round(self.cpu.get(name, 0.0) + _cpu_seconds() - cpu, 4)

    def finish(self) -> dict:
        self.timings["total"] = round(time.perf_counter() - self.started[0], 4)
        self.cpu["total"] = round(_cpu_seconds() - self.started[1], 4)
        return {"timings": self.timings, "cpu_seconds": self.cpu}


def render(
    text: str,
    *,
    store_root: str | Path,
    engine: Engine | None = None,
    voice: str = DEFAULT_VOICE,
    rate: int | None = None,
    settings: AudioSettings | None = None,
    on_progress: ProgressCallback | None = None,
    wav_copy: str | Path | None = None,
) -> RenderResult:
    """Speak already-normalised text and store the normalised MP3 and Opus files.

    `wav_copy`, if given, also receives the normalised audio as 16-bit PCM WAV (for previews and the command line).
    """
    engine = engine or EspeakEngine()
    settings = settings or AudioSettings()
    clock = _Clock(on_progress)
    key = render_key(text, voice, settings, engine=engine, rate=rate)
    with _workdir() as work:
        with clock.stage("synthesise"):
            synth = engine.synthesize(text, voice=voice, rate=rate, workdir=work)
            source = synth.save(work)
            if synth.format != "wav" or synth.sample_rate is None:
                # A service that sends an HTML error page with status 200 is an engine failure, not an audio one.
                try:
                    probe(source, ffprobe=settings.ffprobe, timeout=settings.timeout)
                except InvalidAudio as exc:
                    raise EngineBadOutput(
                        gettext_noop("The speech engine returned something that is not audio: %(detail)s"),
                        detail=exc.args[0],
                    )
        try:
            result = _process(source, work, ContentStore(store_root), settings, clock, wav_copy)
        except SilentAudio:
            raise EngineEmptyOutput(gettext_noop("%(engine)s produced only silence."), engine=engine.name)
    return RenderResult(**{**_fields(result), "key": key, **clock.finish()})


def process_audio(
    source: str | Path,
    *,
    store_root: str | Path,
    settings: AudioSettings | None = None,
    on_progress: ProgressCallback | None = None,
    wav_copy: str | Path | None = None,
) -> RenderResult:
    """Normalise, encode and store an existing recording (an upload, a service's file)."""
    settings = settings or AudioSettings()
    clock = _Clock(on_progress)
    probe(source, ffprobe=settings.ffprobe, timeout=settings.timeout)
    with _workdir() as work:
        result = _process(Path(source), work, ContentStore(store_root), settings, clock, wav_copy)
    return RenderResult(**{**_fields(result), **clock.finish()})


def _fields(result: RenderResult) -> dict:
    return {name: getattr(result, name) for name in result.__dataclass_fields__}


def _process(
    source: Path,
    work: Path,
    store: ContentStore,
    settings: AudioSettings,
    clock: _Clock,
    wav_copy: str | Path | None = None,
) -> RenderResult:
    for chime in (settings.intro, settings.outro):
        if chime is not None:
            probe(chime, ffprobe=settings.ffprobe, timeout=settings.timeout)
    inputs = [p for p in (settings.intro, source, settings.outro) if p is not None]
    speech_index = 1 if settings.intro is not None else 0
    with clock.stage("analyse"):
        segments = _prepare(inputs, speech_index, work, settings)
    ceiling = settings.ceiling_db
    attempts: list[tuple[float, _Rendered, Loudness]] = []
    passes = 0
    for attempt in range(2):
        attempt_dir = work / f"attempt{attempt}"
        attempt_dir.mkdir()
        if settings.method == "loudnorm":
            rendered = _normalise_loudnorm(segments, attempt_dir, settings, ceiling, clock, wav_copy is not None)
        else:
            rendered = _search_gain(segments, attempt_dir, settings, ceiling, clock, wav_copy is not None)
        passes += rendered.passes
        loudness = rendered.measured
        excess = loudness.true_peak_dbtp - settings.max_true_peak
        attempts.append((excess, rendered, loudness))
        # The MP3 encoder adds overshoot between samples, beyond the margin only when the limiter works very hard
        # (targets louder than about −15 LUFS on espeak-ng). Then limit harder once, and keep whichever attempt
        # ends lower: more limiting also means more distortion for the encoder to smooth into new overshoot.
        if excess <= 0:
            break
        ceiling -= excess + 0.2
    _, rendered, loudness = min(attempts, key=lambda a: a[0])
    with clock.stage("store"):
        stored_mp3 = store.put(rendered.mp3, "mp3")
        stored_opus = store.put(rendered.opus, "opus")
        if wav_copy is not None and rendered.wav is not None:
            copy_atomically(rendered.wav, Path(wav_copy))
    return RenderResult(
        mp3=stored_mp3,
        opus=stored_opus,
        duration=loudness.duration,
        loudness_lufs=loudness.integrated_lufs,
        true_peak_dbtp=loudness.true_peak_dbtp,
        gain_db=round(segments[speech_index].gain + rendered.delta, 2),
        normalise_passes=passes,
    )


def _prepare(inputs: list[Path], speech_index: int, work: Path, settings: AudioSettings) -> list[_Segment]:
    """Decode every input to mono float at the working rate and measure its loudness and sample peak (one run)."""
    args: list[str] = []
    graph: list[str] = []
    outputs: list[str] = []
    for i, path in enumerate(inputs):
        args += ["-i", f"file:{Path(path).resolve()}"]
        meta = work / f"analysis{i}.txt"
        graph.append(
            f"[{i}:a:0]aresample={settings.sample_rate},aformat=sample_fmts=flt:channel_layouts=mono,asplit[w{i}][m{i}];"
            f"[m{i}]ebur128=metadata=1:peak=sample,ametadata=mode=print:file={_filter_path(meta)},anullsink"
        )
        outputs += ["-map", f"[w{i}]", "-c:a", "pcm_f32le", f"file:{work / f'segment{i}.wav'}"]
    _ffmpeg([*args, "-filter_complex", ";".join(graph), *outputs], settings, "decode")
    segments = []
    for i, _path in enumerate(inputs):
        values = _read_metadata(work / f"analysis{i}.txt")
        loudness = values.get("lavfi.r128.I", -70.0)
        peak = _db(values.get("lavfi.r128.sample_peak", 0.0))
        if i == speech_index and loudness <= SILENCE_LUFS:
            raise SilentAudio(gettext_noop("The speech is silent: there is nothing to broadcast."))
        # A chime too short or quiet to measure (under 0.4 s) keeps its level, capped by the limiter.
        gain = settings.target_lufs - loudness if loudness > SILENCE_LUFS else 0.0
        pad = settings.chime_gap if i < len(inputs) - 1 else 0.0
        segments.append(_Segment(work / f"segment{i}.wav", loudness, peak, gain, pad))
    return segments


def _program_graph(segments: list[_Segment], delta: float, tail: str) -> tuple[list[str], str]:
    """Return ffmpeg input args and a filtergraph: per-segment gain (+ delta dB), gaps, concat, then `tail`."""
    args: list[str] = []
    parts: list[str] = []
    for i, seg in enumerate(segments):
        args += ["-i", f"file:{seg.path}"]
        chain = f"volume={seg.gain + delta:.3f}dB"
        if seg.pad > 0:
            chain += f",apad=pad_dur={seg.pad:.3f}"
        parts.append(f"[{i}:a]{chain}[s{i}]")
    if len(segments) > 1:
        joined = "".join(f"[s{i}]" for i in range(len(segments)))
        parts.append(f"{joined}concat=n={len(segments)}:v=0:a=1,{tail}")
    else:
        parts[0] = parts[0].removesuffix("[s0]") + f",{tail}"
    return args, ";".join(parts)


def _limiter(ceiling_db: float) -> str:
    # `latency` removes the look-ahead delay; `level=0` stops alimiter from raising the output to full scale.
    limit = min(1.0, max(0.0625, 10 ** (ceiling_db / 20)))
    return f"alimiter=limit={limit:.5f}:attack={LIMITER_ATTACK_MS}:release={LIMITER_RELEASE_MS}:level=0:latency=1"


@dataclass
class _Rendered:
    """The encoded files of one normalisation, and how it got there."""

    mp3: Path
    opus: Path
    wav: Path | None  # 16-bit PCM copy, when asked for
    delta: float  # dB added to every segment's own gain
    passes: int
    measured: Loudness  # of the MP3


def _measure_pass(segments: list[_Segment], delta: float, chain: str, work: Path, settings: AudioSettings) -> float:
    """Run the program through `chain` and return its integrated loudness, writing nothing else."""
    meta = work / "pass.txt"
    meta.unlink(missing_ok=True)
    measure = f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={_filter_path(meta)}"
    args, graph = _program_graph(segments, delta, f"{chain},{measure}[m]")
    _ffmpeg([*args, "-filter_complex", graph, "-map", "[m]", "-f", "null", "-"], settings, "normalise")
    return _pass_loudness(meta)


def _pass_loudness(meta: Path) -> float:
    values = _read_metadata(meta)
    if "lavfi.r128.I" not in values:
        raise AudioToolFailed(gettext_noop("ffmpeg did not report the loudness of %(name)s."), name="normalise")
    return values["lavfi.r128.I"]


def _encode_pass(
    segments: list[_Segment],
    delta: float,
    chain: str,
    work: Path,
    settings: AudioSettings,
    clock: _Clock,
    tag: str,
    wav: bool,
) -> tuple[float, Path, Path, Path | None, Loudness]:
    """Run the program through `chain` into MP3 and Opus (and WAV); return its loudness, the files, the MP3's.

    Two ffmpeg runs in parallel, each applying the (cheap) chain itself: one measures the program and writes the
    MP3 (and WAV), the other writes the Opus file. The MP3 is measured as soon as it is complete, while the Opus
    encoder may still be running. Writing the files in the same run as the measurement saves a pass over the audio
    and two ffmpeg start-ups (≈0.1 s of CPU each: ffmpeg links some 200 libraries).
    """
    mp3, opus, pcm = work / f"{tag}.mp3", work / f"{tag}.opus", (work / f"{tag}.wav" if wav else None)
    meta = work / f"{tag}.txt"
    mp3_gain = _mp3_gain_db(
        settings.ffmpeg, settings.sample_rate, settings.mp3_bitrate, settings.mp3_quality, settings.timeout
    )
    measure = f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={_filter_path(meta)}"
    splits = 3 if pcm else 2
    tail = f"{chain},asplit={splits}[m][e]{'[w]' if pcm else ''};[m]{measure},anullsink;[e]volume={-mp3_gain:.3f}dB[o]"
    args, graph = _program_graph(segments, delta, tail)
    # bitexact and no metadata: the same audio always gives the same bytes (Ogg serial numbers are random
    # otherwise), so identical renders share one stored file.
    exact = ["-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact"]
    mp3_args = [*args, "-filter_complex", graph, "-map", "[o]", *exact, "-c:a", "libmp3lame"]
    mp3_args += ["-b:a", f"{settings.mp3_bitrate}k", "-compression_level", str(settings.mp3_quality)]
    mp3_args += ["-id3v2_version", "0", "-write_id3v1", "0", "-f", "mp3", f"file:{mp3}"]
    if pcm:
        mp3_args += ["-map", "[w]", "-map_metadata", "-1", "-c:a", "pcm_s16le", f"file:{pcm}"]
    opus_inputs, opus_graph = _program_graph(segments, delta, f"{chain}[o]")
    # "audio" (CELT) with constrained VBR encodes this voice twice as fast as "voip" (SILK) at the same complexity.
    opus_args = [*opus_inputs, "-filter_complex", opus_graph, "-map", "[o]", *exact, "-c:a", "libopus"]
    opus_args += ["-b:a", f"{settings.opus_bitrate}k", "-vbr", "constrained", "-application", "audio"]
    opus_args += ["-compression_level", str(settings.opus_complexity), "-f", "opus", f"file:{opus}"]

    def timed(name: str, fn, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            clock.add(name, time.perf_counter() - start)  # from worker threads: distinct keys, GIL-atomic updates

    with ThreadPoolExecutor(max_workers=2) as pool:
        opus_job = pool.submit(timed, "encode_opus", _ffmpeg, opus_args, settings, "Opus")
        mp3_job = pool.submit(timed, "encode_mp3", _ffmpeg, mp3_args, settings, "MP3")
        measure_job = None
        if mp3_job.exception() is None:  # waits for the MP3 run only
            measure_job = pool.submit(timed, "measure", _measure, mp3, settings)
        for job in (mp3_job, opus_job, measure_job):
            if job is not None:
                job.result()  # raises the first failure; the pool waits for every job before leaving
    return _pass_loudness(meta), mp3, opus, pcm, measure_job.result()


def _search_gain(
    segments: list[_Segment],
    work: Path,
    settings: AudioSettings,
    ceiling: float,
    clock: _Clock,
    wav: bool,
    max_passes: int = 5,
) -> _Rendered:
    """Find the extra gain (dB, for all segments) that puts the limited program on the target, and encode it.

    Passes that are unlikely to be the last only measure; the others measure and encode at once, and the encoding
    is kept if the measurement lands within the tolerance (usually pass 2 at −16 LUFS, pass 1 when the limiter has
    little to do).
    """
    target = settings.target_lufs
    limiter = _limiter(ceiling)
    # Below this extra gain the limiter does nothing, so loudness follows gain one for one: a free first point.
    knee = ceiling - max(seg.peak + seg.gain for seg in segments)
    points: list[tuple[float, float]] = [(knee, target + knee)] if knee < 0 else []
    delta = 0.0
    best: tuple[float, float, tuple] | None = None  # (|error|, delta, _encode_pass result)
    passes = 0
    clock.report("normalise")
    for k in range(max_passes):
        # The limiter barely touching the peaks costs well under the tolerance; otherwise pass 1 only measures.
        encode = k > 0 or knee > -1.0 or k == max_passes - 1
        with clock.stage("encode" if encode else "normalise"):
            if encode:
                encoded = _encode_pass(segments, delta, limiter, work, settings, clock, f"pass{k}", wav)
                loudness = encoded[0]
            else:
                loudness = _measure_pass(segments, delta, limiter, work, settings)
        passes += 1
        error = target - loudness
        if encode and (best is None or abs(error) < best[0]):
            best = (abs(error), delta, encoded)
        if best is not None and best[0] <= LOUDNESS_TOLERANCE:
            break
        if abs(error) <= LOUDNESS_TOLERANCE:
            continue  # on target but only measured: encode the same gain
        points.append((delta, loudness))
        slope, step = 1.0, 1.0
        if len(points) >= 2:
            (d1, l1), (d2, l2) = points[-2], points[-1]
            if abs(d2 - d1) > 1e-6:
                slope = (l2 - l1) / (d2 - d1)
            if d1 == knee:
                # Loudness flattens as the limiter works harder, so the slope from the knee overstates the slope
                # ahead; on espeak-ng's voices the step it suggests falls 25–40 % short. Lengthen the first step
                # (the secant between measured points takes over from the next one).
                step = KNEE_STEP_FACTOR
        # Never assume loudness rises faster than gain, or that it stalls.
        delta += step * error / min(1.0, max(0.2, slope))
    assert best is not None
    _, delta, (_, mp3, opus, pcm, measured) = best
    return _Rendered(mp3, opus, pcm, delta, passes, measured)


def _normalise_loudnorm(
    segments: list[_Segment], work: Path, settings: AudioSettings, ceiling: float, clock: _Clock, wav: bool
) -> _Rendered:
    """ffmpeg loudnorm, two passes with the measured values; then the limiter method's gain search on its output.

    On espeak-ng speech loudnorm cannot use its linear mode (the peaks sit 19–20 dB over the loudness, 15 dB is
    allowed at −16 LUFS / −1 dBTP), and its dynamic mode ends 1–2.5 LU under the target, so the correction is
    needed; it is a linear gain and the same look-ahead limiter, usually one or two passes.
    """
    target = settings.target_lufs
    base = f"loudnorm=I={target:.2f}:TP={ceiling:.2f}:LRA={settings.lra:.1f}"
    with clock.stage("normalise"):
        args, graph = _program_graph(segments, 0.0, f"{base}:print_format=json[m]")
        # loudnorm prints its measurement at "info" level only, so this one run cannot use "-loglevel error".
        result = _ffmpeg(
            [*args, "-filter_complex", graph, "-map", "[m]", "-f", "null", "-"], settings, "analyse", loglevel="info"
        )
        measured = _loudnorm_json(result.stderr)
        second = (
            f"{base}:measured_I={measured['input_i']}:measured_TP={measured['input_tp']}"
            f":measured_LRA={measured['input_lra']}:measured_thresh={measured['input_thresh']}"
            f":offset={measured['target_offset']}:linear=true:print_format=none"
            # loudnorm works at 192 kHz in its dynamic mode; come back to the working rate.
            f",aresample={settings.sample_rate},aformat=sample_fmts=flt:channel_layouts=mono"
        )
        out, meta = work / "loudnorm.wav", work / "loudnorm.txt"
        measure = f"ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file={_filter_path(meta)}"
        args, graph = _program_graph(segments, 0.0, f"{second},asplit[o][m];[m]{measure},anullsink")
        _ffmpeg(
            [*args, "-filter_complex", graph, "-map", "[o]", "-c:a", "pcm_f32le", f"file:{out}"], settings, "loudnorm"
        )
        loudness = _pass_loudness(meta)
    # loudnorm kept true peaks under the ceiling, so the sample peak is at most the ceiling.
    corrected = _Segment(out, loudness, ceiling, target - loudness)
    rendered = _search_gain([corrected], work, settings, ceiling, clock, wav)
    rendered.delta += corrected.gain
    rendered.passes += 2
    return rendered


def _loudnorm_json(stderr: bytes) -> dict[str, str]:
    text = stderr.decode("utf-8", "replace")
    start, end = text.rfind("{"), text.rfind("}")
    try:
        data = json.loads(text[start : end + 1])
        return {k: data[k] for k in ("input_i", "input_tp", "input_lra", "input_thresh", "target_offset")}
    except (ValueError, KeyError):
        raise AudioToolFailed(gettext_noop("ffmpeg did not report the loudness of %(name)s."), name="loudnorm")


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
