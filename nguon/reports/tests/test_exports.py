"""Exports: the TTCS report built from real roll-ups, read back from .xlsx, .docx and PDF, matches the Report."""

from __future__ import annotations

import shutil
import subprocess
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
        assert layout.cell_text(0.5, PERCENT) == "50,0\u00a0%"  # a no-break space: never a lone % in a cell
    with translation.override("en"):
        assert layout.cell_text(1234.5, DECIMAL) == "1,234.5"
        assert layout.cell_text(0.5, PERCENT) == "50.0%"


# ---------------------------------------------------------------------------------------------------------------
# .docx


def mm(*lengths) -> tuple[int, ...]:
    return tuple(round(length.mm) for length in lengths)  # .docx stores twentieths of a point


def _docx(report):
    from docx import Document

    return Document(BytesIO(export(report, "docx").content))


def test_docx_follows_nd30_with_the_reports_figures_written_the_vietnamese_way(report):
    from docx.oxml.ns import qn

    doc = _docx(report)
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman" and normal.font.size.pt == 13
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "Times New Roman" and fonts.get(qn("w:cs")) == "Times New Roman"
    page = doc.sections[0]
    assert mm(page.top_margin, page.bottom_margin, page.left_margin, page.right_margin) == (20, 20, 30, 15)
    # The TTCS table has 20 columns: the report is printed landscape, as statistical forms are.
    assert mm(page.page_width, page.page_height) == (297, 210)

    header = doc.tables[0]
    issuer = header.cell(0, 0).paragraphs[0]
    assert issuer.text == "ỦY BAN NHÂN DÂN TỈNH ĐỒNG NAI" and issuer.runs[0].bold
    nation, motto = header.cell(0, 1).paragraphs[:2]
    assert (nation.text, motto.text) == ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
    assert nation.runs[0].bold and motto.runs[0].bold
    assert header.cell(1, 0).text.replace("\u00a0", "") == "Số: /BC-UBND"
    dated = header.cell(1, 1).paragraphs[0]
    assert dated.text == "Đồng Nai, ngày 20 tháng 11 năm 2026" and dated.runs[0].italic

    texts = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in texts
    assert "Kết quả hoạt động thông tin cơ sở tháng 11/2026" in texts
    section = report.sections[0]
    assert f"I. {section.title}" in texts
    assert section.note in texts

    table = doc.tables[1]
    top, labels = table.rows[0], table.rows[1]
    assert top._tr.trPr.find(qn("w:tblHeader")) is not None  # repeated on every page
    assert top.cells[3].text == section.columns[3].group and labels.cells[3].text == section.columns[3].label
    assert top.cells[0].text == labels.cells[0].text == section.columns[0].label  # merged over both rows
    body = [[cell.text for cell in row.cells] for row in table.rows[2:]]
    expected = [
        [layout.cell_text(row.get(c.key), c.kind) for c in section.columns] for row in [*section.rows, section.total]
    ]
    assert body == expected
    other = next(row for row in body if row[2] == "26041")
    keys = [c.key for c in section.columns]
    assert other[keys.index("bulletins")] == "1.234"
    assert other[keys.index("broadcast_hours")] == "1.251,2"
    mine = next(row for row in body if row[2] == "26068")
    assert mine[keys.index("online_share")].endswith("\u00a0%") and "," in mine[keys.index("online_share")]
    total = table.rows[-1]
    assert all(run.bold for cell in total.cells for p in cell.paragraphs for run in p.runs)

    signature = doc.tables[-1]
    assert signature.cell(0, 0).paragraphs[0].text == "Nơi nhận:"
    assert [p.text for p in signature.cell(0, 1).paragraphs[:2]] == ["THỦ TRƯỞNG CƠ QUAN", "(Ký, ghi rõ họ tên)"]


def test_the_issuing_body_and_signer_come_from_the_settings(report, settings):
    settings.REPORT_ISSUER = "Sở Văn hóa, Thể thao và Du lịch"
    settings.REPORT_ISSUER_PARENT = "UBND tỉnh Đồng Nai"
    settings.REPORT_ISSUER_ABBR = "SVHTTDL"
    settings.REPORT_PLACE = "Biên Hòa"
    settings.REPORT_SIGNER_TITLE = "KT. Giám đốc; Phó Giám đốc"
    settings.REPORT_SIGNER_NAME = "Nguyễn Văn An"
    settings.REPORT_RECIPIENTS = "Bộ Văn hóa, Thể thao và Du lịch; UBND tỉnh"
    doc = _docx(report)
    left = [p.text for p in doc.tables[0].cell(0, 0).paragraphs]
    assert left[:2] == ["UBND TỈNH ĐỒNG NAI", "SỞ VĂN HÓA, THỂ THAO VÀ DU LỊCH"]
    assert doc.tables[0].cell(1, 0).text.endswith("/BC-SVHTTDL")
    assert doc.tables[0].cell(1, 1).text == "Biên Hòa, ngày 20 tháng 11 năm 2026"
    recipients, signer = (cell.paragraphs for cell in doc.tables[-1].rows[0].cells)
    assert [p.text for p in recipients] == [
        "Nơi nhận:", "- Bộ Văn hóa, Thể thao và Du lịch;", "- UBND tỉnh;", "- Lưu: VT.",
    ]  # fmt: skip
    assert [p.text for p in signer][:3] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "(Ký, ghi rõ họ tên)"]
    assert signer[-1].text == "Nguyễn Văn An"


def test_a_narrow_report_stays_portrait_and_an_english_reader_gets_english_labels(report):
    section = report.sections[0]
    section.columns = section.columns[:3] + section.columns[9:10]  # Stt, area, code, broadcast hours
    with translation.override("en"):
        doc = _docx(report)
    assert mm(doc.sections[0].page_width, doc.sections[0].page_height) == (210, 297)
    assert doc.tables[0].cell(0, 1).paragraphs[0].text == "SOCIALIST REPUBLIC OF VIETNAM"
    other = next(row for row in doc.tables[1].rows if row.cells[2].text == "26041")
    assert other.cells[3].text == "1,251.2"


def test_each_section_is_numbered_and_printed_in_the_orientation_its_table_needs(report):
    from copy import deepcopy

    from openpyxl import load_workbook

    narrow = deepcopy(report.sections[0])
    narrow.key, narrow.title, narrow.note = "hours", "Giờ phát theo địa bàn", ""
    narrow.columns = narrow.columns[:3] + narrow.columns[9:10]
    report.sections.append(narrow)
    doc = _docx(report)
    assert [mm(s.page_width)[0] for s in doc.sections] == [297, 210]  # the wide table, then a portrait page
    texts = [p.text for p in doc.paragraphs]
    assert f"I. {report.sections[0].title}" in texts and "II. Giờ phát theo địa bàn" in texts
    assert doc.tables[-1].cell(0, 0).paragraphs[0].text == "Nơi nhận:"  # the signature after the last table
    assert b"thumbnail" not in export(report, "docx").content  # no preview of python-docx's blank template
    book = load_workbook(BytesIO(export(report, "xlsx").content))
    assert book.sheetnames == ["Thông tin", "Hoạt động thông tin cơ sở theo", "Giờ phát theo địa bàn"]
    hours = book["Giờ phát theo địa bàn"]
    assert hours.freeze_panes == "D8"  # a one-row header
    assert [hours.cell(7, c).value for c in range(1, 5)] == [c.label for c in narrow.columns]
    text = pdf_text(export(report, "pdf").content)
    assert "II. Giờ phát theo địa bàn" in text


# ---------------------------------------------------------------------------------------------------------------
# PDF


def pdf_text(content: bytes) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is missing: install Debian poppler-utils (scripts/system-packages.sh test)")
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return done.stdout.decode()


def test_pdf_prints_the_national_header_title_and_figures(report):
    exported = export(report, "pdf")
    assert exported.content_type == "application/pdf" and exported.content.startswith(b"%PDF")
    text = pdf_text(exported.content)
    for expected in (
        "ỦY BAN NHÂN DÂN TỈNH ĐỒNG NAI",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Đồng Nai, ngày 20 tháng 11 năm 2026",
        "BÁO CÁO",
        "Kết quả hoạt động thông tin cơ sở tháng 11/2026",
        "I. Hoạt động thông tin cơ sở theo địa bàn",
        "Phường Trấn Biên",
        "1.234",
        "1.251,2",
        "Nơi nhận:",
        "THỦ TRƯỞNG CƠ QUAN",
    ):
        assert expected in text, expected


def test_pdf_fetches_nothing_but_data_urls(report):
    from nguon.reports.exports.pdf import DataOnlyFetcher

    fetcher = DataOnlyFetcher()
    for url in ("http://127.0.0.1:8000/static/x.css", "https://example.org/font.woff", "file:///etc/passwd"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"
    # Text from the database is escaped, never markup that would make WeasyPrint fetch something.
    report.sections[0].note = '<img src="file:///etc/passwd"> <link rel="stylesheet" href="http://10.0.0.1/x.css">'
    text = pdf_text(export(report, "pdf").content)
    assert '<img src="file:///etc/passwd">' in text.replace("\n", " ")
