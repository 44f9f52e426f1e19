"""Step 4, phone numbers: digit by digit in their groups."""

from __future__ import annotations

import re

from nguon.speech.normalize.matching import _pad, _words_before
from nguon.speech.numbers import read_digits

# --------------------------------------------------------------------------------------------------------------
# 4. Phone numbers
# --------------------------------------------------------------------------------------------------------------

_PHONE = re.compile(
    r"(?P<cc>\+(?<![\w.,+]\+)\s?84|\((?<![\w.,+]\()0\d{1,3}\)|0(?<![\w.,+]0))(?P<rest>(?:[ .\-]?\d)+)(?!\w)"
)
_HOTLINE = re.compile(r"(?P<num>1(?<![\w.,]1)[89]00(?:[ .]?\d){4,6})(?!\w)")
_PHONE_WORDS = ("hotline", "đường dây nóng", "tổng đài", "điện thoại", "sđt", "đt", "fax", "zalo")
_PHONE_CONTEXT = re.compile(
    r"(?P<num>\d(?<![\w.,]\d)(?:[ .\-]?\d){2,14})(?!\w)",
)
_PHONE_CONTEXT_BEFORE = re.compile(r"(?<!\w)(?i:hotline|đường dây nóng|tổng đài|điện thoại|sđt|đt|fax|zalo)\s*:?\s*$")
_EMERGENCY = re.compile(r"1(?<![\w.,]1)1[1-6](?!\w|[.,]\d)")
_EMERGENCY_BEFORE = re.compile(
    r"(?<!\w)(?i:gọi)(?:\s+(?i:ngay|đến|tới|vào))?(?:\s+(?i:số|đường dây nóng|tổng đài))?\s+$"
)
_PHONE_SEP = re.compile(r"[ .\-]")
_CHUNK_SIZES = {10: [4, 3, 3], 11: [4, 4, 3], 9: [3, 3, 3], 8: [4, 4], 7: [3, 4], 6: [3, 3], 5: [2, 3]}


def _chunk(digits: str) -> list[str]:
    n = len(digits)
    if n <= 4:
        return [digits]
    sizes = _CHUNK_SIZES.get(n)
    if sizes is None:
        sizes = [3] * (n // 3)
        sizes[-1] += n % 3
    out, pos = [], 0
    for size in sizes:
        out.append(digits[pos : pos + size])
        pos += size
    return out


def _read_groups(groups: list[str]) -> str:
    """Digit groups with a pause between them, the way a number is dictated: "không hai năm một, ba tám …"."""
    merged: list[str] = []
    for group in groups:  # a lone digit joins the next group ("3.822.123" is "ba tám hai hai, một hai ba")
        if merged and len(merged[-1]) == 1:
            merged[-1] += group
        else:
            merged.append(group)
    chunks: list[str] = []
    for group in merged:
        chunks.extend(_chunk(group) if len(group) > 4 else [group])
    return ", ".join(read_digits(chunk) for chunk in chunks if chunk)


def _phone(m: re.Match) -> str:
    cc = m.group("cc").replace(" ", "")
    rest = m.group("rest")
    if cc == "+84":
        prefix, digits, valid = "cộng tám bốn, ", rest.lstrip(" .-"), (9, 10)
    elif cc == "0":
        prefix, digits, valid = "", "0" + rest, (10, 11)
    else:  # "(0251) 3822 123": the brackets close a group
        prefix, digits, valid = "", cc.strip("()") + " " + rest.lstrip(" .-"), (10, 11)
    pieces = _PHONE_SEP.split(digits)
    seps = _PHONE_SEP.findall(digits)
    total, best = 0, -1
    for i, piece in enumerate(pieces):
        total += len(piece)
        if total in valid:
            best = i
        if total >= valid[-1]:
            break
    if best < 0:
        return m.group(0)
    # Digits written after the number ("0912 345 678 12 người") are given back untouched.
    leftover = "".join(seps[j] + pieces[j + 1] for j in range(best, len(pieces) - 1))
    return _pad(m, f"{prefix}{_read_groups(pieces[: best + 1])}{leftover}")


def _hotline(m: re.Match) -> str:
    num = m.group("num")
    groups = _PHONE_SEP.split(num)
    if len(groups) == 1:
        groups = [num[:4], num[4:]]
    return _pad(m, _read_groups(groups))


def _phone_context(m: re.Match) -> str:
    if not _words_before(m.string, m.start(), _PHONE_CONTEXT_BEFORE):
        return m.group(0)
    return _pad(m, _read_groups(_PHONE_SEP.split(m.group("num"))))


def _emergency(m: re.Match) -> str:
    if not _words_before(m.string, m.start(), _EMERGENCY_BEFORE):
        return m.group(0)
    return _pad(m, read_digits(m.group(0)))
