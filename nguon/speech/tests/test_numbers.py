"""Vietnamese number reading."""

import pytest

from nguon.speech.numbers import read_decimal, read_digits, read_month, read_number, read_ordinal


@pytest.mark.parametrize(
    ("n", "spoken"),
    [
        (0, "không"),
        (1, "một"),
        (4, "bốn"),
        (5, "năm"),
        (10, "mười"),
        (11, "mười một"),
        (14, "mười bốn"),
        (15, "mười lăm"),
        (20, "hai mươi"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (25, "hai mươi lăm"),
        (55, "năm mươi lăm"),
        (91, "chín mươi mốt"),
        (100, "một trăm"),
        (101, "một trăm linh một"),
        (104, "một trăm linh bốn"),
        (105, "một trăm linh năm"),
        (110, "một trăm mười"),
        (115, "một trăm mười lăm"),
        (121, "một trăm hai mươi mốt"),
        (1000, "một nghìn"),
        (1001, "một nghìn không trăm linh một"),
        (1010, "một nghìn không trăm mười"),
        (1100, "một nghìn một trăm"),
        (2024, "hai nghìn không trăm hai mươi tư"),
        (10_000, "mười nghìn"),
        (21_000, "hai mươi mốt nghìn"),
        (100_000, "một trăm nghìn"),
        (1_000_000, "một triệu"),
        (1_000_050, "một triệu không trăm năm mươi"),
        (1_005_000, "một triệu không trăm linh năm nghìn"),
        (1_500_000, "một triệu năm trăm nghìn"),
        (1_234_567, "một triệu hai trăm ba mươi tư nghìn năm trăm sáu mươi bảy"),
        (1_000_000_000, "một tỷ"),
        (1_500_000_000, "một tỷ năm trăm triệu"),
        (1_000_000_005, "một tỷ không trăm linh năm"),
        (1_000_000_000_000, "một nghìn tỷ"),
        (-5, "âm năm"),
    ],
)
def test_read_number(n, spoken):
    assert read_number(n) == spoken


def test_read_digits():
    assert read_digits("0912") == "không chín một hai"
    assert read_digits("") == ""
    with pytest.raises(ValueError):
        read_digits("09 12")


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("3,5", "ba phẩy năm"),
        ("12,75", "mười hai phẩy bảy mươi lăm"),
        ("0,5", "không phẩy năm"),
        ("3,05", "ba phẩy không năm"),
        ("3,50", "ba phẩy năm mươi"),
        ("3,14159", "ba phẩy một bốn một năm chín"),
        ("1.234,5", "một nghìn hai trăm ba mươi tư phẩy năm"),
        ("3.5", "ba phẩy năm"),
        ("-2,5", "âm hai phẩy năm"),
        ("7", "bảy"),
    ],
)
def test_read_decimal(text, spoken):
    assert read_decimal(text) == spoken


def test_read_decimal_rejects_words():
    with pytest.raises(ValueError):
        read_decimal("ba,5")


@pytest.mark.parametrize(("n", "spoken"), [(1, "nhất"), (2, "hai"), (4, "tư"), (14, "mười bốn"), (21, "hai mươi mốt")])
def test_read_ordinal(n, spoken):
    assert read_ordinal(n) == spoken


def test_read_month():
    assert [read_month(m) for m in (1, 4, 5, 10, 12)] == ["một", "tư", "năm", "mười", "mười hai"]
