"""Step 3, URLs and e-mail addresses: the host only, "chấm" between labels."""

from __future__ import annotations

import re

from nguon.speech.normalize.letters import _CODA, _ONSET, spell
from nguon.speech.normalize.matching import _pad
from nguon.speech.numbers import read_digits

# --------------------------------------------------------------------------------------------------------------
# 3. URLs and e-mail addresses
# --------------------------------------------------------------------------------------------------------------

_DOMAIN_WORDS = {
    "gov": "gốp",
    "vn": "vê en",
    "com": "com",
    "net": "nét",
    "org": "o rờ gờ",
    "edu": "e đu",
    "info": "in phô",
    "dongnai": "đồng nai",
    "chinhphu": "chính phủ",
    "baodongnai": "báo đồng nai",
    "dichvucong": "dịch vụ công",
    "mail": "meo",
    "gmail": "gờ meo",
    "email": "i meo",
}
_PRONOUNCEABLE = re.compile(rf"(?:{_ONSET}?[aeiouy]{{1,3}}{_CODA}?)+")  # a label that reads as written
_URL = re.compile(r"(?:[hH][tT][tT][pP][sS]?://|[wW][wW][wW]\.)[^\s<>\"']+")
_TLD_HINT = re.compile(r"\.(?:vn|com|net|org|gov|edu|info|int|io)(?![\w-])", re.I)
_BARE_DOMAIN = re.compile(
    r"[a-z0-9](?<![\w@.\-/][a-z0-9])[a-z0-9\-]*\.(?:[a-z0-9][a-z0-9\-]*\.)*(?:vn|com|net|org|gov|edu|info|int|io)"
    r"(?![\w\-]|\.[a-z0-9])(?:/[^\s]*)?",
    re.I,
)
_EMAIL = re.compile(r"[A-Za-z0-9](?<![\w.+\-][A-Za-z0-9])[A-Za-z0-9._+\-]*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_TRAILING_PUNCT = ".,;:!?)]}'\""
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.)?", re.I)
_URL_REST = re.compile(r"[/?#:]")
_LABEL_PARTS = re.compile(r"[a-z]+|\d+")
_LOCAL_PARTS = re.compile(r"([._+\-])")
_LOCAL_SEPARATORS = {".": "chấm", "_": "gạch dưới", "-": "gạch ngang", "+": "cộng"}


def _read_label(label: str) -> str:
    low = label.lower()
    if low in _DOMAIN_WORDS:
        return _DOMAIN_WORDS[low]
    words = []
    for part in _LABEL_PARTS.findall(low):
        if part.isdigit():
            words.append(read_digits(part))
        elif len(part) <= 12 and _PRONOUNCEABLE.fullmatch(part):
            words.append(part)
        else:
            words.append(spell(part))
    return " ".join(words)


def _read_host(host: str) -> str:
    return " chấm ".join(_read_label(label) for label in host.split(".") if label)


def _url(m: re.Match) -> str:
    url = m.group(0)
    tail = ""
    while url and url[-1] in _TRAILING_PUNCT:
        tail = url[-1] + tail
        url = url[:-1]
    host = _URL_REST.split(_URL_PREFIX.sub("", url), maxsplit=1)[0]
    return _pad(m, f"{_read_host(host)}{tail}" if host else tail)


def _email(m: re.Match) -> str:
    local, _, host = m.group(0).partition("@")
    words = [_LOCAL_SEPARATORS.get(part) or _read_label(part) for part in _LOCAL_PARTS.split(local) if part]
    return _pad(m, f"{' '.join(words)} a còng {_read_host(host)}")
