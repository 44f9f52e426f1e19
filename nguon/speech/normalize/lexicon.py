"""Step 2, lexicons: the caller's pronunciation lexicon and the built-in acronyms, compiled as a trie."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from nguon.speech.normalize.acronyms import ACRONYMS
from nguon.speech.normalize.letters import is_syllable
from nguon.speech.normalize.matching import _pad
from nguon.speech.normalize.report import NormalizationReport

# --------------------------------------------------------------------------------------------------------------
# 2. Lexicons, compiled as a trie so that a long lexicon costs little more than a short one
# --------------------------------------------------------------------------------------------------------------


def _char_pattern(ch: str, fold: bool) -> str:
    if fold and ch.lower() != ch.upper() and len(ch.upper()) == 1 and len(ch.lower()) == 1:
        return f"[{re.escape(ch.lower())}{re.escape(ch.upper())}]"
    return re.escape(ch)


def _trie_pattern(keys: list[tuple[str, bool]]) -> str:
    """One regex matching any key as a whole word (longest first); keys marked True match in any case."""
    trie: dict = {}
    for key, fold in keys:
        node = trie
        tokens = []
        for part_index, part in enumerate(key.split()):
            if part_index:
                tokens.append(r"\s+")
            tokens.extend(_char_pattern(ch, fold) for ch in part)
        for token in tokens:
            node = node.setdefault(token, {})
        node[""] = r"(?!\w)" if key[-1].isalnum() else ""

    def build(node: dict, depth: int, first_char: str = "") -> str:
        alternatives = []
        for token in sorted(k for k in node if k):
            head = token
            if depth == 0:
                # "Not preceded by a letter", checked after the first character so the engine can skip ahead.
                head = f"{token}(?<!\\w{token})" if token.startswith("[") or token[-1:].isalnum() else token
            alternatives.append(head + build(node[token], depth + 1))
        if "" in node:
            alternatives.append(node[""])
        if len(alternatives) == 1:
            return alternatives[0]
        return "(?:" + "|".join(alternatives) + ")"

    return build(trie, 0) if trie else r"(?!x)x"


def _is_acronym_key(key: str) -> bool:
    return not any(ch.islower() for ch in key)


@lru_cache(maxsize=32)
def _compile_lexicon(items: frozenset[tuple[str, str]]) -> tuple[re.Pattern, dict[str, str], dict[str, str]]:
    exact: dict[str, str] = {}
    folded: dict[str, str] = {}
    keys: list[tuple[str, bool]] = []
    for key, value in items:
        key = " ".join(unicodedata.normalize("NFC", key).split())
        if not key:
            continue
        value = unicodedata.normalize("NFC", value)
        if _is_acronym_key(key):
            exact[key] = value
            keys.append((key, False))
        else:
            folded[key.lower()] = value
            keys.append((key, True))
    return re.compile(_trie_pattern(keys)), exact, folded


def _apply_user_lexicon(text: str, lexicon: Mapping[str, str], report: NormalizationReport) -> str:
    pattern, exact, folded = _compile_lexicon(frozenset((str(k), str(v)) for k, v in lexicon.items()))

    def replace(m: re.Match) -> str:
        found = " ".join(m.group(0).split())
        value = exact.get(found)
        if value is None:
            value = folded.get(found.lower())
        if value is None:  # pragma: no cover - the trie only matches keys
            return m.group(0)
        report._add(report.lexicon_hits, found)
        return _pad(m, value)

    return pattern.sub(replace, text)


# Built-in acronyms that are also Vietnamese syllables ("AI", "TU") are words inside an all-capital heading.
_SYLLABLE_ACRONYMS = frozenset(k for k in ACRONYMS if k.isalpha() and is_syllable(k))
_ACRONYM_RE = re.compile(_trie_pattern([(k, False) for k in ACRONYMS]))
_PREV_WORD = re.compile(r"(\w+)\W*$")
_NEXT_WORD = re.compile(r"\W*(\w+)")


def _in_capital_heading(text: str, start: int, end: int) -> bool:
    before = _PREV_WORD.search(text, max(0, start - 40), start)
    after = _NEXT_WORD.match(text, end)
    return any(m and len(m.group(1)) > 1 and m.group(1).isupper() and is_syllable(m.group(1)) for m in (before, after))


def _builtin_acronym(m: re.Match) -> str:
    key = " ".join(m.group(0).split())
    if key in _SYLLABLE_ACRONYMS and _in_capital_heading(m.string, m.start(), m.end()):
        return m.group(0)
    return _pad(m, ACRONYMS[key])
