"""Step 11, symbols and punctuation: symbols read as words, lower case, one pause mark where several meet."""

from __future__ import annotations

import re

from nguon.speech.normalize.matching import _pad
from nguon.speech.normalize.quantities import _DIGIT_RUN
from nguon.speech.numbers import read_digits

# --------------------------------------------------------------------------------------------------------------
# 11. Symbols and punctuation
# --------------------------------------------------------------------------------------------------------------

_SYMBOLS = {
    "&": " và ",
    "+": " cộng ",
    "=": " bằng ",
    "≥": " lớn hơn hoặc bằng ",
    "≤": " nhỏ hơn hoặc bằng ",
    ">": " lớn hơn ",
    "<": " nhỏ hơn ",
    "~": " khoảng ",
    "%": " phần trăm ",
    "‰": " phần nghìn ",
    "°": " độ ",
    "@": " a còng ",
    "$": " đô la ",
    "€": " ơ rô ",
    "₫": " đồng ",
    "×": " nhân ",
    "÷": " chia ",
    "#": " ",
    **dict.fromkeys("/•|()[]{}", ", "),
}
_ARROW = re.compile(r"(?:->|=>|-->|<-|<=>)")
_SYMBOL = re.compile(r"[&+=≥≤<>~%‰°@$€₫×÷#/•|()\[\]{}]")
_SPACED_DASH = re.compile(r"\s[-–]+(?=\s|$)")
_UNSPEAKABLE = re.compile(r"[^a-z\s.,;:?!\u00c0-\u024f\u1e00-\u1eff]+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:?!])")
_PUNCT_RUN = re.compile(r"[.,;:?!](?:\s*[.,;:?!])+")
_PUNCT_NO_SPACE = re.compile(r"([.,;:?!])(?=[^\s.,;:?!])")
_SPACES = re.compile(r"\s+")
_ELLIPSIS = re.compile(r"\.{2,}\s*")
_HAS_LETTER = re.compile(r"[^\W\d_]")


def _punct_run(m: re.Match) -> str:
    run = m.group(0)
    for strong in "?!.;:":
        if strong in run:
            return strong
    return ","


def _ellipsis(m: re.Match) -> str:
    # "kết quả... tốt" runs on: a short pause; before a capital or at the end it closes the sentence.
    following = m.string[m.end() : m.end() + 1]
    return "," if following.isalpha() and following.islower() else "."


def _finish(t: str) -> str:
    if ".." in t:
        t = _ELLIPSIS.sub(_ellipsis, t)
    if ">" in t or "<-" in t:
        t = _ARROW.sub(", ", t)
    t = _SYMBOL.sub(lambda m: _SYMBOLS[m.group(0)], t)
    if "-" in t or "–" in t:
        t = _SPACED_DASH.sub(", ", t)
        t = t.replace("-", " ").replace("–", " ")
    t = _DIGIT_RUN.sub(lambda m: _pad(m, read_digits(m.group(0))), t)  # nothing should be left; just in case
    t = _UNSPEAKABLE.sub(" ", t.lower())
    t = _SPACE_BEFORE_PUNCT.sub(r"\1", t)
    t = _PUNCT_RUN.sub(_punct_run, t)
    t = _PUNCT_NO_SPACE.sub(r"\1 ", t)
    return _SPACES.sub(" ", t).strip().lstrip(".,;:?! ").rstrip(" ,;:")
