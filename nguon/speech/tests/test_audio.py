"""The audio pipeline with the real espeak-ng and ffmpeg: loudness on target, chimes, the content store, probing
bad files, and failing engines that must leave nothing behind."""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
import unicodedata
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from nguon.speech.audio import (
    STAGES,
    AudioSettings,
    ContentStore,
    InvalidAudio,
    measure_loudness,
    probe,
    process_audio,
    render,
    render_key,
)
from nguon.speech.engines import (
    EngineBadOutput,
    EngineCrashed,
    EngineEmptyOutput,
    EngineTimeout,
    EspeakEngine,
    HttpEngine,
    SynthResult,
)
from nguon.speech.management.commands.speak import Command as SpeakCommand

TEXT = (
    "ủy ban nhân dân xã phú hữu thông báo: từ bảy giờ sáng ngày hai mươi ba tháng năm, "
    "trạm y tế xã tổ chức tiêm chủng cho trẻ em dưới năm tuổi. đề nghị các gia đình đưa trẻ đến đúng giờ."
)
# The MP3 encoder smooths and requantises the limited waveform; its peaks between samples may rise a little over
# the PCM's. The limiter sits 1 dB under the limit for that (AudioSettings.peak_margin); the test allows 0.3 dB
# beyond the limit on top, so a codec change that eats the whole margin fails loudly instead of by a hair.
MP3_TRUE_PEAK_TOLERANCE = 0.3
LOUDNESS_TOLERANCE = 1.0  # LU, the requirement; the pipeline aims at 0.15


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One render at the default settings, shared by the tests that only read it."""
    store = tmp_path_factory.mktemp("store")
    stages: list[tuple[str, float]] = []
    result = render(TEXT, store_root=store, voice="south", on_progress=lambda s, f: stages.append((s, f)))
    return result, store, stages


@pytest.fixture(scope="module")
def chime(tmp_path_factory) -> Path:
    """A two-tone 1.2 s chime at 44.1 kHz stereo, deliberately unlike the speech's format and level."""
    path = tmp_path_factory.mktemp("chime") / "chime.wav"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=880:sample_rate=44100:duration=0.6",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=660:sample_rate=44100:duration=0.6",
        "-filter_complex",
        "[0][1]concat=n=2:v=0:a=1,volume=0.3,afade=t=out:st=1.0:d=0.2,aformat=channel_layouts=stereo",
        str(path),
    )
    return path


@pytest.fixture
def isolated_tmp(tmp_path, monkeypatch) -> Path:
    """Point the pipeline's temporary files at a directory the test can inspect."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


# --- loudness -----------------------------------------------------------------------------------------


def test_render_hits_the_default_loudness_target_on_the_final_mp3(rendered):
    result, _, _ = rendered
    measured = measure_loudness(result.mp3.path)
    assert abs(measured.integrated_lufs - (-16.0)) <= LOUDNESS_TOLERANCE
    assert measured.true_peak_dbtp <= -1.0 + MP3_TRUE_PEAK_TOLERANCE
    assert measured.integrated_lufs == pytest.approx(result.loudness_lufs, abs=0.05)
    assert measured.true_peak_dbtp == pytest.approx(result.true_peak_dbtp, abs=0.05)
    assert 5 < result.duration < 20


def test_render_hits_a_second_target(tmp_path):
    result = render(TEXT, store_root=tmp_path, settings=AudioSettings(target_lufs=-20.0))
    measured = measure_loudness(result.mp3.path)
    assert abs(measured.integrated_lufs - (-20.0)) <= LOUDNESS_TOLERANCE
    assert measured.true_peak_dbtp <= -1.0 + MP3_TRUE_PEAK_TOLERANCE


def test_loudnorm_method_hits_the_target_too(tmp_path):
    settings = AudioSettings(method="loudnorm", target_lufs=-18.0)
    result = render(TEXT, store_root=tmp_path, settings=settings)
    measured = measure_loudness(result.mp3.path)
    assert abs(measured.integrated_lufs - (-18.0)) <= LOUDNESS_TOLERANCE
    assert measured.true_peak_dbtp <= -1.0 + MP3_TRUE_PEAK_TOLERANCE


def test_measure_loudness_agrees_with_the_r128_reference_tone(tmp_path):
    # A 1 kHz sine with a peak of −20 dBFS has an RMS of −23 dBFS: −23.0 LUFS, true peak −20 dBTP.
    tone = tmp_path / "tone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=5", "-af", "volume=0.8", str(tone))
    measured = measure_loudness(tone)
    assert measured.integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert measured.true_peak_dbtp == pytest.approx(-20.0, abs=0.1)
    assert measured.duration == pytest.approx(5.0, abs=0.01)


# --- chimes -------------------------------------------------------------------------------------------


def test_chimes_are_concatenated_and_normalised_with_the_speech(rendered, chime, tmp_path):
    plain, _, _ = rendered
    settings = AudioSettings(intro=chime, outro=chime, chime_gap=0.3)
    result = render(TEXT, store_root=tmp_path, settings=settings)
    # Two 1.2 s chimes and two 0.3 s gaps, give or take the encoder's frame padding.
    assert result.duration == pytest.approx(plain.duration + 3.0, abs=0.15)
    measured = measure_loudness(result.mp3.path)
    assert abs(measured.integrated_lufs - (-16.0)) <= LOUDNESS_TOLERANCE
    assert measured.true_peak_dbtp <= -1.0 + MP3_TRUE_PEAK_TOLERANCE
    assert result.mp3.sha256 != plain.mp3.sha256


def test_intro_only_lengthens_by_one_chime(rendered, chime, tmp_path):
    plain, _, _ = rendered
    result = render(TEXT, store_root=tmp_path, settings=AudioSettings(intro=chime, chime_gap=0.0))
    assert result.duration == pytest.approx(plain.duration + 1.2, abs=0.15)


def test_a_chime_that_is_not_audio_is_refused(tmp_path):
    bogus = tmp_path / "chime.mp3"
    bogus.write_bytes(b"%PDF-1.4\n%%EOF\n")
    store = tmp_path / "store"
    with pytest.raises(InvalidAudio, match="not a readable audio file"):
        render(TEXT, store_root=store, settings=AudioSettings(intro=bogus))
    assert files_in(store) == []


# --- the store and the cache key ----------------------------------------------------------------------


def test_files_are_stored_by_their_sha256(rendered):
    result, store, _ = rendered
    for stored, ext in ((result.mp3, "mp3"), (result.opus, "opus")):
        data = stored.path.read_bytes()
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert stored.path == store / stored.sha256[:2] / f"{stored.sha256}.{ext}"
        assert stored.size == len(data)
    assert probe(result.mp3.path).codec == "mp3"
    opus = probe(result.opus.path)
    assert (opus.format, opus.codec) == ("ogg", "opus")
    assert opus.duration == pytest.approx(result.duration, abs=0.1)


def test_same_input_twice_gives_the_same_files_stored_once(rendered):
    first, store, _ = rendered
    second = render(TEXT, store_root=store, voice="south")
    assert (second.mp3.sha256, second.opus.sha256) == (first.mp3.sha256, first.opus.sha256)
    assert second.key == first.key
    assert files_in(store) == sorted([first.mp3.path, first.opus.path])  # no duplicates, no leftovers


def test_render_key_covers_text_voice_engine_and_settings(chime, tmp_path):
    base = render_key(TEXT, "south", AudioSettings())
    assert base == render_key(TEXT, "south", AudioSettings())
    assert base == render_key(unicodedata.normalize("NFD", TEXT), "south", AudioSettings())
    assert len(base) == 64 and int(base, 16) >= 0
    others = {
        render_key(TEXT + " hết.", "south", AudioSettings()),
        render_key(TEXT, "north", AudioSettings()),
        render_key(TEXT, "south", AudioSettings(target_lufs=-20)),
        render_key(TEXT, "south", AudioSettings(), engine="http"),
        render_key(TEXT, "south", AudioSettings(), rate=120),
        render_key(TEXT, "south", AudioSettings(intro=chime)),
    }
    assert base not in others and len(others) == 6
    # Tool paths and timeouts do not change the audio, so they do not change the key.
    assert base == render_key(TEXT, "south", AudioSettings(ffmpeg="/usr/bin/ffmpeg", timeout=10))
    # A chime replaced under the same name is a different chime.
    copy = tmp_path / "chime.wav"
    copy.write_bytes(chime.read_bytes())
    before = render_key(TEXT, "south", AudioSettings(intro=copy))
    copy.write_bytes(chime.read_bytes()[:-1000])
    assert render_key(TEXT, "south", AudioSettings(intro=copy)) != before


def test_store_reuses_an_existing_file_and_leaves_no_temporary_files(tmp_path):
    source = tmp_path / "a.bin"
    source.write_bytes(b"audio bytes")
    store = ContentStore(tmp_path / "store")
    first = store.put(source, "mp3")
    mtime = first.path.stat().st_mtime_ns
    second = store.put(source, "mp3")
    assert second == first and first.path.stat().st_mtime_ns == mtime
    assert files_in(tmp_path / "store") == [first.path]


# --- progress and timings -----------------------------------------------------------------------------


def test_progress_is_reported_for_every_stage_in_order(rendered):
    result, _, stages = rendered
    assert [name for name, _ in stages] == list(STAGES)
    fractions = [fraction for _, fraction in stages]
    assert fractions == sorted(fractions) and all(0 <= f < 1 for f in fractions)
    for stage in ("synthesise", "analyse", "normalise", "encode", "encode_mp3", "encode_opus", "measure", "store"):
        assert result.timings[stage] >= 0
    assert result.timings["total"] >= result.timings["synthesise"] + result.timings["normalise"]
    assert result.normalise_passes >= 1


# --- probing bad files --------------------------------------------------------------------------------


def test_probe_rejects_a_pdf_named_mp3(tmp_path):
    fake = tmp_path / "bulletin.mp3"
    fake.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n" * 20 + b"%%EOF\n")
    with pytest.raises(InvalidAudio, match="bulletin.mp3 is not a readable audio file"):
        probe(fake)


@pytest.mark.parametrize("ext", ["mp3", "opus"])
def test_probe_rejects_a_truncated_file(rendered, tmp_path, ext):
    result, _, _ = rendered
    stored = result.mp3 if ext == "mp3" else result.opus
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(stored.path.read_bytes()[: stored.size // 2])
    with pytest.raises(InvalidAudio, match="cut.* is truncated"):
        probe(cut)


def test_probe_rejects_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    with pytest.raises(InvalidAudio, match="empty"):
        probe(empty)
    with pytest.raises(InvalidAudio, match="cannot be read"):
        probe(tmp_path / "missing.mp3")


def test_process_audio_normalises_an_upload_and_refuses_a_fake(rendered, tmp_path):
    result, _, _ = rendered
    loud = tmp_path / "upload.wav"
    ffmpeg("-i", str(result.mp3.path), "-af", "volume=-12dB", "-ar", "44100", "-ac", "2", str(loud))
    store = tmp_path / "store"
    normalised = process_audio(loud, store_root=store)
    assert abs(measure_loudness(normalised.mp3.path).integrated_lufs - (-16.0)) <= LOUDNESS_TOLERANCE
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(b"%PDF-1.4\n" + b"0" * 4000)
    other = tmp_path / "other-store"
    with pytest.raises(InvalidAudio):
        process_audio(fake, store_root=other)
    assert files_in(other) == []


# --- failing engines leave nothing behind -------------------------------------------------------------


def test_crashing_engine_raises_and_leaves_no_files(tmp_path, isolated_tmp):
    crash = script(tmp_path / "espeak-crash", "echo 'voice data damaged' >&2\nexit 1\n")
    store = tmp_path / "store"
    with pytest.raises(EngineCrashed, match="voice data damaged"):
        render(TEXT, store_root=store, engine=EspeakEngine(binary=str(crash)))
    assert files_in(store) == []
    assert list(isolated_tmp.iterdir()) == []


def test_hanging_engine_times_out_and_leaves_no_files(tmp_path, isolated_tmp):
    hang = script(tmp_path / "espeak-hang", "sleep 600\n")
    store = tmp_path / "store"
    with pytest.raises(EngineTimeout):
        render(TEXT, store_root=store, engine=EspeakEngine(binary=str(hang), timeout=1.0))
    assert files_in(store) == []
    assert list(isolated_tmp.iterdir()) == []


class SilentEngine(EspeakEngine):
    """Speaks two seconds of digital silence with a little noise floor under the gate (a broken voice)."""

    name = "silent"

    def synthesize(self, text, *, voice, rate=None, workdir=None):
        out = Path(workdir) / "silence.wav"
        ffmpeg("-f", "lavfi", "-i", "anoisesrc=amplitude=0.00001:duration=2:seed=1", str(out))
        return SynthResult(path=out, sample_rate=48000)


def test_engine_that_speaks_only_silence_is_an_engine_error(tmp_path, isolated_tmp):
    store = tmp_path / "store"
    with pytest.raises(EngineEmptyOutput, match="silence"):
        render(TEXT, store_root=store, engine=SilentEngine())
    assert files_in(store) == []
    assert list(isolated_tmp.iterdir()) == []


class HtmlEngine(HttpEngine):
    """A service that answers 200 with an HTML maintenance page instead of audio."""

    def __init__(self):
        super().__init__(api_key="k", url="http://127.0.0.1:9/")

    def synthesize(self, text, *, voice, rate=None, workdir=None):
        return SynthResult(data=b"<html><body>B\xe1\xba\xa3o tr\xc3\xac</body></html>" * 10, format="mp3")


def test_engine_output_that_is_not_audio_is_an_engine_error(tmp_path):
    store = tmp_path / "store"
    with pytest.raises(EngineBadOutput, match="not audio"):
        render(TEXT, store_root=store, engine=HtmlEngine())
    assert files_in(store) == []


# --- the command --------------------------------------------------------------------------------------


@pytest.mark.parametrize("ext", ["mp3", "opus", "wav"])
def test_speak_command_writes_the_requested_format(tmp_path, ext):
    out = tmp_path / f"out.{ext}"
    stdout = StringIO()
    call_command(
        SpeakCommand(),
        "UBND xã Phú Hữu thông báo: ngày 23/5/2024 lúc 14h30 họp dân tại nhà văn hóa ấp 3.",
        "-o",
        str(out),
        "--voice",
        "south",
        "--target-lufs",
        "-18",
        stdout=stdout,
    )
    info = probe(out)
    assert info.codec == {"mp3": "mp3", "opus": "opus", "wav": "pcm_s16le"}[ext]
    measured = measure_loudness(out)
    assert abs(measured.integrated_lufs - (-18.0)) <= LOUDNESS_TOLERANCE
    assert "LUFS" in stdout.getvalue() and str(out) in stdout.getvalue()
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary file beside it


def test_speak_command_refuses_unknown_formats_and_empty_text(tmp_path):
    with pytest.raises(CommandError, match=r"\.mp3"):
        call_command(SpeakCommand(), "xin chào", "-o", str(tmp_path / "out.ogg"))
    with pytest.raises(CommandError):
        call_command(SpeakCommand(), "   ", "-o", str(tmp_path / "out.mp3"))
    assert list(tmp_path.iterdir()) == []


def test_speak_command_reports_engine_errors_as_command_errors(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command(SpeakCommand(), "xin chào", "-o", str(tmp_path / "out.mp3"), "--piper-model", "/nope.onnx")
    with pytest.raises(CommandError, match="target_lufs"):
        call_command(SpeakCommand(), "xin chào", "-o", str(tmp_path / "out.mp3"), "--target-lufs", "3")
    assert list(tmp_path.iterdir()) == []
