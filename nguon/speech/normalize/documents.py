"""Step 5, document numbers ("183/KH-UBND", "30/2020/NĐ-CP", "57-NQ/TW") and road numbers ("QL51")."""

from __future__ import annotations

import re

from nguon.speech.normalize.acronyms import _CODE_ACRONYMS
from nguon.speech.normalize.letters import _letter_name, spell
from nguon.speech.normalize.matching import _pad
from nguon.speech.numbers import read_number

# --------------------------------------------------------------------------------------------------------------
# 5. Document numbers: "183/KH-UBND", "30/2020/NĐ-CP", "59/2020/QH14"
# --------------------------------------------------------------------------------------------------------------

_DOC_NUMBER = re.compile(r"(\d(?<![\w/.,]\d)\d{0,4})(?:/(\d{4}))?/([A-ZĐ][\w&]*(?:[-–][A-ZĐ][\w&]*)*)(?![\w/])")
_PARTY_DOC_NUMBER = re.compile(r"(\d(?<![\w/.,\-]\d)\d{0,4})-([A-ZĐ][A-ZĐa-z]*)/([A-ZĐ][\wĐ]*)(?![\w/])")  # 57-NQ/TW
_ROAD = re.compile(r"(QL|ĐT|TL|HL|ĐH)(?<!\w..)\.?\s?([1-9]\d{0,2})([A-Z]?)(?!\w|[.,]\d)")
_ROADS = {"QL": "quốc lộ", "ĐT": "đường tỉnh", "TL": "tỉnh lộ", "HL": "hương lộ", "ĐH": "đường huyện"}
_LETTERS_DIGITS = re.compile(r"[^\W\d_]+|\d+")


def _read_code_piece(piece: str) -> str:
    if piece in _CODE_ACRONYMS:
        return _CODE_ACRONYMS[piece]
    if "&" in piece:
        return " và ".join(_read_code_piece(p) for p in piece.split("&") if p)
    words = []
    for part in _LETTERS_DIGITS.findall(piece):
        if part.isdigit():
            words.append(read_number(int(part)))
        else:
            words.append(_CODE_ACRONYMS.get(part) or spell(part))
    return " ".join(words)


def _party_doc_number(m: re.Match) -> str:
    number, kind, issuer = m.groups()
    return _pad(m, f"{read_number(int(number))} {_read_code_piece(kind)} {_read_code_piece(issuer)}")


def _road(m: re.Match) -> str:
    # "QL51", "ĐT 768", "QL1A": roads, not a telephone ("ĐT:" with a colon stays a telephone).
    road, number, letter = m.groups()
    words = f"{_ROADS[road]} {read_number(int(number))}"
    if letter:
        words += " " + _letter_name(letter)
    return _pad(m, words)


def _doc_number(m: re.Match) -> str:
    number, year, code = m.groups()
    words = [read_number(int(number))]
    if year:
        words += ["năm", read_number(int(year))]
    code = code.replace("–", "-")
    if code in _CODE_ACRONYMS:
        words.append(_CODE_ACRONYMS[code])
    else:
        words += [_read_code_piece(piece) for piece in code.split("-") if piece]
    return _pad(m, " ".join(words))
