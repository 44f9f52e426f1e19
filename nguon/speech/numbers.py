"""Vietnamese number reading: cardinals, digit strings, decimals, ordinals and month names.

Reading rules (the formal, northern-standard reading used on official radio):

- 1-9: một hai ba bốn năm sáu bảy tám chín; 0 is "không".
- 10 is "mười", 11-19 "mười một" … "mười chín" with 15 = "mười lăm" (never "mười tư": 14 = "mười bốn").
- 20-99: "X mươi Y" with Y = 1 → "mốt", 4 → "tư", 5 → "lăm" (21 "hai mươi mốt", 24 "hai mươi tư", 25 "hai mươi lăm").
- A zero tens digit after a hundreds digit is "linh" (105 "một trăm linh năm", 104 "một trăm linh bốn").
- Groups of three: nghìn, triệu, tỷ; a non-leading group below 100 is read with "không trăm"
  (2024 "hai nghìn không trăm hai mươi tư", 1 000 050 "một triệu không trăm năm mươi"); empty groups are silent.
- Beyond a billion the reading recurses: 10^12 is "một nghìn tỷ".
"""

from __future__ import annotations

DIGIT_WORDS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")

MONTH_WORDS = {
    1: "một",
    2: "hai",
    3: "ba",
    4: "tư",
    5: "năm",
    6: "sáu",
    7: "bảy",
    8: "tám",
    9: "chín",
    10: "mười",
    11: "mười một",
    12: "mười hai",
}

_BILLION = 1_000_000_000


def _read_triple(n: int, *, full: bool, words: list[str]) -> None:
    """Append the words for 0 < n < 1000; `full` reads a leading zero hundreds ("không trăm", "linh")."""
    hundreds, rest = divmod(n, 100)
    tens, units = divmod(rest, 10)
    if full or hundreds:
        words += (DIGIT_WORDS[hundreds], "trăm")
    if tens == 0:
        if units:
            if full or hundreds:
                words.append("linh")
            words.append(DIGIT_WORDS[units])
    elif tens == 1:
        words.append("mười")
        if units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGIT_WORDS[units])
    else:
        words += (DIGIT_WORDS[tens], "mươi")
        if units == 1:
            words.append("mốt")
        elif units == 4:
            words.append("tư")
        elif units == 5:
            words.append("lăm")
        elif units:
            words.append(DIGIT_WORDS[units])


def _read_below_billion(n: int, *, full: bool, words: list[str]) -> None:
    millions, rest = divmod(n, 1_000_000)
    thousands, units = divmod(rest, 1000)
    started = full
    for value, name in ((millions, "triệu"), (thousands, "nghìn"), (units, "")):
        if not value:
            continue
        _read_triple(value, full=started, words=words)
        if name:
            words.append(name)
        started = True


def read_number(n: int) -> str:
    """The Vietnamese reading of an integer: read_number(2024) == "hai nghìn không trăm hai mươi tư"."""
    if n < 0:
        return "âm " + read_number(-n)
    if n == 0:
        return "không"
    words: list[str] = []
    if n >= _BILLION:
        high, low = divmod(n, _BILLION)
        words.append(read_number(high))
        words.append("tỷ")
        if low:
            _read_below_billion(low, full=True, words=words)
    else:
        _read_below_billion(n, full=False, words=words)
    return " ".join(words)


def read_digits(digits: str) -> str:
    """Each digit on its own: read_digits("0912") == "không chín một hai". Anything but 0-9 is a ValueError."""
    if not (digits.isascii() and digits.isdigit()):
        if not digits:
            return ""
        raise ValueError(f"not a digit string: {digits!r}")
    return " ".join(DIGIT_WORDS[ord(c) - 48] for c in digits)


def _read_fraction(frac: str) -> str:
    """Digits after the decimal comma: up to three read as a number after any leading zeros, more digit by digit."""
    if len(frac) > 3:
        return read_digits(frac)
    stripped = frac.lstrip("0")
    words = ["không"] * (len(frac) - len(stripped))
    if stripped:
        words.append(read_number(int(stripped)))
    return " ".join(words)


def read_decimal(text: str) -> str:
    """A decimal in Vietnamese notation: read_decimal("12,75") == "mười hai phẩy bảy mươi lăm".

    The integer part may carry thousands dots ("1.234,5"). Without a comma a single dot is taken as the
    decimal point ("3.5", as written by people used to English notation). A leading "-" reads "âm".
    """
    text = text.strip()
    negative = text.startswith(("-", "−"))
    if negative:
        text = text[1:]
    if "," in text:
        whole, _, frac = text.partition(",")
        whole = whole.replace(".", "")
    elif "." in text:
        whole, _, frac = text.rpartition(".")
        whole = whole.replace(".", "")
    else:
        whole, frac = text, ""
    if not whole:
        whole = "0"
    if not (whole.isascii() and whole.isdigit()) or (frac and not (frac.isascii() and frac.isdigit())):
        raise ValueError(f"not a decimal number: {text!r}")
    spoken = read_number(int(whole))
    if frac:
        spoken += " phẩy " + _read_fraction(frac)
    return ("âm " + spoken) if negative else spoken


def read_ordinal(n: int) -> str:
    """The word after "thứ": 1 → "nhất", 4 → "tư", otherwise the cardinal (2 → "hai", 21 → "hai mươi mốt")."""
    if n == 1:
        return "nhất"
    if n == 4:
        return "tư"
    return read_number(n)


def read_month(n: int) -> str:
    """The word after "tháng": tháng một … tháng tư … tháng mười hai."""
    return MONTH_WORDS[n]
