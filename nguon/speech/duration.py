"""How long a spoken text lasts, estimated before anything is rendered (no Django, no engine run).

Vietnamese is written one syllable per word, so the estimate counts the words of the normalised text at the speed
espeak-ng was measured to speak them, pauses at commas and full stops included. Measured with espeak-ng 1.51 on the
normalised benchmark bulletin (`bench/normalize_bench.py`, 981 spoken words) with the voices vi-vn-x-south (below),
vi and vi-vn-x-central (within 4 % of it), sentence pauses as `EspeakEngine` sends them:

    rate (NGUON_TTS_RATE, %)    50    75   100   150   200
    words per minute           115   176   239   367   534

Between the measured rates the speed is interpolated. Piper voices and HTTP services speak at their own speed; the
estimate stays espeak-ng's, which is what a warning needs ("about 12 minutes"), not a schedule.
"""

from __future__ import annotations

MEASURED_WORDS_PER_MINUTE = ((50, 115.0), (75, 176.0), (100, 239.0), (150, 367.0), (200, 534.0))
LONG_SPEECH_SECONDS = 600  # beyond ten minutes a loudspeaker bulletin loses its listeners: warn before rendering


def words_per_minute(rate: int | None = None) -> float:
    """espeak-ng's speed at `rate` percent of normal (None: normal), interpolated between measured rates."""
    rate = 100 if rate is None else rate
    points = MEASURED_WORDS_PER_MINUTE
    if rate <= points[0][0]:
        return points[0][1] * rate / points[0][0]
    if rate >= points[-1][0]:
        return points[-1][1] * rate / points[-1][0]
    for (r1, w1), (r2, w2) in zip(points, points[1:], strict=False):
        if r1 <= rate <= r2:
            return w1 + (w2 - w1) * (rate - r1) / (r2 - r1)
    raise AssertionError("unreachable")  # pragma: no cover


def estimate_seconds(spoken_text: str, rate: int | None = None) -> float:
    """Seconds that `spoken_text` (normalised) takes to say at `rate` percent of normal speed."""
    return len(spoken_text.split()) * 60.0 / words_per_minute(rate)


def is_long(seconds: float) -> bool:
    return seconds > LONG_SPEECH_SECONDS
