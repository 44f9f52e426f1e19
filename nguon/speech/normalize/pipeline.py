"""The pipeline: every step in its order."""

from __future__ import annotations

import re
from collections.abc import Mapping

from nguon.speech.normalize.cleanup import _prepare
from nguon.speech.normalize.dates import (
    _DATE_DAY_RANGE,
    _DATE_DM,
    _DATE_DMY,
    _FENCED_RANGE,
    _HOUR_G,
    _MONTH_YEAR,
    _QUARTER_YEAR,
    _TIME,
    _date_day_range,
    _date_dm,
    _date_dmy,
    _hour_g,
    _month_year,
    _quarter_year,
    _time,
)
from nguon.speech.normalize.documents import (
    _DOC_NUMBER,
    _PARTY_DOC_NUMBER,
    _ROAD,
    _doc_number,
    _party_doc_number,
    _road,
)
from nguon.speech.normalize.headings import (
    _ADDRESS_ABBR,
    _ADDRESS_WORDS,
    _LETTER_DOT_WORD,
    _ROMAN_TOKEN,
    _VV,
    _roman_heading,
    _vv,
)
from nguon.speech.normalize.letters import _CAPS, _SINGLE_CONSONANT, _letter_name, is_syllable, spell
from nguon.speech.normalize.lexicon import _ACRONYM_RE, _apply_user_lexicon, _builtin_acronym
from nguon.speech.normalize.matching import _CLOSE, _OPEN, _pad
from nguon.speech.normalize.phones import (
    _EMERGENCY,
    _HOTLINE,
    _PHONE,
    _PHONE_CONTEXT,
    _PHONE_WORDS,
    _emergency,
    _hotline,
    _phone,
    _phone_context,
)
from nguon.speech.normalize.punctuation import _HAS_LETTER, _finish
from nguon.speech.normalize.quantities import (
    _DIGIT_RUN,
    _SLASH_PER,
    _UNIT_ALONE,
    _UNIT_ALONE_HINT,
    UNITS,
    _cardinals,
    _measures,
    _slash_per,
)
from nguon.speech.normalize.report import NormalizationReport
from nguon.speech.normalize.web import _BARE_DOMAIN, _EMAIL, _TLD_HINT, _URL, _email, _url

# --------------------------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------------------------


def _numbers(t: str) -> str:
    """Steps 4-6 and 9 need digits; a text without any skips them."""
    t = _ROAD.sub(_road, t)
    t = _PHONE.sub(_phone, t)
    t = _HOTLINE.sub(_hotline, t)
    low = t.lower()
    if any(word in low for word in _PHONE_WORDS):
        t = _PHONE_CONTEXT.sub(_phone_context, t)
    if "gọi" in low:
        t = _EMERGENCY.sub(_emergency, t)
    if "/" in t:
        t = _DOC_NUMBER.sub(_doc_number, t)
        t = _PARTY_DOC_NUMBER.sub(_party_doc_number, t)
        t = _DATE_DAY_RANGE.sub(_date_day_range, t)
        if "quý" in low:
            t = _QUARTER_YEAR.sub(_quarter_year, t)
    t = _DATE_DMY.sub(_date_dmy, t)
    if "/" in t or "-" in t:
        t = _MONTH_YEAR.sub(_month_year, t)
    if "/" in t:
        t = _DATE_DM.sub(_date_dm, t)
    t = _TIME.sub(_time, t)
    if "g" in t:
        hours = _HOUR_G.sub(_hour_g, t)
        if hours != t:  # the far end of "lúc 8g - 11g" knows it is a time once the near end is fenced
            hours = _HOUR_G.sub(_hour_g, hours)
        t = hours
    if _OPEN in t:
        t = _FENCED_RANGE.sub(" đến ", t)
        t = t.replace(_OPEN, " ").replace(_CLOSE, " ")
    return t


def normalize_with_report(text: str, *, lexicon: Mapping[str, str] | None = None) -> NormalizationReport:
    """Normalise `text` for speech and say what was spelled, looked up and dropped on the way."""
    report = NormalizationReport()
    if not text or text.isspace():
        return report
    t = _prepare(text, report)
    if lexicon:
        t = _apply_user_lexicon(t, lexicon, report)

    if "@" in t:
        t = _EMAIL.sub(_email, t)
    if "." in t:
        t = _URL.sub(_url, t)
        if _TLD_HINT.search(t):
            t = _BARE_DOMAIN.sub(_url, t)

    has_digit = _DIGIT_RUN.search(t) is not None
    if has_digit:
        t = _numbers(t)
    t = _ROMAN_TOKEN.sub(_roman_heading, t)
    t = _ADDRESS_ABBR.sub(lambda m: _pad(m, _ADDRESS_WORDS[m.group(1)] + " "), t)
    if "v." in t:
        t = _VV.sub(_vv, t)
    t = _LETTER_DOT_WORD.sub(r"\1 ", t)
    t = _ACRONYM_RE.sub(_builtin_acronym, t)
    if has_digit:
        t = _measures(t)
    if "/" in t:
        t = _SLASH_PER.sub(_slash_per, t)
    if _UNIT_ALONE_HINT.search(t):
        t = _UNIT_ALONE.sub(lambda m: _pad(m, UNITS[m.group(1)]), t)
    if has_digit:
        t = _cardinals(t)

    def spell_caps(m: re.Match) -> str:
        token = m.group(0)
        if is_syllable(token):  # "THÔNG BÁO" is words, not letters
            return token
        report._add(report.spelled, token)
        return _pad(m, spell(token))

    t = _CAPS.sub(spell_caps, t)
    t = _SINGLE_CONSONANT.sub(lambda m: _pad(m, _letter_name(m.group(1))), t)
    t = _finish(t)
    if not _HAS_LETTER.search(t):
        return report
    report.text = t
    return report


def normalize(text: str, *, lexicon: Mapping[str, str] | None = None) -> str:
    """The spoken form of `text` in lower-case Vietnamese words with sentence punctuation; "" if nothing to say."""
    return normalize_with_report(text, lexicon=lexicon).text
