"""Step 9, numbers in context: ranges, money, percentages, units, ordinals, months, fractions, cardinals."""

from __future__ import annotations

import re

from nguon.speech.normalize.matching import _pad, _words_before
from nguon.speech.numbers import read_decimal, read_digits, read_month, read_number, read_ordinal

# --------------------------------------------------------------------------------------------------------------
# 9. Numbers in context
# --------------------------------------------------------------------------------------------------------------


def _num(not_after: str = "") -> str:
    """A number as written in Vietnamese: thousands dots and a decimal comma ("1.234.567,5"), or a dotted
    decimal ("1.5", read as a decimal only in a measurement). Never taken from the middle of another number,
    nor after a character of `not_after`."""
    return (
        rf"\d(?<![\d{not_after}]\d)(?<!\d[.,]\d)"
        r"(?:\d{0,2}(?:\.\d{3})+(?!\d)(?:,\d+)?|\d*\.\d{1,2}(?![\d.])|\d*(?:,\d+)?)"
    )


_NUM = _num()
_NUM_RANGE_START = _num(r"\w\-")
_MAGNITUDES = {
    "nghìn tỷ": "nghìn tỷ",
    "ngàn tỷ": "ngàn tỷ",
    "nghìn": "nghìn",
    "ngàn": "ngàn",
    "triệu": "triệu",
    "tỷ": "tỷ",
    "tỉ": "tỷ",
    "tr": "triệu",
    "k": "nghìn",
}
_MAG = "(?:" + "|".join(re.escape(k) for k in sorted(_MAGNITUDES, key=len, reverse=True)) + ")"

UNITS = {
    "km/h": "ki lô mét trên giờ",
    "km/giờ": "ki lô mét trên giờ",
    "m/s": "mét trên giây",
    "km²": "ki lô mét vuông",
    "km2": "ki lô mét vuông",
    "m²": "mét vuông",
    "m2": "mét vuông",
    "cm²": "xen ti mét vuông",
    "cm2": "xen ti mét vuông",
    "m³": "mét khối",
    "m3": "mét khối",
    "cm³": "xen ti mét khối",
    "cm3": "xen ti mét khối",
    "ha": "héc ta",
    "km": "ki lô mét",
    "m": "mét",
    "dm": "đề xi mét",
    "cm": "xen ti mét",
    "mm": "mi li mét",
    "kg": "ki lô gam",
    "g": "gam",
    "mg": "mi li gam",
    "l": "lít",
    "ml": "mi li lít",
    "°C": "độ xê",
    "oC": "độ xê",
    "°F": "độ ép",
    "°": "độ",
    "W": "oát",
    "kW": "ki lô oát",
    "MW": "mê ga oát",
    "GW": "gi ga oát",
    "Wh": "oát giờ",
    "kWh": "ki lô oát giờ",
    "MWh": "mê ga oát giờ",
    "GWh": "gi ga oát giờ",
    "V": "vôn",
    "kV": "ki lô vôn",
    "kVA": "ki lô vôn am pe",
    "MVA": "mê ga vôn am pe",
    "Hz": "héc",
    "MHz": "mê ga héc",
    "dB": "đề xi ben",
    "ppm": "phần triệu",
    "MB": "mê ga bai",
    "GB": "gi ga bai",
    "h": "giờ",
    "ph": "phút",
    "s": "giây",
    "k": "nghìn",
    "tr": "triệu",
}
# Units also read without a number before them (unambiguous ones only: "(kWh)", "đơn vị: km²").
_STANDALONE_UNITS = ("km/h", "km²", "km2", "m²", "m³", "cm²", "cm³", "kWh", "MWh", "MW", "kW", "kV", "km", "kg", "°C")
_PER_WORDS = (
    "ngày|tháng|năm|quý|tuần|giờ|phút|người|hộ|lượt|suất|lần|ca|buổi|con|cây|chiếc|cái|tấn|lít|khẩu|học sinh|trẻ"
)
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))
_PER = rf"(?:\s*/\s*(?:{_UNIT_ALT}|{_PER_WORDS})(?!\w))"

_TIMES = re.compile(r"(\d)\s*[x×]\s*(?=\d)")
_NEGATIVE_TEMPERATURE = re.compile(r"-(?<![\w.,]-)\s?(?=\d[\d.,]*\s*(?:°|oC(?!\w)))")
_RANGE = re.compile(rf"({_NUM_RANGE_START})(\s*%)?\s*[-–]\s*(?=({_NUM})(?!\d))")
_MONEY = re.compile(
    rf"({_NUM})\s*(?:({_MAG})(?!\w)\s*)?"
    r"(?:(đồng|VNĐ|VND|vnđ|vnd|đ|₫)|(USD|usd|đô la [Mm]ỹ|đô la|đô)|(EUR|euro|€))(?!\w)"
    rf"({_PER}*)"
)
_MONEY_PREFIX = re.compile(rf"(US\$|\$|€)\s*({_NUM})(?:\s*({_MAG})(?!\w))?")
_PERCENT = re.compile(rf"({_NUM})\s*(%|‰)")
_UNIT = re.compile(rf"({_NUM})\s*(?:({_MAG})(?!\w)\s*)?({_UNIT_ALT})(?!\w)")
_UNIT_ALONE_HINT = re.compile(r"km|kg|m²|m³|cm²|cm³|kW|kV|MW|°C")
_UNIT_ALONE = re.compile(
    r"(?<!\w)(" + "|".join(re.escape(u) for u in sorted(_STANDALONE_UNITS, key=len, reverse=True)) + r")(?!\w)"
)
_SLASH_PER = re.compile(rf"/\s*(?:{_UNIT_ALT}|{_PER_WORDS})(?!\w){_PER}*")
_MONEY_BEFORE = re.compile(r"(?:đồng|đô la mỹ|ơ rô)\s*$")
_ORDINAL = re.compile(r"([tT]hứ|THỨ)(?<!\w[tT]hứ)(?<!\wTHỨ)\s+(\d{1,3})(?![\d\w])(?![.,/]\d)")
_MONTH = re.compile(r"([tT]háng|THÁNG)(?<!\w[tT]háng)(?<!\wTHÁNG)\s+(\d{1,2})(?![\d\w])(?![.,/\-]\d)")
_BEFORE_MAGNITUDE = re.compile(rf"({_NUM})(?=\s*(?:nghìn|ngàn|triệu|tỷ|tỉ)(?!\w))")
_FRACTION = re.compile(r"(\d(?<![\d.,/]\d)\d{0,5})/(\d{1,6})(?![\d/])(?![.,]\d)")
_DIGIT_RUN = re.compile(r"\d+")
_CARDINAL = re.compile(r"\d+(?:[.,]\d+)*")
_THOUSANDS = re.compile(r"\d{1,3}(?:\.\d{3})+")


def _int_words(digits: str) -> str:
    """A plain digit string: zero-padded counts ("05 người") as numbers, long or zero-led codes digit by digit."""
    if len(digits) > 1 and digits[0] == "0":
        return read_number(int(digits)) if len(digits) <= 3 else read_digits(digits)
    if len(digits) > 9:
        return read_digits(digits)
    return read_number(int(digits))


def _num_words(text: str, *, measure: bool = False) -> str:
    """Read a number token. In a measurement (money, %, unit) a single dot with one or two digits is a decimal."""
    if sum(c.isdigit() for c in text) > 18:  # an identifier, not a quantity (and beyond int()'s comfort)
        return " ".join(read_digits(part) for part in re.split(r"[.,]", text) if part)
    if "," in text:
        whole, _, frac = text.partition(",")
        if "," not in frac and "." not in frac and whole and (whole.isdigit() or _THOUSANDS.fullmatch(whole)):
            return read_decimal(text)
        return " phẩy ".join(_num_words(part) for part in text.split(",") if part)
    if "." in text:
        if _THOUSANDS.fullmatch(text):
            return read_number(int(text.replace(".", "")))
        parts = text.split(".")
        if measure and len(parts) == 2:
            return read_decimal(text)
        return " chấm ".join(_int_words(part) for part in parts if part)
    return _int_words(text)


def _value(text: str) -> float:
    if "," in text:
        whole, _, frac = text.partition(",")
        return float(whole.replace(".", "") + "." + frac)
    if _THOUSANDS.fullmatch(text):
        return float(text.replace(".", ""))
    return float(text)


def _range(m: re.Match) -> str:
    first, percent, second = m.group(1), m.group(2), m.group(3)
    try:
        if _value(first) >= _value(second):  # "2-1" is a score, not a range
            return m.group(0)
    except ValueError:
        return m.group(0)
    return _pad(m, f"{_num_words(first, measure=True)}{' phần trăm' if percent else ''} đến ")


def _per_words(rest: str, joiner: str) -> str:
    return " ".join(f"{joiner} {UNITS.get(part.strip(), part.strip())}" for part in rest.split("/") if part.strip())


def _money(m: re.Match) -> str:
    number, magnitude, vnd, usd, _eur, per = m.groups()
    words = _num_words(number, measure=True)
    if magnitude:
        words += " " + _MAGNITUDES[magnitude]
    words += " đồng" if vnd else " đô la mỹ" if usd else " ơ rô"
    if per:
        words += " " + _per_words(per, "một")
    return _pad(m, words)


def _money_prefix(m: re.Match) -> str:
    symbol, number, magnitude = m.groups()
    words = _num_words(number, measure=True)
    if magnitude:
        words += " " + _MAGNITUDES[magnitude]
    return _pad(m, f"{words} {'ơ rô' if symbol == '€' else 'đô la mỹ'}")


def _percent(m: re.Match) -> str:
    return _pad(m, f"{_num_words(m.group(1), measure=True)} {'phần trăm' if m.group(2) == '%' else 'phần nghìn'}")


def _unit(m: re.Match) -> str:
    number, magnitude, unit = m.groups()
    words = _num_words(number, measure=True)
    if magnitude:
        words += " " + _MAGNITUDES[magnitude]
    return _pad(m, f"{words} {UNITS[unit]}")


def _slash_per(m: re.Match) -> str:
    # "đồng/kg" is "đồng một ki lô gam"; "người/km²", "lượt/ngày" are "trên".
    joiner = "một" if _words_before(m.string, m.start(), _MONEY_BEFORE) else "trên"
    return _pad(m, " " + _per_words(m.group(0), joiner))


def _ordinal(m: re.Match) -> str:
    return f"{m.group(1)} {read_ordinal(int(m.group(2)))}"


def _month(m: re.Match) -> str:
    month = int(m.group(2))
    if not 1 <= month <= 12:
        return m.group(0)
    return f"{m.group(1)} {read_month(month)}"


def _fraction(m: re.Match) -> str:
    top, bottom = int(m.group(1)), int(m.group(2))
    joiner = "phần" if top < bottom <= 10 else "trên"  # "3/4" ba phần bốn, "15/20 xã" mười lăm trên hai mươi
    return _pad(m, f"{_int_words(m.group(1))} {joiner} {_int_words(m.group(2))}")


def _split_digits(m: re.Match) -> str:
    # "5G", "H5N1", "F0": letters and digits are read apart.
    return _pad(m, m.group(0))


# A range whose two ends both carry their unit or currency ("5kg-10kg", "10.000đ-15.000đ/kg", "7 giờ - 11 giờ"):
# the dash between them is "đến" (it was dropped: "năm ki lô gam mười ki lô gam"). Both ends must be a number with
# a unit, so a dash between clauses ("16h30 - bảy trăm người") is left alone.
_MEASURE_UNIT = rf"(?:{_UNIT_ALT}|đồng|VNĐ|VND|vnđ|vnd|đ|₫|USD|usd|%|‰|giờ|phút)"
_MEASURED = rf"{_NUM}\s*(?:{_MAG}(?!\w)(?:\s*{_MEASURE_UNIT}(?!\w))?|{_MEASURE_UNIT}(?!\w))"
# A dash with a space before it and none after is a minus sign ("5% -5°C"), not a range.
_MEASURE_RANGE = re.compile(rf"({_MEASURED})(?:[-–]\s*|\s+[-–]\s+)(?={_MEASURED})")


def _measures(t: str) -> str:
    t = _TIMES.sub(r"\1 nhân ", t)
    if "-" in t or "–" in t:
        t = _MEASURE_RANGE.sub(r"\1 đến ", t)
    if "°" in t or "oC" in t:
        t = _NEGATIVE_TEMPERATURE.sub("âm ", t)
    t = _RANGE.sub(_range, t)
    if "$" in t or "€" in t:
        t = _MONEY_PREFIX.sub(_money_prefix, t)
    t = _MONEY.sub(_money, t)
    if "%" in t or "‰" in t:
        t = _PERCENT.sub(_percent, t)
    return _UNIT.sub(_unit, t)


def _cardinals(t: str) -> str:
    if "thứ" in t or "Thứ" in t or "THỨ" in t:
        t = _ORDINAL.sub(_ordinal, t)
    if "háng" in t or "THÁNG" in t:
        t = _MONTH.sub(_month, t)
    t = _BEFORE_MAGNITUDE.sub(lambda m: _pad(m, _num_words(m.group(1), measure=True)), t)
    if "/" in t:
        t = _FRACTION.sub(_fraction, t)
    t = _DIGIT_RUN.sub(_split_digits, t)
    return _CARDINAL.sub(lambda m: _pad(m, _num_words(m.group(0))), t)
