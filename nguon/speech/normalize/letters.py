"""Letters: Vietnamese letter names, the shape of a syllable, spelling, and capitals to spell."""

from __future__ import annotations

import re
import unicodedata

from nguon.speech.numbers import DIGIT_WORDS

# --------------------------------------------------------------------------------------------------------------
# Letters
# --------------------------------------------------------------------------------------------------------------

UPPER = "A-ZĐÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ"
VOWELS = "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵ"

# Vietnamese names of letters, as said when spelling an acronym ("UBND" → "u bê en đê").
LETTER_NAMES = {
    "A": "a",
    "Ă": "á",
    "Â": "ớ",
    "B": "bê",
    "C": "xê",
    "D": "đê",
    "Đ": "đê",
    "E": "e",
    "Ê": "ê",
    "F": "ép",
    "G": "giê",
    "H": "hát",
    "I": "i",
    "J": "gi",
    "K": "ca",
    "L": "e lờ",
    "M": "em",
    "N": "en",
    "O": "o",
    "Ô": "ô",
    "Ơ": "ơ",
    "P": "pê",
    "Q": "quy",
    "R": "e rờ",
    "S": "ét",
    "T": "tê",
    "U": "u",
    "Ư": "ư",
    "V": "vê",
    "W": "vê kép",
    "X": "ích",
    "Y": "i dài",
    "Z": "dét",
}


# One Vietnamese syllable: onset, one to three vowel letters (glides and i/y/o/u finals included), final consonant.
_ONSET = "(?:ngh|ng|gh|gi|kh|ph|th|tr|ch|nh|qu|[bcdđghklmnprstvx])"
_CODA = "(?:ng|nh|ch|[cmnpt])"
_SYLLABLE = re.compile(rf"{_ONSET}?[{VOWELS}]{{1,3}}{_CODA}?")


def is_syllable(word: str) -> bool:
    """Whether a word (any case) has the shape of one Vietnamese syllable: "THÔNG" yes, "UBND" no."""
    return _SYLLABLE.fullmatch(word.lower()) is not None


def _letter_name(ch: str) -> str:
    up = ch.upper()
    name = LETTER_NAMES.get(up)
    if name is not None:
        return name
    if "0" <= ch <= "9":
        return DIGIT_WORDS[ord(ch) - 48]
    base = unicodedata.normalize("NFD", up)
    # Keep the letter-forming marks of Ă Â Ê Ô Ơ Ư, drop the tone.
    for composed in (base[:2], base[:1]):
        name = LETTER_NAMES.get(unicodedata.normalize("NFC", composed))
        if name is not None:
            return name
    return ch.lower()


def spell(token: str) -> str:
    """Spell letters and digits one by one with Vietnamese names: spell("PCI") == "pê xê i"."""
    return " ".join(_letter_name(ch) for ch in token if ch.isalnum())


# --------------------------------------------------------------------------------------------------------------
# 10. Unknown acronyms and single capitals
# --------------------------------------------------------------------------------------------------------------

_CAPS = re.compile(rf"[{UPPER}](?<!\w[{UPPER}])[{UPPER}]+(?!\w)")
_SINGLE_CONSONANT = re.compile(r"([BCDĐFGHJKLMNPQRSTVWXZ])(?<!\w[BCDĐFGHJKLMNPQRSTVWXZ])(?!\w)")
