"""`nguon speak "văn bản" -o out.mp3`: normalise, synthesise and loudness-normalise one text into a file.

Defaults come from the installation's settings (NGUON_TTS_ENGINE, NGUON_TTS_VOICE, NGUON_LOUDNESS_TARGET, chimes…);
the options override them for this one file.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from nguon.speech.audio import copy_atomically, measure_loudness, render
from nguon.speech.engines import ESPEAK_VOICES, PiperEngine, SpeechError

FORMATS = (".mp3", ".opus", ".wav")


class Command(BaseCommand):
    help = "Speak a Vietnamese text into an MP3, Opus or WAV file, normalised to the broadcast loudness."

    def add_arguments(self, parser):
        parser.add_argument("text", help='the text, or "-" to read it from standard input')
        parser.add_argument("-o", "--output", required=True, help="the file to write: .mp3, .opus or .wav")
        parser.add_argument(
            "--voice", help=f"{', '.join(ESPEAK_VOICES)} or an engine's voice name (default: the province's region)"
        )
        parser.add_argument("--engine", choices=["espeak", "piper", "http"], help="default: NGUON_TTS_ENGINE")
        parser.add_argument("--piper-model", help="a Piper voice file (.onnx) for --engine piper")
        parser.add_argument("--rate", type=int, help="speaking rate, percent of normal (25–400)")
        parser.add_argument("--target-lufs", type=float, help="integrated loudness (default: NGUON_LOUDNESS_TARGET)")
        parser.add_argument("--true-peak", type=float, help="maximum true peak, dBTP (default: NGUON_TRUE_PEAK_MAX)")
        parser.add_argument("--method", choices=["limiter", "loudnorm"], help="loudness method (default: limiter)")
        parser.add_argument("--intro", help="a chime to play before the speech")
        parser.add_argument("--outro", help="a chime to play after the speech")
        parser.add_argument("--no-chimes", action="store_true", help="leave out the configured chimes")
        parser.add_argument("--raw", action="store_true", help="do not normalise the text (already spelled out)")

    def handle(self, *args, **options):
        from nguon.speech import config  # reads settings; imported here so the module loads without them

        output = Path(options["output"])
        suffix = output.suffix.lower()
        if suffix not in FORMATS:
            raise CommandError(_("The output file must end in .mp3, .opus or .wav."))
        if not output.parent.is_dir():
            raise CommandError(_("The folder %(path)s does not exist.") % {"path": output.parent})
        text = sys.stdin.read() if options["text"] == "-" else options["text"]
        if not options["raw"]:
            from nguon.speech.normalize import normalize

            text = normalize(text)
        if not text.strip():
            raise CommandError(_("There is nothing to speak in this text."))
        try:
            audio_settings = self._audio_settings(config.audio_settings(), options)
            engine = self._engine(config, options)
            with tempfile.TemporaryDirectory(prefix="nguon-speak-") as store:
                wav = Path(store) / "speech.wav" if suffix == ".wav" else None
                result = render(
                    text,
                    store_root=store,
                    engine=engine,
                    voice=options["voice"] or config.default_voice(),
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
            self.stdout.write(", ".join(f"{stage} {seconds:.2f}s" for stage, seconds in result.timings.items()))

    def _audio_settings(self, base, options):
        changes = {}
        for option, name in (("target_lufs", "target_lufs"), ("true_peak", "max_true_peak"), ("method", "method")):
            if options[option] is not None:
                changes[name] = options[option]
        if options["no_chimes"]:
            changes.update(intro=None, outro=None)
        for name in ("intro", "outro"):
            if options[name]:
                changes[name] = Path(options[name])
        try:
            return dataclasses.replace(base, **changes)
        except ValueError as exc:
            raise CommandError(str(exc))

    def _engine(self, config, options):
        if options["piper_model"]:
            if options["engine"] not in (None, "piper"):
                raise CommandError(_("--piper-model goes with --engine piper."))
            return PiperEngine(options["piper_model"])
        return config.make_engine(options["engine"])

    def _progress(self, stage: str, fraction: float) -> None:
        self.stderr.write(f"{fraction:4.0%} {stage}")
