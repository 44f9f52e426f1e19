"""Reports API: the catalogue and each report's tables as JSON (`/api/v1/reports/`).

`GET /api/v1/reports/` lists the report types; `GET /api/v1/reports/{kind}?unit=CODE&period=year&value=2026`
returns one report for a unit the signed-in user may see: the same sections, columns and rows as the page and the
.xlsx/.docx/PDF files (404 `not_found` for an unknown report or a unit outside the user's units, 400
`invalid_period` for a period that makes no sense).
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router

from nguon.accounts.access import get_unit_for_user
from nguon.core.errors import NotFound
from nguon.core.schemas import ERRORS
from nguon.reports import catalogue, periods
from nguon.reports.forms import default_unit
from nguon.reports.schemas import ReportFilter, ReportOut, ReportTypeOut

router = Router(tags=["reports"])


@router.get("/", response={200: list[ReportTypeOut], **ERRORS}, url_name="reports_types")
def report_types(request):
    """The reports this instance can make, with the kinds of period each is made for."""
    return [
        {
            "key": t.key,
            "title": t.title(),
            "description": t.description(),
            "periods": list(t.periods),
            "url": reverse("api:reports_report", args=[t.key]),
            "page": reverse("reports:report", args=[t.key]),
        }
        for t in catalogue.types()
    ]


@router.get("/{kind}", response={200: ReportOut, **ERRORS}, url_name="reports_report", by_alias=True)
def report(request, kind: str, filters: Query[ReportFilter]):
    """One report for a unit and its subtree over a period, as typed sections of rows with totals."""
    report_type = catalogue.get_type(kind)
    kind_of_period = filters.period or ("year" if "year" in report_type.periods else report_type.periods[0])
    today = timezone.localdate()
    if filters.value:
        period = periods.parse(kind_of_period, filters.value, today=today)
    else:
        period = periods.current(kind_of_period, today) if kind_of_period in periods.KINDS else None
        if period is None:
            period = periods.parse(kind_of_period, "", today=today)  # raises invalid_period, naming the kinds
    unit = get_unit_for_user(request.auth, filters.unit) if filters.unit else default_unit(request.auth)
    if unit is None:
        raise NotFound()
    return catalogue.build(kind, unit, period).as_json()
