"""The alert's sound: attention tone, then the spoken message, repeated; one MP3 loudspeakers play as it is.

The speech comes from the speech pipeline (normalised to the loudness target, cached). The tone is a file the
operator configures (NGUON_ALERT_TONE) or a generated two-tone signal (853 Hz + 960 Hz, the pair broadcast
emergency systems use because it carries over noise), set to the same loudness target.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

from nguon.speech import config
from nguon.speech.audio import _ffmpeg, probe
from nguon.speech.normalize import normalize

GAP_SECONDS = 1.0


def spoken_text(alert) -> str:
    """What loudspeakers say: a drill says so first; then the event, the headline, what happens, what to do."""
    from nguon.speech.actions import lexicon_for

    opening = "Đây là tin diễn tập, không phải tình huống thật." if alert.is_drill else "Thông báo khẩn cấp."
    parts = [opening, alert.headline, alert.description, alert.instruction]
    text = "\n".join(p.strip().rstrip(".") + "." for p in parts if p and p.strip())
    return normalize(text, lexicon=lexicon_for(alert.unit))


def _tone_args(seconds: float, target_lufs: float, rate: int) -> list[str]:
    configured = settings.ALERT_TONE
    if configured:
        probe(configured)
        return ["-i", f"file:{Path(configured).resolve()}"]
    # Loudness ≈ −0.691 + 10·log10(mean square) near 1 kHz (BS.1770, K-weighting ≈ 0 dB there). Two sines of
    # amplitude a have a mean square of a², so a = 10^((L + 0.691) / 20).
    amplitude = 10 ** ((target_lufs + 0.691) / 20)
    expression = f"{amplitude:.4f}*sin(2*PI*853*t)+{amplitude:.4f}*sin(2*PI*960*t)"
    return ["-f", "lavfi", "-i", f"aevalsrc={expression}:s={rate}:d={seconds}"]


def compose(speech_mp3: Path, out: Path, *, repeat: int) -> None:
    """Write tone + gap + speech + gap, `repeat` times, as one MP3 at the pipeline's format."""
    audio = config.audio_settings()
    rate = audio.sample_rate
    args = [*_tone_args(settings.ALERT_TONE_SECONDS, audio.target_lufs, rate), "-i", f"file:{speech_mp3.resolve()}"]
    prep = (
        f"[0:a]aresample={rate},aformat=sample_fmts=flt:channel_layouts=mono,apad=pad_dur={GAP_SECONDS / 2},"
        f"asplit={repeat}" + "".join(f"[t{i}]" for i in range(repeat)) + ";"
        f"[1:a]aresample={rate},aformat=sample_fmts=flt:channel_layouts=mono,apad=pad_dur={GAP_SECONDS},"
        f"asplit={repeat}" + "".join(f"[s{i}]" for i in range(repeat)) + ";"
    )
    joined = "".join(f"[t{i}][s{i}]" for i in range(repeat))
    graph = prep + f"{joined}concat=n={2 * repeat}:v=0:a=1[out]"
    _ffmpeg(
        [*args, "-filter_complex", graph, "-map", "[out]", "-c:a", "libmp3lame", "-b:a", f"{audio.mp3_bitrate}k",
         "-ar", str(rate), "-ac", "1", f"file:{out}"],
        audio,
        "alert audio",
    )  # fmt: skip


def render_alert_audio(alert):
    """Compose the alert's MP3 from its finished speech render and store it in the media library."""
    from nguon.content.media import store_generated_audio

    speech = alert.speech
    with tempfile.TemporaryDirectory(prefix="nguon-alert-") as tmp:
        source, out = Path(tmp) / "speech.mp3", Path(tmp) / "alert.mp3"
        with speech.mp3.file.open("rb") as stored, source.open("wb") as copy:  # storage may be S3
            shutil.copyfileobj(stored, copy)
        compose(source, out, repeat=alert.repeat)
        found = probe(out)
        sha = hashlib.sha256(out.read_bytes()).hexdigest()
        return store_generated_audio(
            out, sha=sha, extension="mp3", mime_type="audio/mpeg", duration=found.duration,
            loudness=(speech.loudness_lufs, speech.true_peak_dbtp), unit=alert.unit, title=alert.headline,
        )  # fmt: skip
