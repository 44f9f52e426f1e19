"""Vietnamese text folding: strip diacritics so that "dau tu" matches "đầu tư"."""

from __future__ import annotations

import unicodedata

# "đ" is a letter of its own, not "d" plus a combining mark, so NFD does not split it.
_SPECIAL = str.maketrans({"đ": "d", "Đ": "D"})


def fold(text: str) -> str:
    """Return text lower-cased and without Vietnamese diacritics."""
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).lower()
