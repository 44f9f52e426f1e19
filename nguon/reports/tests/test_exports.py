"""Exports: the TTCS report built from real roll-ups, read back from .xlsx, .docx and PDF, matches the Report."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from nguon.broadcast.reports import ingest, parse
from nguon.broadcast.tests.device_helpers import batch_body, heartbeat, iso, make_device
from nguon.broadcast.tests.schedule_helpers import published
from nguon.reports import catalogue, periods
from nguon.reports.exports import export, layout
from nguon.reports.models import ContentMonth, SourceLevel, UnitDay
from nguon.reports.tables import CODE, DECIMAL, INT, PERCENT

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 20, 14, 35, tzinfo=HCM)


def store(device, *records):
    ingest([parse(batch_body(*records), device_id=device.pk, now=NOW)])


@pytest.fixture
def report(cast, django_capture_on_commit_callbacks):
    """November 2026 for the province: one commune with a device that played, the other with large roll-ups."""
    with time_machine.travel(NOW, tick=False):
        device = make_device(cast, "BH-900")
        make_device(cast, "BH-901", kind="board")
        with django_capture_on_commit_callbacks(execute=True):
            published(cast, unit=cast.commune, priority="emergency", title="Bão số 9")
            published(cast, priority="priority")
        play = {
            "seq": 9,
            "type": "play",
            "occurrence": "1@2026-11-20",
            "item": "41",
            "started_at": iso(NOW - timedelta(hours=2)),
            "ended_at": iso(NOW - timedelta(hours=2) + timedelta(seconds=5430)),
            "result": "played",
        }
        store(device, *(heartbeat(i, NOW - timedelta(minutes=i)) for i in range(1, 9)), play)
        # Figures large enough to need thousands separators, as a year of a busy commune has.
        UnitDay.objects.create(unit=cast.other_commune, day=date(2026, 11, 3), played_seconds=4_504_320)
        ContentMonth.objects.create(
            unit=cast.other_commune, month=date(2026, 11, 1), priority="normal",
            source_level=SourceLevel.COMMUNE, bulletins=1234,
        )  # fmt: skip
        return catalogue.build("ttcs", cast.province, periods.parse("month", "2026-11"))


def test_the_report_has_the_figures_the_exports_are_checked_against(report):
    rows = {row["code"]: row for row in report.sections[0].rows}
    assert rows["26068"]["broadcast_hours"] == 1.5
    assert rows["26068"]["bulletins_emergency"] == 1
    assert rows["26041"]["bulletins"] == 1234
    assert rows["26041"]["broadcast_hours"] == 1251.2
    assert isinstance(rows["26068"]["online_share"], float)


# ---------------------------------------------------------------------------------------------------------------
# .xlsx


def test_xlsx_has_real_numbers_a_frozen_grouped_header_and_a_sheet_per_section(report):
    from openpyxl import load_workbook

    exported = export(report, "xlsx")
    assert exported.filename == "bao-cao-ttcs-75-2026-11.xlsx"
    book = load_workbook(BytesIO(exported.content))
    section = report.sections[0]
    assert book.sheetnames == ["Thông tin", "Hoạt động thông tin cơ sở theo"]
    info = book["Thông tin"]
    texts = {info.cell(r, 1).value: info.cell(r, 2).value for r in range(1, info.max_row + 1)}
    assert texts["Mã đơn vị"] == "75"
    assert texts["Kỳ báo cáo"] == "tháng 11/2026"
    assert texts["Số liệu tính đến (giờ Việt Nam)"] == datetime(2026, 11, 20, 14, 35)

    sheet = book[book.sheetnames[1]]
    assert sheet["A1"].value == report.title
    assert sheet["A4"].value.startswith("Kỳ báo cáo: tháng 11/2026")
    assert sheet["A5"].value == "Số liệu tính đến 14:35 20/11/2026"
    # Two header rows: a group's heading merged over its columns, the other headings over both rows.
    top = layout.header_rows(section)[0]
    grouped = next(c for c in top if c.colspan > 1)
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert f"D7:{chr(ord('D') + grouped.colspan - 1)}7" in merged and "A7:A8" in merged
    assert sheet["D7"].value == section.columns[3].group and sheet["D8"].value == section.columns[3].label
    assert sheet.freeze_panes == "D9"

    for offset, values in enumerate([*section.rows, section.total]):
        row = 9 + offset
        for col, column in enumerate(section.columns, start=1):
            cell, expected = sheet.cell(row, col), values[column.key]
            if column.kind == CODE and expected is not None:
                expected = str(expected)
            assert cell.value == (None if expected == "" else expected), (row, column.key)  # Excel has no ""
            if column.kind in (INT, DECIMAL, PERCENT) and expected is not None:
                assert isinstance(cell.value, int | float)
            assert cell.number_format == {INT: "#,##0", DECIMAL: "#,##0.0", PERCENT: "0.0%", CODE: "@"}.get(
                column.kind, "General"
            )
            assert cell.font.b == (values is section.total)
    assert sheet.cell(9 + len(section.rows) + 2, 1).value == section.note


def test_sheet_titles_are_short_unique_and_legal(report):
    section = report.sections[0]
    report.sections = [section, section, section]
    section.title = "Hoạt động: thông tin cơ sở theo địa bàn [2026]"
    titles = layout.sheet_titles(report)
    assert len(set(titles)) == 3 and all(len(t) <= 31 and not set(t) & set("[]:*?/\\") for t in titles)


# ---------------------------------------------------------------------------------------------------------------
# Vietnamese numbers and dates


def test_numbers_and_dates_are_written_the_vietnamese_way():
    assert layout.format_number(1234567.46, 1) == "1.234.567,5"
    assert layout.format_number(1234567) == "1.234.567"
    assert layout.format_number(999) == "999"
    assert layout.format_number(-1234.25, 1) == "-1.234,3"
    assert layout.format_percent(0.975) == "97,5 %"
    assert layout.format_percent(1) == "100,0 %"
    assert layout.format_number(None) == "" and layout.format_percent(None) == ""
    assert layout.nd30_day_month(date(2026, 2, 3)) == ("03", "02")
    assert layout.nd30_day_month(date(2026, 12, 25)) == ("25", "12")
    assert layout.roman(4) == "IV" and layout.roman(19) == "XIX"
    with translation.override("vi"):
        assert layout.place_and_date("Đồng Nai", date(2026, 12, 3)) == "Đồng Nai, ngày 03 tháng 12 năm 2026"
        assert layout.cell_text(1234.5, DECIMAL) == "1.234,5"
        assert layout.cell_text(0.5, PERCENT) == "50,0 %"
    with translation.override("en"):
        assert layout.cell_text(1234.5, DECIMAL) == "1,234.5"
        assert layout.cell_text(0.5, PERCENT) == "50.0%"
