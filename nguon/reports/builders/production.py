"""Content production: bulletins published in the period by unit, category, author, TT 39 class and source level.

Read from the monthly content roll-up (ContentMonth), so a period counts whole months: the months it touches.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from nguon.content.models import Category, Priority
from nguon.reports import areas as fig
from nguon.reports.catalogue import ReportType, register
from nguon.reports.exports.layout import cell_text
from nguon.reports.models import SourceLevel
from nguon.reports.periods import Period
from nguon.reports.tables import CODE, INT, PERCENT, TEXT, Chart, Column, Report, Section
from nguon.units.models import Unit

KEY = "production"


def _ranked(counts: dict, labels: dict, total: int, label_key: str) -> list[dict]:
    """Rows of (label, bulletins, share), largest first, numbered."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], str(labels.get(item[0], ""))))
    return [
        {"stt": index, label_key: labels.get(key, ""), "bulletins": n, "share": fig.share(n, total)}
        for index, (key, n) in enumerate(ordered, start=1)
    ]


def _simple_section(key: str, title: str, label: str, rows: list[dict], total: int, chart_title: str) -> Section:
    return Section(
        key=key,
        title=title,
        columns=[
            Column("stt", _("No."), INT),
            Column("label", label, TEXT),
            Column("bulletins", _("Bulletins"), INT),
            Column("share", _("Share"), PERCENT),
        ],
        rows=rows,
        total={"stt": None, "label": _("Total"), "bulletins": total, "share": 1.0 if total else None},
        chart=Chart("label", ["bulletins"], chart_title),
    )


def build(unit: Unit, period: Period, cutoff: datetime) -> Report:
    rows_units = fig.areas(unit, period)
    amap = fig.AreaMap(unit, rows_units)
    content = fig.content_sums(amap, period)
    rows_units = fig.area_rows(unit, rows_units, content)
    area_rows = []
    keys = ("bulletins", "bulletins_normal", "bulletins_priority", "bulletins_emergency")
    for index, area in enumerate(rows_units, start=1):
        c = content.get(area.pk, {})
        area_rows.append(
            {
                "stt": index,
                "area": fig.area_label(area, unit, rows_units),
                "code": area.code,
                **{k: c.get(k, 0) for k in keys},
                **{f"source_{level}": c.get(f"source_{level}", 0) for level in SourceLevel.values},
            }
        )
    area_total = {"stt": None, "area": _("Total"), "code": unit.code}
    for key in [*keys, *(f"source_{level}" for level in SourceLevel.values)]:
        area_total[key] = sum(r[key] for r in area_rows)
    total = area_total["bulletins"]

    # One query for category, author, class and level together: a year has a few thousand such groups at most.
    groups = fig.content_breakdown(unit, period, "category_id", "author_id", "priority", "source_level")
    by = {"category_id": {}, "author_id": {}, "priority": {}, "source_level": {}}
    for row in groups:
        for field, counts in by.items():
            counts[row[field]] = counts.get(row[field], 0) + row["n"]
    categories = dict(Category.objects.filter(pk__in=[k for k in by["category_id"] if k]).values_list("pk", "name"))
    categories[None] = _("No category")
    authors = {user.pk: str(user) for user in get_user_model().objects.filter(pk__in=[k for k in by["author_id"] if k])}
    authors[None] = _("Unknown author")

    bulletins, by_level = _("Bulletins by TT 39 class"), _("Bulletins by source level")
    units_section = Section(
        key="units",
        title=_("Bulletins by unit"),
        columns=[
            Column("stt", _("No."), INT),
            Column("area", pgettext("report column", "Area"), TEXT),
            Column("code", _("Area code"), CODE),
            Column("bulletins", _("Total"), INT),
            Column("bulletins_normal", _("Normal"), INT, bulletins),
            Column("bulletins_priority", _("Priority"), INT, bulletins),
            Column("bulletins_emergency", _("Emergency"), INT, bulletins),
            Column("source_central", _("Central"), INT, by_level),
            Column("source_province", _("Province"), INT, by_level),
            Column("source_commune", _("Commune"), INT, by_level),
        ],
        rows=area_rows,
        total=area_total,
        chart=Chart("area", ["bulletins", "bulletins_emergency"], _("Bulletins and emergency bulletins by area")),
        note=_("Counted in whole months: the months the period touches."),
    )
    sections = [
        units_section,
        _simple_section(
            "categories",
            _("Bulletins by category"),
            _("Category"),
            _ranked(by["category_id"], categories, total, "label"),
            total,
            _("Bulletins by category"),
        ),
        _simple_section(
            "authors",
            _("Bulletins by author"),
            _("Author"),
            _ranked(by["author_id"], authors, total, "label"),
            total,
            _("Bulletins by author"),
        ),
        _simple_section(
            "classes",
            _("Bulletins by TT 39 class"),
            _("Class"),
            _ranked(by["priority"], {k: str(v) for k, v in Priority.choices}, total, "label"),
            total,
            _("Bulletins by TT 39 class"),
        ),
        _simple_section(
            "levels",
            _("Bulletins by source level"),
            _("Source level"),
            _ranked(by["source_level"], {k: str(v) for k, v in SourceLevel.choices}, total, "label"),
            total,
            _("Bulletins by source level"),
        ),
    ]
    report = fig.blank_report(KEY, _("Report on content production"), unit, period, cutoff)
    report.sections = sections
    report.summary = [
        (_("Bulletins published"), cell_text(total, INT)),
        (_("Emergency bulletins"), cell_text(area_total["bulletins_emergency"], INT)),
        (_("Authors"), cell_text(len([k for k in by["author_id"] if k]), INT)),
    ]
    return report


register(
    ReportType(
        key=KEY,
        title=lambda: _("Content production"),
        description=lambda: _("Bulletins published by unit, category, author, TT 39 class and source level."),
        build=build,
        order=50,
    )
)
