from xml.etree import ElementTree

import pytest

from nguon.lib.xmltext import describe, first_forbidden, is_xml_safe, strip_forbidden


@pytest.mark.parametrize(
    "char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]
)
def test_characters_xml_cannot_carry_are_found(char):
    text = f"Lũ trên sông{char} Đồng Nai"
    assert not is_xml_safe(text)
    assert first_forbidden(text) == (13, char)
    cleaned = strip_forbidden(text)
    assert cleaned == "Lũ trên sông Đồng Nai"
    # What is left parses as XML.
    ElementTree.fromstring(f"<p>{cleaned}</p>")


@pytest.mark.parametrize(
    "text", ["", "Tab\there", "lines\nand\r\nreturns", "Tiếng Việt: đầu tư ₫ 🌊", "\ue000\U0010ffff"]
)
def test_text_xml_can_carry_passes(text):
    assert is_xml_safe(text)
    assert first_forbidden(text) is None
    assert strip_forbidden(text) == text
    ElementTree.fromstring(f"<p>{text.replace(chr(0xE000), '').replace(chr(0x10FFFF), '')}</p>")


def test_describe_names_the_code_point():
    assert describe("\x0b") == "U+000B"
    assert describe("\ud800") == "U+D800"
