"""espeak-ng's speaking speed on normalised Vietnamese, per voice and NGUON_TTS_RATE, against the table that
`nguon.speech.duration` estimates bulletin length from (re-measure it here when espeak-ng or the normaliser change).

Speaks the benchmark bulletin (`normalize_bench.bulletin()`, normalised, sentence ends as `EspeakEngine` sends
them) and reports spoken words per minute, the table's figure and the estimate's error in percent.
"""

from __future__ import annotations

import tempfile
import wave
from pathlib import Path


def run() -> dict:
    from bench.normalize_bench import bulletin
    from nguon.speech.duration import estimate_seconds, words_per_minute
    from nguon.speech.engines import EspeakEngine
    from nguon.speech.normalize import normalize

    text = normalize(bulletin(500))
    words = len(text.split())
    engine = EspeakEngine()
    results: dict = {"spoken_words": words, "voices": {}}
    with tempfile.TemporaryDirectory(prefix="nguon-bench-rate-") as tmp:
        for voice in ("south", "north", "central"):
            per_rate = {}
            for rate in (50, 75, 100, 150, 200):
                synth = engine.synthesize(text, voice=voice, rate=None if rate == 100 else rate, workdir=Path(tmp))
                with wave.open(str(synth.path), "rb") as wav:
                    seconds = wav.getnframes() / wav.getframerate()
                synth.path.unlink()
                estimate = estimate_seconds(text, rate)
                per_rate[str(rate)] = {
                    "seconds": round(seconds, 1),
                    "words_per_minute": round(words / seconds * 60, 1),
                    "table_words_per_minute": round(words_per_minute(rate), 1),
                    "estimate_error_percent": round((estimate - seconds) / seconds * 100, 1),
                }
            results["voices"][voice] = per_rate
    return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2, ensure_ascii=False))
