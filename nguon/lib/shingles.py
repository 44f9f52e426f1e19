"""Near-duplicate text detection: a MinHash fingerprint of word shingles, small enough to store on each row.

Two texts whose fingerprints share many slots are near-duplicates (the share estimates their Jaccard similarity).
Texts are folded first (no diacritics, lower case), so "đèn đường hỏng" and "den duong hong" compare equal.
"""

from __future__ import annotations

import hashlib
import re

from nguon.lib.folding import fold

SLOTS = 16
_WORD = re.compile(r"\w+", re.UNICODE)


def _shingles(text: str, size: int = 3) -> set[str]:
    words = _WORD.findall(fold(text))
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def fingerprint(text: str) -> str:
    """SLOTS hex minima of salted hashes over the text's word 3-grams, joined by '.'; '' for text without words."""
    shingles = _shingles(text)
    if not shingles:
        return ""
    slots = []
    for salt in range(SLOTS):
        prefix = salt.to_bytes(2, "big")
        slots.append(min(hashlib.blake2b(prefix + s.encode(), digest_size=5).hexdigest() for s in shingles))
    return ".".join(slots)


def similarity(a: str, b: str) -> float:
    """Estimated Jaccard similarity (0–1) of the texts behind two fingerprints."""
    if not a or not b:
        return 0.0
    left, right = a.split("."), b.split(".")
    if len(left) != len(right):
        return 0.0
    return sum(1 for x, y in zip(left, right, strict=True) if x == y) / len(left)
