"""The .xlsx export: an "Information" sheet, then one sheet per section with real numbers and a frozen header.

Cells hold numbers, not text, with number formats (#,##0, #,##0.0, 0.0%) that Excel and LibreOffice show with
the reader's separators (1.234,5 on a Vietnamese system); official codes stay text, so "01" keeps its zero.
"""

from __future__ import annotations

from datetime import date
from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from nguon.reports.exports import layout
from nguon.reports.tables import CODE, DECIMAL, INT, PERCENT, Report, Section

NUMBER_FORMATS = {INT: "#,##0", DECIMAL: "#,##0.0", PERCENT: "0.0%", CODE: "@"}
FONT = "Times New Roman"
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="E7E6E6")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
# Rows above each section's table: report title, section title, unit, period, cut-off, a blank line.
TITLE_ROWS = 6


def render(report: Report) -> bytes:
    book = Workbook()
    info = book.active
    info.title = _("Information")
    _info_sheet(info, report)
    for title, section in zip(layout.sheet_titles(report), report.sections, strict=True):
        _section_sheet(book.create_sheet(title), report, section)
    book.properties.title = report.title
    book.properties.subject = f"{report.unit_name} – {report.period_label}"
    book.properties.creator = "Nguồn"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _info_sheet(sheet: Worksheet, report: Report) -> None:
    sheet["A1"] = report.title
    sheet["A1"].font = Font(name=FONT, bold=True, size=14)
    first, last = date.fromisoformat(report.first_day), date.fromisoformat(report.last_day)
    cutoff = layout.local_cutoff(report)
    lines = [
        (_("Unit"), report.unit_name),
        (_("Unit code"), report.unit_code),
        (_("Reporting period"), report.period_label),
        (_("From"), first),
        (_("To"), last),
        # Excel has no time zones: the cut-off is written as the local wall time, and the label says which.
        (_("Figures as of (Asia/Ho_Chi_Minh)"), cutoff.replace(tzinfo=None, microsecond=0)),
        *report.summary,
    ]
    for offset, (label, value) in enumerate(lines, start=3):
        sheet.cell(offset, 1, label).font = Font(name=FONT, bold=True)
        cell = sheet.cell(offset, 2, value)
        cell.font = Font(name=FONT)
        cell.alignment = Alignment(horizontal="left")
        if label == _("Unit code"):
            cell.number_format = "@"
        elif hasattr(value, "hour"):
            cell.number_format = "dd/mm/yyyy hh:mm"
        elif hasattr(value, "year"):
            cell.number_format = "dd/mm/yyyy"
    row = 4 + len(lines)
    sheet.cell(row, 1, _("Sheets")).font = Font(name=FONT, bold=True)
    for offset, section in enumerate(report.sections):
        sheet.cell(row + offset, 2, section.title).font = Font(name=FONT)
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 60


def _section_sheet(sheet: Worksheet, report: Report, section: Section) -> None:
    columns = section.columns
    last_letter = get_column_letter(len(columns))
    heading = [
        (report.title, Font(name=FONT, bold=True, size=14)),
        (section.title, Font(name=FONT, bold=True, size=12)),
        (layout.unit_line(report), Font(name=FONT)),
        (layout.period_line(report), Font(name=FONT)),
        (layout.cutoff_line(report), Font(name=FONT, italic=True)),
    ]
    for row, (text, font) in enumerate(heading, start=1):
        cell = sheet.cell(row, 1, text)
        cell.font = font
        sheet.merge_cells(f"A{row}:{last_letter}{row}")

    head = layout.header_rows(section)
    top = TITLE_ROWS + 1
    head_font = Font(name=FONT, bold=True)
    head_align = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for level, cells in enumerate(head):
        for cell in cells:
            row = top + level
            target = sheet.cell(row, cell.col + 1, cell.text)
            target.font, target.alignment, target.fill = head_font, head_align, HEAD_FILL
            if cell.colspan > 1 or cell.rowspan > 1:
                sheet.merge_cells(
                    start_row=row,
                    start_column=cell.col + 1,
                    end_row=row + cell.rowspan - 1,
                    end_column=cell.col + cell.colspan,
                )
    for row in range(top, top + len(head)):
        for col in range(1, len(columns) + 1):
            sheet.cell(row, col).border = BOX
    first_data = top + len(head)

    body_font, total_font = Font(name=FONT), Font(name=FONT, bold=True)
    alignments = {c.key: Alignment(horizontal=layout.align(c), vertical="top", wrap_text=c.kind == "text")
                  for c in columns}  # fmt: skip
    rows = [(r, body_font, None) for r in section.rows]
    if section.total is not None:
        rows.append((section.total, total_font, TOTAL_FILL))
    for index, (values, font, fill) in enumerate(rows):
        row = first_data + index
        for col, column in enumerate(columns, start=1):
            value = values.get(column.key)
            if column.kind == CODE and value is not None:
                value = str(value)
            cell = sheet.cell(row, col, value)
            cell.font, cell.border, cell.alignment = font, BOX, alignments[column.key]
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
            if fill is not None:
                cell.fill = fill

    after = first_data + len(rows) + 1
    if section.note:
        cell = sheet.cell(after, 1, section.note)
        cell.font = Font(name=FONT, italic=True, size=10)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(f"A{after}:{last_letter}{after}")
        sheet.row_dimensions[after].height = 15 * max(1, len(section.note) // 150 + 1)

    for col, width in enumerate(layout.relative_widths(section), start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width + 2
    # Frozen below the header, and right of the columns that name a row (Stt, Địa bàn, Mã địa bàn).
    sheet.freeze_panes = sheet.cell(first_data, layout.frozen_columns(section) + 1).coordinate
    sheet.print_title_rows = f"{top}:{first_data - 1}"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if layout.is_wide(section) else "portrait"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
