"""Loudness normalisation: per-segment gain, the look-ahead limiter, the gain search and the loudnorm method."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nguon.speech.audio.errors import AudioToolFailed
from nguon.speech.audio.measure import Loudness, _measure, _mp3_gain_db
from nguon.speech.audio.progress import _Clock
from nguon.speech.audio.settings import AudioSettings
from nguon.speech.audio.tools import _ffmpeg, _filter_path, _read_metadata
from nguon.speech.engines import gettext_noop

LOUDNESS_TOLERANCE = 0.2  # LU; the limiter method stops correcting within this distance of the target
KNEE_STEP_FACTOR = 1.3
# Short attack and release act on single glottal pulses (espeak-ng's peaks), which costs less loudness than
# holding the gain down for a whole syllable: at −16 LUFS, 1/10 ms needs ≈6 dB of gain where 10/200 ms needs ≈14.
LIMITER_ATTACK_MS = 1
LIMITER_RELEASE_MS = 10


@dataclass
class _Segment:
    path: Path  # float WAV at the working sample rate
    loudness: float  # LUFS
    peak: float  # sample peak, dBFS
    gain: float = 0.0  # dB that brings it to the target
    pad: float = 0.0  # seconds of silence after it


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
