import unicodedata

import pytest

from nguon.lib.folding import fold


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Đầu tư", "dau tu"),
        ("ĐỒNG NAI", "dong nai"),
        ("đường", "duong"),
        ("Phường Biên Hòa", "phuong bien hoa"),
        ("Xã Trị An", "xa tri an"),
        ("Nguyễn Thị Ánh Tuyết", "nguyen thi anh tuyet"),
        ("Ơ Ư ơ ư", "o u o u"),
        ("Hello, world 123!", "hello, world 123!"),
        ("", ""),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_fold_is_the_same_for_composed_and_decomposed_input():
    text = "Đồng Nai – Biên Hòa"
    assert fold(unicodedata.normalize("NFD", text)) == fold(unicodedata.normalize("NFC", text)) == "dong nai – bien hoa"


def test_fold_is_idempotent():
    once = fold("Ủy ban nhân dân tỉnh Đồng Nai")
    assert fold(once) == once == "uy ban nhan dan tinh dong nai"
