"""The Vietnamese user guides in docs/vi, rendered from Markdown to sanitised HTML for the help pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nh3
from django.conf import settings
from django.urls import reverse
from markdown_it import MarkdownIt

# A guide's name is its file name without ".md": lower-case letters, digits and hyphens only, so a URL can never
# name a file outside the folder.
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,60}")
INDEX = "index"

ALLOWED_TAGS = {
    "h1", "h2", "h3", "h4", "p", "ul", "ol", "li", "strong", "em", "code", "pre", "blockquote", "a", "hr", "br",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# No style attributes: the Content-Security-Policy refuses inline styles (table alignment is lost, nothing else).
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}


@dataclass(frozen=True)
class Guide:
    slug: str
    title: str
    html: str


def guide_dir() -> Path:
    return Path(settings.HELP_DIR)


def _markdown() -> MarkdownIt:
    # "commonmark" with raw HTML off: the guides are text; what HTML there is comes from Markdown itself.
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

    def link_open(renderer, tokens, idx, options, env):
        # Links between guides ("phe-duyet.md") lead to their help page.
        token = tokens[idx]
        match = re.fullmatch(r"(?:\./)?([a-z0-9][a-z0-9-]*)\.md(#[\w-]*)?", token.attrGet("href") or "")
        if match:
            token.attrSet("href", guide_url(match.group(1)) + (match.group(2) or ""))
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def guide_url(slug: str) -> str:
    return reverse("help:index") if slug == INDEX else reverse("help:guide", args=[slug])


def render_markdown(text: str) -> str:
    """Markdown to HTML that carries no script, style or event handler whatever the text holds."""
    html = _markdown().render(text)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def _title(text: str, slug: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return slug


@lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int) -> Guide:
    text = path.read_text(encoding="utf-8")
    return Guide(slug=path.stem, title=_title(text, path.stem), html=render_markdown(text))


def get_guide(slug: str) -> Guide | None:
    """The guide named `slug`, or None when there is none (a bad name included)."""
    if not SLUG.fullmatch(slug or ""):
        return None
    path = guide_dir() / f"{slug}.md"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return None
    return _load(path, mtime)


def all_guides() -> list[Guide]:
    """Every guide but the index, in file-name order."""
    slugs = sorted(p.stem for p in guide_dir().glob("*.md") if SLUG.fullmatch(p.stem) and p.stem != INDEX)
    return [g for g in (get_guide(s) for s in slugs) if g is not None]
