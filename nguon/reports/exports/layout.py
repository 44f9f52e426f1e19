"""What the three exporters share: the NĐ 30/2020 header texts, the grouped table header, and number/date wording.

Numbers and dates are written the way the active language writes them (Vietnamese by default: 1.234.567,5,
97,5 %, "Đồng Nai, ngày 03 tháng 12 năm 2026"). The .xlsx keeps real numbers and leaves their display to
Excel's locale; the .docx and the PDF print the words built here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, get_format
from django.utils.translation import gettext as _

from nguon.reports.tables import CODE, DECIMAL, INT, PERCENT, TEXT, Column, Report, Section

# A table with more columns than this goes on a landscape page (.docx section, PDF named page, .xlsx print setup).
WIDE_COLUMNS = 10
NUMERIC = (INT, DECIMAL, PERCENT)
ROMAN = (
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
)  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Numbers and dates


def format_number(value, decimals: int = 0, *, thousands: str = ".", decimal: str = ",") -> str:
    """Write a number with grouped thousands and a fixed count of decimals (half up, as people round)."""
    if value is None or value == "":
        return ""
    quantum = Decimal(1).scaleb(-decimals)
    number = Decimal(str(value)).quantize(quantum, rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _dot, fraction = f"{abs(number):f}".partition(".")
    groups = []
    while len(whole) > 3:
        whole, tail = whole[:-3], whole[-3:]
        groups.insert(0, tail)
    text = thousands.join([whole, *groups])
    return f"{sign}{text}{decimal}{fraction}" if decimals else f"{sign}{text}"


def format_percent(share, *, thousands: str = ".", decimal: str = ",", space: str = " ") -> str:
    """A share 0–1 as a percentage with one decimal: 0.975 → "97,5 %" (Vietnamese puts a space before %)."""
    if share is None or share == "":
        return ""
    return f"{format_number(float(share) * 100, 1, thousands=thousands, decimal=decimal)}{space}%"


def _separators() -> tuple[str, str, str]:
    """The active language's (thousands, decimal, space before %) from Django's format modules."""
    thousands, decimal = get_format("THOUSAND_SEPARATOR"), get_format("DECIMAL_SEPARATOR")
    return thousands, decimal, " " if decimal == "," else ""


def cell_text(value, kind: str) -> str:
    """A value of a column kind, written for a reader in the active language."""
    if value is None:
        return ""
    thousands, decimal, space = _separators()
    if kind == INT and isinstance(value, int | float):
        return format_number(value, 0, thousands=thousands, decimal=decimal)
    if kind == DECIMAL and isinstance(value, int | float):
        return format_number(value, 1, thousands=thousands, decimal=decimal)
    if kind == PERCENT and isinstance(value, int | float):
        # A no-break space, so that a narrow column never puts the % sign on a line of its own.
        return format_percent(value, thousands=thousands, decimal=decimal, space=space.replace(" ", "\u00a0"))
    return str(value)


def nd30_day_month(day: date) -> tuple[str, str]:
    """Day and month as NĐ 30/2020 writes them: a zero before days under 10 and before months 1 and 2."""
    return f"{day.day:02d}", f"{day.month:02d}" if day.month < 3 else str(day.month)


def place_and_date(place: str, day: date) -> str:
    """The italic line under the motto: "Đồng Nai, ngày 03 tháng 12 năm 2026" (in Vietnamese)."""
    dd, mm = nd30_day_month(day)
    return _("%(place)s, %(day)s/%(month)s/%(year)s") % {"place": place, "day": dd, "month": mm, "year": day.year}


def roman(number: int) -> str:
    out = []
    for value, letters in ROMAN:
        while number >= value:
            out.append(letters)
            number -= value
    return "".join(out)


def local_cutoff(report: Report) -> datetime:
    """The figures' cut-off in local time (Asia/Ho_Chi_Minh), whatever zone is active."""
    return timezone.localtime(report.cutoff_at, ZoneInfo(settings.TIME_ZONE))


def cutoff_line(report: Report) -> str:
    when = date_format(local_cutoff(report), "DATETIME_FORMAT")
    return _("Figures as of %(time)s") % {"time": when}


def unit_line(report: Report) -> str:
    return _("Unit: %(name)s (code %(code)s)") % {"name": report.unit_name, "code": report.unit_code}


def period_line(report: Report) -> str:
    first, last = date.fromisoformat(report.first_day), date.fromisoformat(report.last_day)
    return _("Period: %(label)s (from %(first)s to %(last)s)") % {
        "label": report.period_label,
        "first": f"{first:%d/%m/%Y}",
        "last": f"{last:%d/%m/%Y}",
    }


# ---------------------------------------------------------------------------------------------------------------
# Tables


@dataclass
class HeadCell:
    text: str
    col: int  # first column (0-based)
    row: int  # 0 or 1
    colspan: int = 1
    rowspan: int = 1


def header_rows(section: Section) -> list[list[HeadCell]]:
    """One header row, or two when some columns share a group heading (merged over them; the others span both)."""
    columns = section.columns
    if not any(c.group for c in columns):
        return [[HeadCell(c.label, i, 0) for i, c in enumerate(columns)]]
    top: list[HeadCell] = []
    bottom: list[HeadCell] = []
    i = 0
    while i < len(columns):
        group = columns[i].group
        if not group:
            top.append(HeadCell(columns[i].label, i, 0, rowspan=2))
            i += 1
            continue
        j = i
        while j < len(columns) and columns[j].group == group:
            bottom.append(HeadCell(columns[j].label, j, 1))
            j += 1
        top.append(HeadCell(group, i, 0, colspan=j - i))
        i = j
    return [top, bottom]


def is_wide(section: Section) -> bool:
    return len(section.columns) > WIDE_COLUMNS


def starts_wide(report: Report) -> bool:
    """Whether the first page is landscape: a report that opens with a wide table is printed like the
    statistical forms offices know, header and table on the same landscape page."""
    return bool(report.sections) and is_wide(report.sections[0])


def frozen_columns(section: Section) -> int:
    """How many leading columns name a row (Stt, Địa bàn, Mã địa bàn): they stay in view when scrolling right."""
    count = 0
    for i, column in enumerate(section.columns):
        if column.kind in (TEXT, CODE) or (i == 0 and not column.group):
            count = i + 1
        else:
            break
    return count if count > 1 else 0


def body_rows(section: Section) -> list[list[str]]:
    return [[cell_text(row.get(c.key), c.kind) for c in section.columns] for row in section.rows]


def total_row(section: Section) -> list[str] | None:
    if section.total is None:
        return None
    return [cell_text(section.total.get(c.key), c.kind) for c in section.columns]


def align(column: Column) -> str:
    if column.kind in NUMERIC:
        return "right"
    return "center" if column.kind == CODE else "left"


def relative_widths(section: Section) -> list[float]:
    """Column widths in characters (the .xlsx unit; the .docx and PDF scale them to the page): room for the
    longest value and the longest word of the heading, names and notes capped so that numbers keep their room."""
    widths = []
    for column in section.columns:
        longest_value = max((len(cell_text(row.get(column.key), column.kind)) for row in section.rows[:500]), default=0)
        longest_word = max((len(w) for w in column.label.split()), default=0) + 3  # headings are bold
        if column.kind == TEXT:
            widths.append(float(min(max(longest_value, longest_word, 10), 22)))
        else:
            # Digits are wider than the average letter, and neither a code nor a number may wrap (a code cut in
            # two reads as two codes, "1.251,2" as two figures).
            widths.append(float(min(max(longest_value * 1.15 + 2, longest_word, 7), 18)))
    return widths


def sheet_titles(report: Report) -> list[str]:
    """A sheet title per section: at most 31 characters, none of []:*?/\\, unique (case-insensitively)."""
    used = {_("Information").casefold()}
    titles = []
    for index, section in enumerate(report.sections, start=1):
        base = re.sub(r"[\[\]:*?/\\]", " ", section.title).strip()[:31].strip() or str(index)
        title, n = base, 2
        while title.casefold() in used:
            suffix = f" ({n})"
            title, n = base[: 31 - len(suffix)].rstrip() + suffix, n + 1
        used.add(title.casefold())
        titles.append(title)
    return titles


# ---------------------------------------------------------------------------------------------------------------
# The NĐ 30/2020 frame: national header, title, signature block


@dataclass
class Frame:
    issuer_parent: str  # the governing body, plain capitals (may be empty)
    issuer: str  # the issuing body, bold capitals
    number: str  # "Số:      /BC-UBND"
    nation: str
    motto: str
    place_date: str
    doc_type: str  # "BÁO CÁO"
    subject: str
    unit: str
    period: str
    cutoff: str
    recipients_label: str
    recipients: list[str] = field(default_factory=list)
    signer_title: list[str] = field(default_factory=list)
    signer_hint: str = ""
    signer_name: str = ""


def _unit_full_name(report: Report) -> str:
    """The unit with its type ("Tỉnh Đồng Nai") unless its name already says it ("Phường Biên Hòa")."""
    from nguon.units.models import Unit

    unit = Unit.objects.filter(code=report.unit_code).select_related("unit_type").first()
    if unit is None:
        return report.unit_name
    # Type names carry qualifiers that are not part of a unit's title ("Huyện (trước 2025)", "Thành phố trực
    # thuộc trung ương"): keep the leading words an official name uses.
    kind = re.sub(r"\s*\(.*\)\s*$", "", unit.unit_type.name).removesuffix(" trực thuộc trung ương").strip()
    if not kind or unit.name.casefold().startswith(kind.casefold()):
        return unit.name
    return f"{kind} {unit.name}"


def _plain_place(report: Report) -> str:
    """The place written before the date: the unit's name without its type word ("Đồng Nai", "Biên Hòa")."""
    name = report.unit_name
    for word in ("Tỉnh ", "Thành phố ", "Xã ", "Phường ", "Đặc khu "):
        if name.startswith(word):
            return name[len(word) :]
    return name


def _lines(value: str) -> list[str]:
    return [item.strip() for item in value.split(";") if item.strip()]


def subject_of(report: Report) -> str:
    """The subject line under "BÁO CÁO": the title without its leading "Báo cáo", with the period."""
    title = report.title.strip()
    doc_type = _("Report")
    if title.casefold().startswith(doc_type.casefold() + " "):
        title = title[len(doc_type) + 1 :]
        title = title[:1].upper() + title[1:]
    return f"{title} {report.period_label}"


def frame(report: Report) -> Frame:
    """The header, title and signature texts for a report, from the settings or else the report's unit."""
    issuer = settings.REPORT_ISSUER or _("People's Committee of %(unit)s") % {"unit": _unit_full_name(report)}
    blank = "\u00a0" * 8  # the number is left blank: the records office writes it when it registers the report
    number = f"{blank}/BC-{settings.REPORT_ISSUER_ABBR}" if settings.REPORT_ISSUER_ABBR else f"{blank}/BC"
    day = local_cutoff(report).date()
    recipients = _lines(settings.REPORT_RECIPIENTS)
    return Frame(
        issuer_parent=settings.REPORT_ISSUER_PARENT.upper(),
        issuer=issuer.upper(),
        number=_("No.: %(number)s") % {"number": number},
        nation=_("SOCIALIST REPUBLIC OF VIETNAM"),
        motto=_("Independence - Freedom - Happiness"),
        place_date=place_and_date(settings.REPORT_PLACE or _plain_place(report), day),
        doc_type=_("Report").upper(),
        subject=subject_of(report),
        unit=unit_line(report),
        period=period_line(report),
        cutoff=cutoff_line(report),
        recipients_label=_("Recipients:"),
        recipients=[f"- {r};" for r in recipients] + ["- " + _("Archive: Records office.")],
        signer_title=[t.upper() for t in _lines(settings.REPORT_SIGNER_TITLE)] or [_("Head of the agency").upper()],
        signer_hint=_("(Signature and full name)"),
        signer_name=settings.REPORT_SIGNER_NAME,
    )
