"""Vietnamese alphabetical order (Django-free): a sort key that puts Đ after D, Ă and Â after A, Ơ after O.

Vietnamese dictionaries and CLDR's `vi` collation order the alphabet
    a ă â b c d đ e ê g h i k l m n o ô ơ p q r s t u ư v x y
by base letter first (primary), then by tone mark (secondary: none, grave, hook, tilde, acute, dot below),
then by case. Python's own sort compares code points, so "Đồng Nai" lands after "Xuân Lộc" and "Ấp" after
"Z". `vi_key` gives the same order as ICU's `vi` collation for Vietnamese text; other letters keep their
code-point order after the Vietnamese ones, digits and punctuation before letters.
"""

from __future__ import annotations

import unicodedata

# Base letters with their vowel marks (breve, circumflex, horn) and đ are letters of their own (primary).
_ALPHABET = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
_EXTRA = "fjwz"  # not in Vietnamese words, but in names and loan words: between the neighbours ICU puts them
_ORDER = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_PRIMARY = {letter: index for index, letter in enumerate(_ORDER)}
_LETTER_BASE = 1000  # letters sort after digits, spaces and punctuation
# Tone marks, as combining characters after NFD decomposition, in dictionary order.
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
# Vowel marks that make a new letter: recombined with their base before weighing.
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}

assert set(_ALPHABET) | set(_EXTRA) == set(_ORDER)


def _letters(text: str):
    """Yield (letter, tone) pairs: NFD splits tones off, letter-making marks are put back onto their base."""
    decomposed = unicodedata.normalize("NFD", text)
    i = 0
    while i < len(decomposed):
        base = decomposed[i]
        i += 1
        marks = []
        while i < len(decomposed) and unicodedata.combining(decomposed[i]):
            marks.append(decomposed[i])
            i += 1
        letter_marks = "".join(m for m in marks if m in _LETTER_MARKS)
        letter = unicodedata.normalize("NFC", base + letter_marks) if letter_marks else base
        tone = next((_TONES[m] for m in marks if m in _TONES), 0)
        yield letter, tone


def vi_key(text: str | None) -> tuple:
    """A key for sorted(): Vietnamese alphabetical order, ignoring case and tone marks until they decide."""
    primary, secondary, tertiary = [], [], []
    for letter, tone in _letters(text or ""):
        lower = letter.lower()
        weight = _PRIMARY.get(lower)
        if weight is not None:
            primary.append(_LETTER_BASE + weight)
        elif lower.isdigit():
            primary.append(100 + int(lower) if lower.isascii() else 200 + ord(lower) % 100)
        elif lower.isalpha():
            primary.append(_LETTER_BASE + len(_ORDER) + ord(lower))
        elif lower.isspace():
            primary.append(1)
        else:
            primary.append(2 + ord(lower) % 90)
        secondary.append(tone)
        tertiary.append(0 if letter == lower else 1)
    return (tuple(primary), tuple(secondary), tuple(tertiary))


def vi_compare(a: str | None, b: str | None) -> int:
    """-1, 0 or 1, as a database collation function wants."""
    ka, kb = vi_key(a), vi_key(b)
    return (ka > kb) - (ka < kb)
