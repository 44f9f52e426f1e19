"""Step 1, clean-up: HTML, characters outside the Latin blocks, list markers, one pause per line."""

from __future__ import annotations

import html
import re
import unicodedata

from nguon.speech.normalize.letters import UPPER, _letter_name
from nguon.speech.normalize.report import NormalizationReport
from nguon.speech.numbers import read_number

# --------------------------------------------------------------------------------------------------------------
# 1. Clean-up
# --------------------------------------------------------------------------------------------------------------

_HIDDEN_ELEMENTS = "script|style|noscript|template|iframe|object|embed|svg|head|textarea|select"
_HTML_HIDDEN_START = re.compile(rf"<\s*({_HIDDEN_ELEMENTS})\b", re.I)
_HTML_HIDDEN_END = {name: re.compile(rf"</\s*{name}\s*>", re.I) for name in _HIDDEN_ELEMENTS.split("|")}
_HTML_BLOCK = re.compile(
    r"</?\s*(?:br|p|div|li|ul|ol|h[1-6]|tr|table|thead|tbody|tfoot|section|article|header|footer|aside|nav"
    r"|blockquote|pre|dd|dt|dl|hr|figure|figcaption|caption|main)\b[^<>]*>",
    re.I,
)
_HTML_CELL = re.compile(r"</?\s*(?:td|th)\b[^<>]*>", re.I)
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*>")
_HTML_LIKE = re.compile(r"<[A-Za-z/!?]")


def _drop_hidden_html(text: str) -> str:
    """Remove <script>…</script> and its kind with their content; an unclosed one takes the rest of the text."""
    out: list[str] = []
    pos = 0
    while True:
        start = _HTML_HIDDEN_START.search(text, pos)
        if start is None:
            out.append(text[pos:])
            break
        out.append(text[pos : start.start()])
        end = _HTML_HIDDEN_END[start.group(1).lower()].search(text, start.end())
        if end is None:
            break
        out.append(" ")
        pos = end.end()
    text = "".join(out)
    if "<!--" in text:  # comments, the same way
        out = []
        pos = 0
        while True:
            start_at = text.find("<!--", pos)
            if start_at == -1:
                out.append(text[pos:])
                break
            out.append(text[pos:start_at])
            end_at = text.find("-->", start_at + 4)
            if end_at == -1:
                break
            pos = end_at + 3
        text = "".join(out)
    return text


def _strip_html(text: str) -> str:
    for _ in range(2):  # a second pass for tags that were written as entities (&lt;script&gt;)
        if _HTML_LIKE.search(text):
            text = _drop_hidden_html(text)
            text = _HTML_BLOCK.sub("\n", text)
            text = _HTML_CELL.sub(" ", text)
            text = _HTML_TAG.sub("", text)
        if "&" not in text:
            break
        text = html.unescape(text)
    return text


# Characters outside ASCII and the Latin blocks Vietnamese uses; each one is mapped or dropped.
_NON_LATIN = re.compile(r"[^\x00-\x7f\u00b0\u00b2\u00b3\u00c0-\u024f\u1e00-\u1eff]")
_CHAR_MAP = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2039\u203a\u2033", ""),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-"),
    **dict.fromkeys("\u2014\u2015", " - "),
    **dict.fromkeys(
        "\u2022\u25e6\u25aa\u25ab\u25cf\u25cb\u25a0\u25a1\u25c6\u25c7\u25ba\u25b6\u27a2\u27a4\u2192\u21d2\u2023"
        "\u2043\u2713\u2714\u2610\u2611\u2605\u2606\u2756\u274f\u2794",
        "•",
    ),
    "\u2026": "...",
    "\u00b7": " ",
    "\u2103": "°C",
    "\u2109": "°F",
    "\u20ab": "₫",
    "\u20ac": "€",
    "\u2030": "‰",
    "\u2248": "~",
    "\u223c": "~",
    "\u2265": "≥",
    "\u2264": "≤",
    "\u2260": " khác ",
    "\u00b1": " cộng trừ ",
    "\u2116": " số ",
    "\u00a7": " điều ",
    "\u00bd": " 1/2 ",
    "\u00bc": " 1/4 ",
    "\u00be": " 3/4 ",
    "\u00b9": "1",
}


def _map_char(ch: str, report: NormalizationReport) -> str:
    mapped = _CHAR_MAP.get(ch)
    if mapped is not None:
        return mapped
    category = unicodedata.category(ch)
    if category[0] in "ZP" or category == "Cc":
        return " "
    report._add(report.removed, ch)  # emoji, pictographs, other scripts, stray combining marks
    return ""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PAREN_ACRONYM = re.compile(rf"\(\s*([{UPPER}][{UPPER}&.\-]{{0,15}}[{UPPER}])\s*\)")
_ROMAN = re.compile(r"(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")
_ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50}


def roman_value(token: str) -> int | None:
    """The value of a Roman numeral made of I, V, X, L (1-89), or None."""
    if not token or not _ROMAN.fullmatch(token):
        return None
    total = 0
    for i, ch in enumerate(token):
        value = _ROMAN_VALUES[ch]
        if i + 1 < len(token) and _ROMAN_VALUES[token[i + 1]] > value:
            total -= value
        else:
            total += value
    return total


def _drop_paren_acronym(m: re.Match) -> str:
    # "Ủy ban nhân dân (UBND)": the acronym only repeats the words before it, as newsreaders skip it.
    if roman_value(m.group(1)) is not None:
        return m.group(0)
    return ""


_BULLET = re.compile(r"^(?:•+\s*|[-+*>]+\s+)")
_LINE_ROMAN = re.compile(r"^([IVXL]+)\s*([.)])\s+")
_LINE_NUMBER = re.compile(r"^(\d{1,2})\)\s+")
_LINE_LETTER = re.compile(r"^([a-zđA-ZĐ])[).]\s+")
_LINE_END = re.compile(r"[.,;:!?]$")
_LIST_MARKER = re.compile(r"^(?:[IVXL]+\s*[.)]|\d{1,2}\)|[a-zđA-ZĐ][).])\s+")


def _join_lines(text: str) -> str:
    """One pause between lines: bullets and list markers read, a full stop added where a line has none."""
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    out: list[str] = []
    for i, line in enumerate(lines):
        line = _BULLET.sub("", line)
        m = _LINE_ROMAN.match(line)
        if m and (value := roman_value(m.group(1))):
            line = f"{read_number(value)}{'.' if m.group(2) == '.' else ','} {line[m.end() :]}"
        elif m := _LINE_NUMBER.match(line):
            line = f"{read_number(int(m.group(1)))}, {line[m.end() :]}"
        elif m := _LINE_LETTER.match(line):
            line = f"{_letter_name(m.group(1))}, {line[m.end() :]}"
        if not line:
            continue
        if i + 1 < len(lines) and not _LINE_END.search(line):
            # A line that runs on in lower case is a wrapped sentence; anything else ends here.
            following = _LIST_MARKER.sub("", _BULLET.sub("", lines[i + 1]))[:1]
            if not (following.isalpha() and following.islower()):
                line += "."
        out.append(line)
    return " ".join(out)


def _prepare(text: str, report: NormalizationReport) -> str:
    if "<" in text or "&" in text:
        text = _strip_html(text)
    text = unicodedata.normalize("NFC", text)
    if not text.isascii():
        text = _NON_LATIN.sub(lambda m: _map_char(m.group(), report), text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL.sub(" ", text)
    if "(" in text:
        text = _PAREN_ACRONYM.sub(_drop_paren_acronym, text)
    return _join_lines(text)
