"""What the rules share: the fences around dates and times, padded replacements, the words before a match."""

from __future__ import annotations

import re

# Private characters that fence a date's or a time's reading until ranges between them are joined.
_OPEN, _CLOSE = "\ue000", "\ue001"
_FENCES = (_OPEN, _CLOSE)


def _pad(m: re.Match, words: str) -> str:
    """The replacement for a match, with a space only where it would otherwise touch a letter or digit."""
    text, start, end = m.string, m.start(), m.end()
    left = " " if start and (text[start - 1].isalnum() or text[start - 1] in _FENCES) else ""
    right = " " if end < len(text) and (text[end].isalnum() or text[end] in _FENCES) else ""
    return f"{left}{words}{right}"


# Speed: every pattern of this package starts with a literal or a character class, so that the regex engine can
# skip to candidate positions; "not preceded by" look-behinds come after the first character ("\d(?<!\w\d)").

_WORD_BEFORE = re.compile(r"(\w+)\s*$")


def _word_before(text: str, start: int, width: int = 24) -> str:
    """The word just before `start` (lower case), skipping spaces; "" if there is none."""
    m = _WORD_BEFORE.search(text, max(0, start - width), start)
    return m.group(1).lower() if m else ""


def _words_before(text: str, start: int, pattern: re.Pattern) -> re.Match | None:
    return pattern.search(text, max(0, start - 30), start)
