"""The pipeline: `render` (text through an engine) and `process_audio` (an existing recording)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from nguon.speech.audio.errors import InvalidAudio, SilentAudio
from nguon.speech.audio.levelling import _normalise_loudnorm, _Rendered, _search_gain, _Segment
from nguon.speech.audio.measure import Loudness
from nguon.speech.audio.probe import probe
from nguon.speech.audio.progress import ProgressCallback, _Clock
from nguon.speech.audio.settings import AudioSettings, render_key
from nguon.speech.audio.store import ContentStore, StoredFile, copy_atomically
from nguon.speech.audio.tools import _db, _ffmpeg, _filter_path, _read_metadata, _workdir
from nguon.speech.engines import DEFAULT_VOICE, Engine, EngineBadOutput, EngineEmptyOutput, EspeakEngine, gettext_noop

SILENCE_LUFS = -69.0  # ebur128 reports −70 LUFS when nothing passes the absolute gate


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
