"""Step 6, dates and times, fenced so that a range between two of them reads "đến"."""

from __future__ import annotations

import re

from nguon.speech.normalize.cleanup import roman_value
from nguon.speech.normalize.matching import _CLOSE, _OPEN, _pad, _word_before, _words_before
from nguon.speech.numbers import read_month, read_number

# --------------------------------------------------------------------------------------------------------------
# 6. Dates and times. Their readings are fenced by two private characters so that a dash (or "đến") between
#    two of them reads "đến"; the fences become spaces at the end of the step.
# --------------------------------------------------------------------------------------------------------------

_END_OF_DATE = r"(?![\w/]|[.,]\d)"
_DAY = r"(\d(?<![\w/.,\-]\d)\d?)"
_DATE_DMY = re.compile(rf"{_DAY}([/.\-])(\d{{1,2}})\2(\d{{4}}){_END_OF_DATE}")
_DATE_DAY_RANGE = re.compile(rf"{_DAY}\s*[-–]\s*(\d{{1,2}})/(\d{{1,2}})(?:/(\d{{4}}))?{_END_OF_DATE}")
_QUARTER_YEAR = re.compile(r"([1-4]|IV|I{1,3})\s*[/\-]\s*(\d{4})(?![\w/])")
_QUARTER_BEFORE = re.compile(r"(?<!\w)(?i:quý)\s+$")
_MONTH_YEAR = re.compile(rf"{_DAY}\s*([/\-])\s*(\d{{4}}){_END_OF_DATE}")
_DATE_DM = re.compile(rf"{_DAY}/(\d{{1,2}}){_END_OF_DATE}")
_NGAY_BEFORE = re.compile(r"(?<!\w)(?i:ngày)\s+$")
_THANG_BEFORE = re.compile(r"(?<!\w)(?i:tháng)\s+$")
# The word before a bare "d/m" that makes it a date ("sáng 15/3", "từ 1/7"), or a street name ("đường 30/4").
_DATE_WORDS = frozenset(
    (
        *("ngày", "sáng", "trưa", "chiều", "tối", "đêm", "hôm", "từ", "đến", "tới", "trước", "sau", "vào", "và"),
        *("hạn", "hết", "dịp", "lễ", "khánh", "niệm", "mừng"),
    )
)
_HOLIDAYS = frozenset(((2, 9), (1, 5), (1, 6), (1, 10)))  # read as dates even where a fraction could be meant
_AFTER_DATE_DASH = re.compile(rf"{_CLOSE}\s*[-–]\s*$")  # "30/4 - 1/5"
_STREET_WORDS = frozenset(("đường", "phố", "trường", "viên", "cầu", "hẻm", "kiệt"))
# "14h30", "14H30" (capitals in headings), "8g30", "14:30", "7h"; a bare capital "8H" may be a class or a code.
_TIME = re.compile(
    r"(\d(?<![\w.,:]\d)\d?)(?:[hgHG](\d{2})(?:'|ph|p|PH|P)?(?:\s*(?:phút|PHÚT)(?!\w))?|h|:(\d{2})(?::(\d{2}))?)"
    r"(?!\w)(?!:\d)"
)
_FENCED_RANGE = re.compile(rf"{_CLOSE}\s*(?:-|đến)\s*{_OPEN}")

# "g" for giờ. "8g30" is always a time (in _TIME above); a bare "8g" is also "500g", "5g muối" (grams), so it is
# an hour only (hour 0-24, read "tám giờ") when
#   - two-digit minutes follow after a space ("8g 30", "8g 30 phút") and then the end of the clause, a part of the
#     day, a date or a range ("8g 30 gói" stays grams);
#   - or a time word comes before it: lúc, từ, đến, tới, trước, sau, vào, đúng, hồi ("lúc 8g");
#   - or a part of the day or a date follows: sáng, trưa, chiều, tối, đêm, khuya, hôm, "ngày" and a date;
#   - or it is one end of a range whose other end is a time ("7h30 - 11g", "8g-11g30", "lúc 8g đến 11g"; a second
#     pass reaches the far end of a range of two bare hours), so "5g-10g" alone stays grams.
# Everything else followed by "g" stays grams (step 9).
_HOUR_G = re.compile(
    r"(\d(?<![\w.,:]\d)\d?)g(?!\w)(?![.,]\d)(?:[ \t]+(\d{2})(?!\w|[.,]\d)(?:[ \t]*(phút|ph|p)(?!\w))?)?"
)
_PART_OF_DAY = r"(?:sáng|trưa|chiều|tối|đêm|khuya|hôm|mai|nay)(?!\w)"
_AFTER_MINUTES = re.compile(
    rf"\s*(?:$|[.,;:!?){_OPEN}{_CLOSE}]|{_PART_OF_DAY}|(?:ngày|đến|tới|và|cùng|thứ|tại|ở)(?!\w)"
    # a dash only before another time: "8g 30 - 11g" is a range of times, "8g 50-100" grams and a range of numbers
    rf"|[-–]\s*(?:{_OPEN}|\d{{1,2}}\s*[hg](?!\w)|\d{{1,2}}[hg:]\d{{2}}))",
    re.I,
)
_HOUR_BEFORE = re.compile(r"(?<!\w)(?i:lúc|từ|đến|tới|trước|sau|vào|đúng|hồi)\s+$")
_RANGE_BEFORE = re.compile(rf"{_CLOSE}\s*(?:[-–]|(?i:đến|tới)(?!\w))\s*$")
_HOUR_AFTER = re.compile(
    rf"\s*(?:[-–]|(?i:đến|tới)(?!\w))\s*{_OPEN}"
    rf"|\s+(?i:{_PART_OF_DAY}|ngày\s*(?:{_OPEN}|mai(?!\w)|hôm(?!\w)))"
)


def _fence(words: str) -> str:
    return f"{_OPEN}{words}{_CLOSE}"


def _valid_date(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _date_dmy(m: re.Match) -> str:
    day, month, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if not _valid_date(day, month):
        return m.group(0)
    ngay = "" if _words_before(m.string, m.start(), _NGAY_BEFORE) else "ngày "
    return _fence(f"{ngay}{read_number(day)} tháng {read_month(month)} năm {read_number(year)}")


def _date_day_range(m: re.Match) -> str:
    first, last, month = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if not (_valid_date(first, month) and _valid_date(last, month) and first < last):
        return m.group(0)
    ngay = "" if _words_before(m.string, m.start(), _NGAY_BEFORE) else "ngày "
    words = f"{ngay}{read_number(first)} đến {read_number(last)} tháng {read_month(month)}"
    if m.group(4):
        words += f" năm {read_number(int(m.group(4)))}"
    return _fence(words)


def _quarter_year(m: re.Match) -> str:
    if not _words_before(m.string, m.start(), _QUARTER_BEFORE):
        return m.group(0)
    quarter = m.group(1)
    value = int(quarter) if quarter.isdigit() else roman_value(quarter)
    return _pad(m, f"{read_number(value)} năm {read_number(int(m.group(2)))}")


def _month_year(m: re.Match) -> str:
    month, separator, year = int(m.group(1)), m.group(2), int(m.group(3))
    after_thang = _words_before(m.string, m.start(), _THANG_BEFORE) is not None
    if not 1 <= month <= 12 or (separator == "-" and not after_thang):  # "5-2024" alone is not a date
        return m.group(0)
    return _fence(f"{'' if after_thang else 'tháng '}{read_month(month)} năm {read_number(year)}")


def _date_dm(m: re.Match) -> str:
    day, month = int(m.group(1)), int(m.group(2))
    if not _valid_date(day, month):
        return m.group(0)
    before = _word_before(m.string, m.start())
    if before in _STREET_WORDS:  # "đường 30/4" is the street named after the date: "đường ba mươi tháng tư"
        return f"{read_number(day)} tháng {read_month(month)}"
    if before == "ngày":
        return _fence(f"{read_number(day)} tháng {read_month(month)}")
    if (
        before in _DATE_WORDS
        or (day, month) in _HOLIDAYS
        or (day > month and (day, month) != (24, 7))
        or _words_before(m.string, m.start(), _AFTER_DATE_DASH)
    ):
        # "23/5" is a date; "1/2", "10/12 xã" are fractions or counts and "24/7" is "all the time".
        return _fence(f"ngày {read_number(day)} tháng {read_month(month)}")
    return m.group(0)


def _hour_g(m: re.Match) -> str:
    hour = int(m.group(1))
    if hour > 24:
        return m.group(0)
    text, minute, word = m.string, m.group(2), m.group(3)
    if minute is not None and int(minute) <= 59 and _AFTER_MINUTES.match(text, m.end()):
        # "8g 30" reads as written, "tám giờ ba mươi" ("phút" only when the text says it).
        words = f"{read_number(hour)} giờ"
        if int(minute):
            words += f" {read_number(int(minute))}"
            if word:
                words += " phút"
        return _fence(words)
    hour_end = m.start() + len(m.group(1)) + 1
    if (
        _words_before(text, m.start(), _HOUR_BEFORE)
        or _words_before(text, m.start(), _RANGE_BEFORE)
        or _HOUR_AFTER.match(text, hour_end)
    ):
        return _fence(f"{read_number(hour)} giờ") + text[hour_end : m.end()]
    return m.group(0)


def _time(m: re.Match) -> str:
    hour = int(m.group(1))
    minute = m.group(2) or m.group(3)
    second = m.group(4)
    if hour > 24 or (minute and int(minute) > 59) or (second and int(second) > 59):
        return m.group(0)
    words = f"{read_number(hour)} giờ"
    if minute and int(minute):
        words += f" {read_number(int(minute))} phút"
    if second and int(second):
        words += f" {read_number(int(second))} giây"
    return _fence(words)
