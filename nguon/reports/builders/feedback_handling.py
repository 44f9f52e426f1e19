"""Feedback handling: citizens' feedback received in the period about places in the subtree, per area and topic.

Received, answered, answered on time, still open past its deadline at the report's cut-off, average days from
receipt to answer and average satisfaction (1–5). One aggregate query grouped by commune and topic; areas and
topics are summed from it (averages weighted by what they average over). Registered only with the feedback app.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.apps import apps
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from nguon.reports import areas as fig
from nguon.reports.catalogue import ReportType, register
from nguon.reports.exports.layout import cell_text
from nguon.reports.periods import Period
from nguon.reports.tables import CODE, DECIMAL, INT, PERCENT, TEXT, Chart, Column, Report, Section
from nguon.units.models import Unit

KEY = "feedback"
COUNTS = ("received", "answered", "on_time", "overdue", "rated")


def _seconds(duration) -> float:
    # Avg over a duration is a timedelta on PostgreSQL, microseconds on SQLite.
    if duration is None:
        return 0.0
    return duration.total_seconds() if isinstance(duration, timedelta) else float(duration) / 1_000_000


def _groups(unit: Unit, period: Period, cutoff: datetime) -> list[dict]:
    from nguon.feedback.models import OPEN_STATUSES, Feedback

    start, end = period.bounds()
    to_answer = ExpressionWrapper(F("answered_at") - F("received_at"), output_field=DurationField())
    rows = (
        Feedback.objects.filter(received_at__gte=start, received_at__lt=end, unit__path__startswith=unit.path)
        .values("unit_id", "topic_id")
        .annotate(
            received=Count("pk"),
            answered=Count("pk", filter=Q(answered_at__isnull=False)),
            on_time=Count("pk", filter=Q(answered_at__isnull=False, on_time=True)),
            overdue=Count("pk", filter=Q(status__in=OPEN_STATUSES, due_at__lt=cutoff)),
            rated=Count("pk", filter=Q(rating__isnull=False)),
            duration=Avg(to_answer, filter=Q(answered_at__isnull=False)),
            rating_avg=Avg("rating", filter=Q(rating__isnull=False)),
        )
        .order_by()
    )
    out = []
    for row in rows:
        # Sums instead of averages, so groups add up; averages are taken again at the end.
        row["answer_seconds"] = _seconds(row.pop("duration")) * row["answered"]
        row["rating_sum"] = float(row.pop("rating_avg") or 0) * row["rated"]
        out.append(row)
    return out


def _finish(sums: dict) -> dict:
    answered, rated = sums.get("answered", 0), sums.get("rated", 0)
    return {
        **{k: sums.get(k, 0) for k in ("received", "answered", "on_time", "overdue")},
        "on_time_share": fig.share(sums.get("on_time", 0), answered),
        "average_days": round(sums.get("answer_seconds", 0) / answered / 86400, 1) if answered else None,
        "satisfaction": round(sums.get("rating_sum", 0) / rated, 1) if rated else None,
    }


def _add(into: dict, row: dict) -> None:
    for key in (*COUNTS, "answer_seconds", "rating_sum"):
        into[key] = into.get(key, 0) + row[key]


def _columns(first: list[Column]) -> list[Column]:
    return [
        *first,
        Column("received", _("Received"), INT),
        Column("answered", _("Answered"), INT),
        Column("on_time", _("Answered on time"), INT),
        Column("on_time_share", _("On-time share"), PERCENT),
        Column("overdue", _("Overdue"), INT),
        Column("average_days", _("Average days to answer"), DECIMAL),
        Column("satisfaction", _("Satisfaction (1–5)"), DECIMAL),
    ]


def build(unit: Unit, period: Period, cutoff: datetime) -> Report:
    from nguon.feedback.models import Topic

    groups = _groups(unit, period, cutoff)
    rows_units = fig.areas(unit, period)
    amap = fig.AreaMap(unit, rows_units)
    amap.load({g["unit_id"] for g in groups})
    per_area: dict[int, dict] = {}
    per_topic: dict[int, dict] = {}
    everything: dict = {}
    for g in groups:
        area = amap.area_of(g["unit_id"])
        if area is None:
            continue
        _add(per_area.setdefault(area, {}), g)
        _add(per_topic.setdefault(g["topic_id"], {}), g)
        _add(everything, g)
    rows_units = fig.area_rows(unit, rows_units, per_area)
    area_rows = [
        {"stt": i, "area": fig.area_label(a, unit, rows_units), "code": a.code, **_finish(per_area.get(a.pk, {}))}
        for i, a in enumerate(rows_units, start=1)
    ]
    total = _finish(everything)
    topics = Topic.objects.in_bulk(list(per_topic))
    ordered = sorted(per_topic.items(), key=lambda item: (-item[1]["received"], topics[item[0]].name))
    topic_rows = [
        {"stt": i, "topic": topics[pk].name, "topic_code": topics[pk].code, **_finish(sums)}
        for i, (pk, sums) in enumerate(ordered, start=1)
    ]
    no, area_col, code_col = (
        Column("stt", _("No."), INT),
        Column("area", pgettext("report column", "Area"), TEXT),
        Column("code", _("Area code"), CODE),
    )
    sections = [
        Section(
            key="areas",
            title=_("Feedback handling by area"),
            columns=_columns([no, area_col, code_col]),
            rows=area_rows,
            total={"stt": None, "area": _("Total"), "code": unit.code, **total},
            chart=Chart("area", ["received", "on_time"], _("Feedback received and answered on time by area")),
            note=_(
                "Feedback received in the period about places in each area. "
                "Overdue: still open and past its deadline when the report was made."
            ),
        ),
        Section(
            key="topics",
            title=_("Feedback handling by topic"),
            columns=_columns([no, Column("topic", _("Topic"), TEXT), Column("topic_code", _("Code"), CODE)]),
            rows=topic_rows,
            total={"stt": None, "topic": _("Total"), **total},
            chart=Chart("topic", ["received", "on_time"], _("Feedback received and answered on time by topic")),
        ),
    ]
    report = fig.blank_report(KEY, _("Report on citizens' feedback handling"), unit, period, cutoff)
    report.sections = sections
    report.summary = [
        (_("Received"), cell_text(total["received"], INT)),
        (_("On-time share"), cell_text(total["on_time_share"], PERCENT)),
        (_("Overdue"), cell_text(total["overdue"], INT)),
        (_("Average days to answer"), cell_text(total["average_days"], DECIMAL)),
        (_("Satisfaction (1–5)"), cell_text(total["satisfaction"], DECIMAL)),
    ]
    return report


if apps.is_installed("nguon.feedback"):
    register(
        ReportType(
            key=KEY,
            title=lambda: _("Feedback handling"),
            description=lambda: _(
                "Feedback received, answered on time, overdue, days to answer and satisfaction, per area and topic."
            ),
            build=build,
            order=60,
        )
    )
