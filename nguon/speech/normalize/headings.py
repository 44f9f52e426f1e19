"""Steps 7 and 8: Roman numerals after heading words, address abbreviations and "v.v."."""

from __future__ import annotations

import re

from nguon.speech.normalize.cleanup import roman_value
from nguon.speech.normalize.letters import UPPER
from nguon.speech.normalize.matching import _pad, _words_before
from nguon.speech.numbers import read_number, read_ordinal

# --------------------------------------------------------------------------------------------------------------
# 7. Roman numerals after heading words
# --------------------------------------------------------------------------------------------------------------

_ROMAN_TOKEN = re.compile(r"[IVXL](?<!\w[IVXL])[IVXL]*(?!\w)")
_HEADING_BEFORE = re.compile(
    r"(?<!\w)((?i:phần|chương|mục|tiểu mục|điều|khoản|phụ lục|quý|khóa|khoá|đại hội|kỳ họp|kì họp|hội nghị"
    r"|thế kỷ|thế kỉ|tập|giai đoạn|thứ))\s+$"
)


def _roman_heading(m: re.Match) -> str:
    value = roman_value(m.group(0))
    if value is None:
        return m.group(0)
    heading = _words_before(m.string, m.start(), _HEADING_BEFORE)
    if heading is None:
        return m.group(0)
    return read_ordinal(value) if heading.group(1).lower() == "thứ" else read_number(value)


# --------------------------------------------------------------------------------------------------------------
# 8. Address abbreviations
# --------------------------------------------------------------------------------------------------------------

_ADDRESS_ABBR = re.compile(rf"(T(?<!\wT)T|[PQXH](?<!\w[PQXH]))\.\s*(?=\d|[{UPPER}])")
_ADDRESS_WORDS = {"TT": "thị trấn", "P": "phường", "Q": "quận", "X": "xã", "H": "huyện"}
_VV = re.compile(r"v(?<!\wv)\.\s?v(?:\.+)?(?=(\s*[A-ZĐ]|\s*$))?")
_LETTER_DOT_WORD = re.compile(r"([A-ZĐ])(?<!\w[A-ZĐ])\.(?=[A-Z][a-z])")


def _vv(m: re.Match) -> str:
    sentence_end = m.group(1) is not None and m.group(0).endswith(".")
    return _pad(m, "vân vân." if sentence_end else "vân vân")
