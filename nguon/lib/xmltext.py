"""Text that XML 1.0 can carry: everything we store may end up in a CAP document, an Atom feed or a sitemap.

XML 1.0 allows tab, line feed, carriage return and the characters from U+0020 on, except the surrogates
(U+D800–U+DFFF, which a JSON "\\ud800" escape can still put into a Python string) and U+FFFE/U+FFFF. One such
character in a stored field makes every document that includes it unparsable, so text is refused where it enters
(`first_forbidden`), and writers of public documents drop what slipped through anyway (`strip_forbidden`).
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def first_forbidden(text: str) -> tuple[int, str] | None:
    """Return (1-based position, character) of the first character XML cannot carry, or None."""
    match = _FORBIDDEN.search(text)
    return (match.start() + 1, match.group()) if match else None


def is_xml_safe(text: str) -> bool:
    return _FORBIDDEN.search(text) is None


def strip_forbidden(text: str) -> str:
    """Drop the characters XML cannot carry (for writers of public documents: one bad row must not break a feed)."""
    return _FORBIDDEN.sub("", text)


def describe(char: str) -> str:
    """How to name the character in a message: U+000B."""
    return f"U+{ord(char):04X}"
