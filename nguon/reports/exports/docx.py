"""The .docx export in the NĐ 30/2020 administrative layout, built with python-docx.

A4, margins 20/20/30/15 mm, Times New Roman (set for the Latin and the East Asian slots, so Word on a Vietnamese
system does not substitute a theme font); the national header as a borderless two-column table; "BÁO CÁO" and the
subject; sections numbered I., II. with their tables (header rows repeated on every page); the signature block.
A table wider than layout.WIDE_COLUMNS columns gets a landscape section of its own.
"""

from __future__ import annotations

from io import BytesIO

from docx import Document
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from nguon.reports.exports import layout
from nguon.reports.tables import Report, Section

FONT = "Times New Roman"
PAGE = (Mm(210), Mm(297))
MARGINS = {"top_margin": Mm(20), "bottom_margin": Mm(20), "left_margin": Mm(30), "right_margin": Mm(15)}
CONTENT_MM = {False: 210 - 45, True: 297 - 45}  # text width, portrait / landscape
# Word checks that children come in the schema's order: what may follow the elements added here by hand.
TBLPR_AFTER_BORDERS = ("w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook", "w:tblCaption", "w:tblDescription")
PPR_AFTER_PBDR = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct",
    "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
    "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "center": WD_ALIGN_PARAGRAPH.CENTER, "right": WD_ALIGN_PARAGRAPH.RIGHT}


def render(report: Report) -> bytes:
    doc = Document()
    _styles(doc)
    first = doc.sections[0]
    landscape = layout.starts_wide(report)
    _page(first, landscape=landscape)
    _page_numbers(first)
    frame = layout.frame(report)
    _national_header(doc, frame, landscape)
    _title(doc, frame, landscape)
    for label, value in report.summary:
        _para(doc, f"- {label}: {value}", align="left")
    for index, section in enumerate(report.sections, start=1):
        wide = layout.is_wide(section)
        if wide != landscape:
            _page(doc.add_section(WD_SECTION.NEW_PAGE), landscape=wide)
            landscape = wide
        _para(doc, f"{layout.roman(index)}. {section.title}", bold=True, align="left", before=12, after=6)
        _table(doc, section, landscape)
        if section.note:
            _para(doc, section.note, italic=True, size=12, align="justify", before=6)
    _signature(doc, frame, landscape)
    doc.core_properties.title = report.title
    doc.core_properties.subject = frame.subject
    doc.core_properties.author = frame.issuer
    doc.core_properties.language = "vi-VN"
    # python-docx's template carries a thumbnail of its own blank page: file browsers would show that.
    package_rels = doc.part.package.rels
    for rel_id in [r.rId for r in package_rels.values() if r.reltype == RT.THUMBNAIL]:
        package_rels.pop(rel_id)
    out = BytesIO()
    doc.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# Page and text


def _fonts(rpr) -> None:
    """Name Times New Roman in every font slot (w:ascii, w:hAnsi, w:eastAsia, w:cs) of a run or style."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for slot in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(slot), FONT)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def _styles(doc) -> None:
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(13)
    rpr = normal.element.get_or_add_rPr()
    _fonts(rpr)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "vi-VN")
    lang.set(qn("w:eastAsia"), "vi-VN")
    rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    # The document defaults name theme fonts (Calibri); tables and headers fall back to them otherwise.
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    if defaults is not None:
        for rpr_default in defaults.iter(qn("w:rPr")):
            _fonts(rpr_default)


def _page(section, *, landscape: bool) -> None:
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    width, height = PAGE
    section.page_width, section.page_height = (height, width) if landscape else (width, height)
    for name, value in MARGINS.items():
        setattr(section, name, value)
    section.header_distance = Mm(10)
    section.footer_distance = Mm(10)


def _page_numbers(section) -> None:
    """Page numbers at the top centre from page 2 on (NĐ 30/2020: none on the first page)."""
    section.different_first_page_header_footer = True
    paragraph = section.header.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = paragraph.add_run("1")
    run.font.size = Pt(13)
    run._r.getparent().remove(run._r)
    field.append(run._r)
    paragraph._p.append(field)


def _para(container, text: str = "", *, bold=False, italic=False, size=13, align="center", before=0, after=0):
    paragraph = container.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY if align == "justify" else ALIGN[align]
    paragraph.paragraph_format.space_before = Pt(before)
    paragraph.paragraph_format.space_after = Pt(after)
    if text:
        run = paragraph.add_run(text)
        run.bold, run.italic, run.font.size = bold or None, italic or None, Pt(size)
    return paragraph


def _rule(container, width_mm: float, box_mm: float):
    """A short centred line (the one under the issuing body, the motto and the subject): an empty paragraph
    indented from both sides, with a bottom border."""
    paragraph = container.add_paragraph()
    indent = Mm(max(0.0, (box_mm - width_mm) / 2))
    paragraph.paragraph_format.left_indent = paragraph.paragraph_format.right_indent = indent
    paragraph.paragraph_format.line_spacing = Pt(2)
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", "6"), ("w:space", "1"), ("w:color", "000000")):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.insert_element_before(borders, *PPR_AFTER_PBDR)
    return paragraph


def _no_borders(table) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), "nil")
        borders.append(element)
    table._tbl.tblPr.insert_element_before(borders, *TBLPR_AFTER_BORDERS)


def _cell_margins(table, mm: float) -> None:
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:w"), str(int(mm * 56.7)))  # twentieths of a point
        element.set(qn("w:type"), "dxa")
        margins.append(element)
    table._tbl.tblPr.insert_element_before(margins, *TBLPR_AFTER_BORDERS[3:])


def _widths(table, widths_mm: list[float]) -> None:
    table.autofit = False
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)  # the grid LibreOffice reads
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=True):
            cell.width = Mm(width)  # the cell widths Word reads


def _first(cell, text: str, *, bold=False, italic=False, size=13, align="center"):
    """Write into a cell's first paragraph (a new cell has one, empty)."""
    paragraph = cell.paragraphs[0]
    paragraph.alignment = ALIGN[align]
    run = paragraph.add_run(text)
    run.bold, run.italic, run.font.size = bold or None, italic or None, Pt(size)
    return paragraph


# ---------------------------------------------------------------------------------------------------------------
# The NĐ 30 frame


def _national_header(doc, frame: layout.Frame, landscape: bool) -> None:
    left_mm = 70 if not landscape else 100
    right_mm = CONTENT_MM[landscape] - left_mm
    table = doc.add_table(rows=2, cols=2)
    _no_borders(table)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    left, right = table.cell(0, 0), table.cell(0, 1)
    if frame.issuer_parent:
        _first(left, frame.issuer_parent, size=13)
        _para(left, frame.issuer, bold=True, size=13)
    else:
        _first(left, frame.issuer, bold=True, size=13)
    _rule(left, 25, left_mm)
    _first(right, frame.nation, bold=True, size=12)
    _para(right, frame.motto, bold=True, size=14)
    _rule(right, 62, right_mm)
    _first(table.cell(1, 0), frame.number, size=13)
    _first(table.cell(1, 1), frame.place_date, italic=True, size=14)
    for cell in table.rows[1].cells:
        cell.paragraphs[0].paragraph_format.space_before = Pt(6)
    _widths(table, [left_mm, right_mm])


def _title(doc, frame: layout.Frame, landscape: bool) -> None:
    _para(doc, frame.doc_type, bold=True, size=14, before=18)
    _para(doc, frame.subject, bold=True, size=14)
    _rule(doc, 40, CONTENT_MM[landscape])
    _para(doc, frame.unit, italic=True, size=12, before=6)
    _para(doc, frame.period, italic=True, size=12)
    _para(doc, frame.cutoff, italic=True, size=12, after=6)


def _signature(doc, frame: layout.Frame, landscape: bool) -> None:
    width = CONTENT_MM[landscape]
    _para(doc, before=12)
    table = doc.add_table(rows=1, cols=2)
    _no_borders(table)
    left, right = table.cell(0, 0), table.cell(0, 1)
    _first(left, frame.recipients_label, bold=True, italic=True, size=12, align="left")
    for line in frame.recipients:
        _para(left, line, size=11, align="left")
    _first(right, frame.signer_title[0], bold=True, size=13)
    for line in frame.signer_title[1:]:
        _para(right, line, bold=True, size=13)
    _para(right, frame.signer_hint, italic=True, size=13)
    for _blank in range(4):  # room for the signature and the seal
        _para(right)
    _para(right, frame.signer_name, bold=True, size=13)
    _widths(table, [width * 0.45, width * 0.55])


# ---------------------------------------------------------------------------------------------------------------
# Section tables


def _repeat_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    for tag in ("w:cantSplit", "w:tblHeader"):  # the schema's order (Word refuses others)
        element = OxmlElement(tag)
        element.set(qn("w:val"), "true")
        properties.append(element)


def _table(doc, section: Section, landscape: bool) -> None:
    head = layout.header_rows(section)
    body = layout.body_rows(section)
    total = layout.total_row(section)
    lines = [*body, *([total] if total else [])]
    # Only the header rows at first: python-docx's table.cell() walks the whole table, so merging is done
    # while it is small, and the body rows are appended after (a 96-row table stays well under a second).
    table = doc.add_table(rows=len(head), cols=len(section.columns))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    _cell_margins(table, 0.8)
    wide = layout.is_wide(section)
    size, head_size = (Pt(9.5), 9) if wide else (Pt(12), 12)
    relative = layout.relative_widths(section)
    scale = CONTENT_MM[landscape] / sum(relative)
    widths = [Mm(w * scale) for w in relative]
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width  # the grid LibreOffice reads; Word reads each cell's width, set below

    for level in range(len(head)):
        _repeat_header(table.rows[level])
        for cell, width in zip(table.rows[level].cells, widths, strict=True):
            cell.width = width
    for cells in head:
        for cell in cells:
            target = table.cell(cell.row, cell.col)
            if cell.colspan > 1 or cell.rowspan > 1:
                target = target.merge(table.cell(cell.row + cell.rowspan - 1, cell.col + cell.colspan - 1))
            _first(target, cell.text, bold=True, size=head_size)
            target.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER

    aligns = [ALIGN[layout.align(c)] for c in section.columns]
    for index, values in enumerate(lines):
        bold = True if total is not None and index == len(lines) - 1 else None
        # add_row() gives each new cell its grid column's width.
        for cell, text, where in zip(table.add_row().cells, values, aligns, strict=True):
            paragraph = cell.paragraphs[0]
            paragraph.alignment = where
            if text:
                run = paragraph.add_run(text)
                run.bold, run.font.size = bold, size
