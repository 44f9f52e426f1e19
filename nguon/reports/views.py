"""Report pages: the catalogue, one page per report with charts and tables, and the downloads."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from nguon.accounts.access import get_unit_for_user
from nguon.core.errors import NotFound
from nguon.lib.plot import bar_chart
from nguon.reports import catalogue as reports_catalogue
from nguon.reports.exports import export, layout
from nguon.reports.forms import ReportFilterForm, default_unit
from nguon.reports.tables import PERCENT, Column, Report, Section

# Charts with more groups than this show the first ones (the table below lists every row).
MAX_BARS = 30
DOWNLOAD_FORMATS = ("xlsx", "docx", "pdf")
# A page lists at most this many rows per section (a province has thousands of devices); the files have them all.
MAX_PAGE_ROWS = 500


@login_required
def catalogue(request):
    return render(request, "reports/catalogue.html", {"types": reports_catalogue.types()})


def _report_type(kind: str):
    try:
        return reports_catalogue.get_type(kind)
    except NotFound:
        raise Http404(_("There is no such report.")) from None


def _filtered(request, kind: str):
    """(form, report or None): the report the query asks for, or the form with its errors."""
    report_type = _report_type(kind)
    form = ReportFilterForm(request.GET, user=request.user, report_type=report_type)
    if not form.is_valid():
        return form, None
    code = form.cleaned_data.get("unit") or ""
    unit = get_unit_for_user(request.user, code) if code else default_unit(request.user)
    if unit is None:
        raise NotFound()
    report = reports_catalogue.build(kind, unit, form.cleaned_data["period_obj"])
    return form, report


def query_of(report: Report) -> str:
    return urlencode({"unit": report.unit_code, "period": report.period_kind, "value": report.period_value})


@login_required
def report_page(request, kind: str):
    form, report = _filtered(request, kind)
    report_type = _report_type(kind)
    context = {"form": form, "report": report, "report_type": report_type, "max_bars": MAX_BARS}
    if report is None:
        return render(request, "reports/report.html", context, status=400)
    # Show the effective choice (the defaults filled in) in the form.
    form.data = form.data.copy()
    form.data["unit"], form.data["period"], form.data["value"] = (
        report.unit_code,
        report.period_kind,
        report.period_value,
    )
    query = query_of(report)
    context.update(
        sections=[_section_view(s) for s in report.sections],
        query=query,
        downloads=[(fmt, reverse("reports:download", args=[kind, fmt]) + "?" + query) for fmt in DOWNLOAD_FORMATS],
        api_url=reverse("api:reports_report", args=[kind]) + "?" + query,
    )
    return render(request, "reports/report.html", context)


@login_required
def download(request, kind: str, fmt: str):
    if fmt not in DOWNLOAD_FORMATS:
        raise Http404
    form, report = _filtered(request, kind)
    if report is None:
        context = {"form": form, "report": None, "report_type": _report_type(kind)}
        return render(request, "reports/report.html", context, status=400)
    exported = export(report, fmt)
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
    return response


def _section_view(section: Section) -> dict:
    """What the template draws for one section: grouped header, formatted cells, totals, and the chart."""
    aligns = [layout.align(c) for c in section.columns]
    shown = Section(section.key, section.title, section.columns, section.rows[:MAX_PAGE_ROWS])
    body = [list(zip(cells, aligns, strict=True)) for cells in layout.body_rows(shown)]
    total = layout.total_row(section)
    return {
        "section": section,
        "header": layout.header_rows(section),
        "rows": body,
        "total": list(zip(total, aligns, strict=True)) if total is not None else None,
        "chart": _chart(section),
        "legend": [_series_name(section.column(key)) for key in section.chart.series] if section.chart else [],
        "chart_cut": bool(section.chart) and len(section.rows) > MAX_BARS,
        "cut": len(section.rows) - len(shown.rows),
    }


def _series_name(column: Column) -> str:
    """A column as a chart series: with its group heading when it has one ("Bulletins published: Total")."""
    return f"{column.group}: {column.label}" if column.group else column.label


def _chart(section: Section):
    chart = section.chart
    if chart is None or not section.rows:
        return None
    rows = section.rows
    if len(rows) > MAX_BARS:
        # The largest by the first series (the table below lists every row, in order).
        rows = sorted(rows, key=lambda r: -float(r.get(chart.series[0]) or 0))[:MAX_BARS]
    series = {}
    for key in chart.series:
        column = section.column(key)
        # A share is drawn as a percentage, so its bars read like the table.
        scale = 100 if column.kind == PERCENT else 1
        series[_series_name(column)] = [float(r.get(key) or 0) * scale for r in rows]
    if not any(v for values in series.values() for v in values):
        return None
    labels = [str(r.get(chart.label_key) or "") for r in rows]
    return bar_chart(labels, series)
