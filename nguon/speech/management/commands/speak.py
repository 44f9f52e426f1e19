"""`nguon speak "văn bản" -o out.mp3`: normalise, synthesise and loudness-normalise one text into a file."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.lib.env import env_str
from nguon.speech.audio import AudioSettings, copy_atomically, measure_loudness, render
from nguon.speech.engines import ESPEAK_VOICES, SpeechError, make_engine, voice_for_province

FORMATS = (".mp3", ".opus", ".wav")


class Command(BaseCommand):
    help = "Speak a Vietnamese text into an MP3, Opus or WAV file, normalised to the broadcast loudness."

    def add_arguments(self, parser):
        parser.add_argument("text", help='the text, or "-" to read it from standard input')
        parser.add_argument("-o", "--output", required=True, help="the file to write: .mp3, .opus or .wav")
        parser.add_argument(
            "--voice",
            help=f"{', '.join(ESPEAK_VOICES)} or an engine voice name (default: the province's region)",
        )
        parser.add_argument("--engine", choices=["espeak", "piper", "http"], default="espeak")
        parser.add_argument("--piper-model", help="the Piper voice file (.onnx) for --engine piper")
        parser.add_argument("--rate", type=int, help="speaking rate, percent of normal (25–400)")
        parser.add_argument("--target-lufs", type=float, default=-16.0, help="integrated loudness (default −16)")
        parser.add_argument("--true-peak", type=float, default=-1.0, help="maximum true peak, dBTP (default −1)")
        parser.add_argument("--method", choices=["limiter", "loudnorm"], default="limiter")
        parser.add_argument("--intro", help="a chime to play before the speech")
        parser.add_argument("--outro", help="a chime to play after the speech")
        parser.add_argument("--raw", action="store_true", help="do not normalise the text (already spelled out)")

    def handle(self, *args, **options):
        output = Path(options["output"])
        suffix = output.suffix.lower()
        if suffix not in FORMATS:
            raise CommandError(_("The output file must end in .mp3, .opus or .wav."))
        if not output.parent.is_dir():
            raise CommandError(_("The folder %(path)s does not exist.") % {"path": output.parent})
        text = sys.stdin.read() if options["text"] == "-" else options["text"]
        if not options["raw"]:
            # Imported here: the normaliser is a separate module with its own tables, only needed for this path.
            from nguon.speech.normalize import normalize

            text = normalize(text)
        if not text.strip():
            raise CommandError(_("There is nothing to speak in this text."))
        voice = options["voice"] or voice_for_province(getattr(django_settings, "DEFAULT_PROVINCE", ""))
        try:
            audio_settings = AudioSettings(
                target_lufs=options["target_lufs"],
                max_true_peak=options["true_peak"],
                method=options["method"],
                intro=Path(options["intro"]) if options["intro"] else None,
                outro=Path(options["outro"]) if options["outro"] else None,
            )
        except ValueError as exc:
            raise CommandError(str(exc))
        try:
            engine = self._engine(options)
            with tempfile.TemporaryDirectory(prefix="nguon-speak-") as store:
                wav = Path(store) / "speech.wav" if suffix == ".wav" else None
                result = render(
                    text,
                    store_root=store,
                    engine=engine,
                    voice=voice,
                    rate=options["rate"],
                    settings=audio_settings,
                    on_progress=self._progress if options["verbosity"] >= 2 else None,
                    wav_copy=wav,
                )
                produced = {".mp3": result.mp3.path, ".opus": result.opus.path, ".wav": wav}[suffix]
                copy_atomically(produced, output)
            measured = measure_loudness(output)
        except SpeechError as exc:
            raise CommandError(str(exc))
        self.stdout.write(
            _(
                "%(path)s: %(duration).1f s, loudness %(lufs).1f LUFS, true peak %(peak).1f dBTP"
                " (target %(target).1f LUFS)"
            )
            % {
                "path": output,
                "duration": measured.duration,
                "lufs": measured.integrated_lufs,
                "peak": measured.true_peak_dbtp,
                "target": audio_settings.target_lufs,
            }
        )
        if options["verbosity"] >= 2:
            timings = ", ".join(f"{stage} {seconds:.2f}s" for stage, seconds in result.timings.items())
            self.stdout.write(timings)

    def _engine(self, options):
        if options["engine"] == "piper":
            if not options["piper_model"]:
                raise CommandError(_("--engine piper needs --piper-model, the path of a voice file."))
            return make_engine("piper", model_path=options["piper_model"])
        if options["engine"] == "http":
            return make_engine(
                "http",
                api_key=env_str("NGUON_TTS_API_KEY"),
                url=env_str("NGUON_TTS_URL", "https://api.fpt.ai/hmi/tts/v5"),
            )
        return make_engine("espeak")

    def _progress(self, stage: str, fraction: float) -> None:
        self.stderr.write(f"{fraction:4.0%} {stage}")
