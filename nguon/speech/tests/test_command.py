"""`nguon normalize "văn bản"` prints the spoken form (run here without the app being installed)."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from nguon.speech.management.commands.normalize import Command


def test_prints_the_spoken_text():
    out = StringIO()
    call_command(Command(), "UBND", "tỉnh", "ngày 1/7", stdout=out)
    assert out.getvalue().strip() == "ủy ban nhân dân tỉnh ngày một tháng bảy"


def test_report_lists_spelled_acronyms():
    out = StringIO()
    call_command(Command(), "XYZ 🎉", "--report", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "ích i dài dét"
    assert any("XYZ" in line for line in lines[1:])
    assert any("🎉" in line for line in lines[1:])


def test_reads_standard_input(monkeypatch):
    monkeypatch.setattr("sys.stdin", StringIO("15%"))
    out = StringIO()
    call_command(Command(), stdout=out)
    assert out.getvalue().strip() == "mười lăm phần trăm"


def test_nothing_speakable_is_an_error():
    with pytest.raises(CommandError):
        call_command(Command(), "🎉", stdout=StringIO())
