"""The Vietnamese catalogue is complete, and pages come out in Vietnamese by default (English on request)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"
VI_PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / "django.po"

# %(name)s / %(n)d, bare %s / %d, and literal code in backticks must survive translation unchanged.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|`[^`]*`")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgstrs: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False


def parse_po(path: Path) -> list[Entry]:
    """A minimal .po reader: enough for msgid, msgid_plural, msgstr[n], flags and obsolete entries."""
    entries: list[Entry] = []
    entry, key = Entry(), None

    def flush():
        nonlocal entry, key
        if key is not None:
            entries.append(entry)
        entry, key = Entry(), None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#~"):
            entry.obsolete = True
            continue
        if line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$', line)
        if match:
            key, value = match.group(1), ast.literal_eval(match.group(2))
        else:
            value = ast.literal_eval(line)  # a continuation line
        if key == "msgid":
            entry.msgid += value
        elif key == "msgid_plural":
            entry.msgid_plural = (entry.msgid_plural or "") + value
        elif key and key.startswith("msgstr"):
            entry.msgstrs[key] = entry.msgstrs.get(key, "") + value
    flush()
    return entries


@pytest.fixture(scope="module")
def vi_entries() -> list[Entry]:
    assert VI_PO.exists(), f"{VI_PO} is missing: run `cd nguon && ../.venv/bin/nguon makemessages -l vi`"
    return parse_po(VI_PO)


def _messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid and not e.obsolete]


def test_vi_header_declares_vietnamese_and_one_plural_form(vi_entries):
    header = next(e for e in vi_entries if e.msgid == "")
    text = header.msgstrs.get("msgstr", "")
    assert "fuzzy" not in header.flags, "a fuzzy header is ignored by msgfmt (and with it Plural-Forms)"
    assert "Language: vi\n" in text
    assert "Plural-Forms: nplurals=1; plural=0;\n" in text
    assert "charset=UTF-8" in text


def test_vi_catalogue_has_no_untranslated_or_fuzzy_entry(vi_entries):
    messages = _messages(vi_entries)
    assert messages, "the catalogue holds no message"
    fuzzy = [e.msgid for e in messages if "fuzzy" in e.flags]
    untranslated = [e.msgid for e in messages if not e.msgstrs or not all(e.msgstrs.values())]
    assert not fuzzy, f"fuzzy entries in {VI_PO.name}: {fuzzy}"
    assert not untranslated, f"untranslated entries in {VI_PO.name}: {untranslated}"


def test_vi_plurals_have_a_single_form(vi_entries):
    wrong = [e.msgid for e in _messages(vi_entries) if e.msgid_plural is not None and set(e.msgstrs) != {"msgstr[0]"}]
    assert not wrong, f"Vietnamese has one plural form; give only msgstr[0] for: {wrong}"


def test_vi_translations_keep_every_placeholder(vi_entries):
    wrong = []
    for e in _messages(vi_entries):
        expected = sorted(PLACEHOLDER.findall(e.msgid))
        for key, text in e.msgstrs.items():
            if sorted(PLACEHOLDER.findall(text)) != expected:
                wrong.append((e.msgid, key, text))
    assert not wrong, f"placeholders differ between msgid and msgstr: {wrong}"


def _msgfmt() -> str:
    path = shutil.which("msgfmt")
    if path is None:
        pytest.skip("GNU gettext (msgfmt) is not installed")
    return path


def test_msgfmt_reports_vi_complete():
    result = subprocess.run(
        [_msgfmt(), "--check", "--statistics", "-o", "/dev/null", str(VI_PO)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
        check=False,
    )
    report = result.stderr.strip()
    assert result.returncode == 0, report
    assert re.fullmatch(r"\d+ translated messages?\.", report), f"msgfmt: {report}"


@pytest.fixture
def compiled_locale(tmp_path, settings):
    """Compile the current .po files into a temporary LOCALE_PATHS, so the test never sees a stale .mo."""
    msgfmt = _msgfmt()
    for po in LOCALE_DIR.glob("*/LC_MESSAGES/django.po"):
        target = tmp_path / po.relative_to(LOCALE_DIR).with_suffix(".mo")
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([msgfmt, "--check", "-o", str(target), str(po)], check=True)
    settings.LOCALE_PATHS = [tmp_path]  # resets Django's translation caches (setting_changed)
    return tmp_path


def test_login_page_is_vietnamese_by_default(db, client, compiled_locale):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="vi"' in html
    assert "Đăng nhập" in html
    assert "Sign in" not in html


def test_login_page_is_english_with_the_language_cookie(db, client, compiled_locale, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en"' in html
    assert "Sign in" in html
    assert "Đăng nhập" not in html
