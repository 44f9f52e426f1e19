"""Cleaning of bulletin text: plain text fields lose all markup; the web rendering keeps safe HTML only."""

from __future__ import annotations

import html
import re

import nh3

_BLANKS = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")

WEB_TAGS = {
    "p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h2", "h3", "h4", "blockquote", "a", "table",
    "thead", "tbody", "tr", "th", "td", "figure", "figcaption", "img",
}  # fmt: skip
WEB_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "td": {"colspan", "rowspan"}}


def plain(text: str) -> str:
    """Strip every tag (script and style with their content), unescape entities, tidy whitespace."""
    cleaned = nh3.clean(text or "", tags=set(), attributes={}, strip_comments=True)
    cleaned = html.unescape(cleaned).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_BLANKS.sub(" ", line).strip() for line in cleaned.split("\n")]
    return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()


def plain_title(text: str) -> str:
    """A title: plain text on one line."""
    return plain(text).replace("\n", " ")


def speech_source(*, title: str, summary: str, body: str, spoken_text: str) -> str:
    """The text loudspeakers read (before normalisation): the loudspeaker text, else the title, summary and body."""
    return spoken_text or f"{title}.\n{summary}\n{body}".strip()


def safe_html(text: str) -> str:
    """Keep a small set of formatting tags; links get rel=noopener and only http(s)/mailto URLs survive."""
    return nh3.clean(
        text or "",
        tags=WEB_TAGS,
        attributes=WEB_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()


def has_words(text: str) -> bool:
    """True when the text holds at least one letter or digit (emoji and symbols alone are not content)."""
    return any(ch.isalnum() for ch in text)
