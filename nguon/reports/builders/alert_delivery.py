"""Alert delivery: for each alert issued in the period, what became of it on the subtree's devices, and the
alert receipts counted per area in the day roll-ups.

Per alert, the dispatch rows of the subtree's devices (one per alert and device) are counted by state in one
aggregate query: a dispatch moves only forward, so "acknowledged" counts every device that has the alert
(acknowledged, played or displayed), and "played" those that played or displayed it.
"""

from __future__ import annotations

from datetime import datetime

from django.apps import apps
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from nguon.reports import areas as fig
from nguon.reports.catalogue import ReportType, register
from nguon.reports.exports.layout import cell_text
from nguon.reports.periods import Period
from nguon.reports.tables import CODE, INT, PERCENT, TEXT, Chart, Column, Report, Section
from nguon.units.models import Unit

KEY = "alert_delivery"
STATE_COUNTS = ("targeted", "acknowledged", "played", "failed", "pending")


def _dispatch_counts(unit: Unit, period: Period) -> tuple[dict[int, dict], dict[int, object]]:
    """({alert id: counts}, {alert id: alert}) for alerts issued in the period with dispatches in the subtree."""
    from nguon.alerts.models import DELIVERED_STATES, Alert, AlertDispatch, DispatchState

    start, end = period.bounds()
    rows = (
        AlertDispatch.objects.filter(
            alert__issued_at__gte=start, alert__issued_at__lt=end, device__unit__path__startswith=unit.path
        )
        .values("alert_id", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[int, dict] = {}
    for row in rows:
        c = counts.setdefault(row["alert_id"], dict.fromkeys(STATE_COUNTS, 0))
        state, n = row["state"], row["n"]
        c["targeted"] += n
        if state in DELIVERED_STATES:
            c["acknowledged"] += n
        if state in (DispatchState.PLAYED, DispatchState.DISPLAYED):
            c["played"] += n
        elif state == DispatchState.FAILED:
            c["failed"] += n
        elif state in (DispatchState.QUEUED, DispatchState.SENT):
            c["pending"] += n
    alerts = Alert.objects.filter(pk__in=list(counts)).select_related("unit").order_by("issued_at", "pk")
    return counts, {a.pk: a for a in alerts}


def build(unit: Unit, period: Period, cutoff: datetime) -> Report:
    counts, alerts = ({}, {}) if not apps.is_installed("nguon.alerts") else _dispatch_counts(unit, period)
    alert_rows = []
    for index, alert in enumerate(alerts.values(), start=1):
        c = counts[alert.pk]
        alert_rows.append(
            {
                "stt": index,
                "headline": alert.headline,
                "event": alert.event,
                "issued": f"{timezone.localtime(alert.issued_at):%H:%M %d/%m/%Y}",
                "issuer": alert.unit.name,
                **c,
                "delivered_share": fig.share(c["acknowledged"], c["targeted"]),
            }
        )
    alert_total = {"stt": None, "headline": _("Total")}
    for key in STATE_COUNTS:
        alert_total[key] = sum(r[key] for r in alert_rows)
    alert_total["delivered_share"] = fig.share(alert_total["acknowledged"], alert_total["targeted"])

    rows_units = fig.areas(unit, period)
    amap = fig.AreaMap(unit, rows_units)
    days = fig.day_sums(amap, period)
    rows_units = fig.area_rows(unit, rows_units, days)
    area_rows = []
    for index, area in enumerate(rows_units, start=1):
        d = days.get(area.pk, {})
        area_rows.append(
            {
                "stt": index,
                "area": fig.area_label(area, unit, rows_units),
                "code": area.code,
                "alerts_acknowledged": d.get("alerts_acknowledged", 0),
                "alerts_played": d.get("alerts_played", 0),
                "alerts_failed": d.get("alerts_failed", 0),
            }
        )
    area_total = {"stt": None, "area": _("Total"), "code": unit.code}
    for key in ("alerts_acknowledged", "alerts_played", "alerts_failed"):
        area_total[key] = sum(r[key] for r in area_rows)

    devices = _("Devices")
    alerts_section = Section(
        key="alerts",
        title=_("Delivery of each alert issued in the period"),
        columns=[
            Column("stt", _("No."), INT),
            Column("headline", _("Alert"), TEXT),
            Column("event", _("Event"), TEXT),
            Column("issued", _("Issued at"), TEXT),
            Column("issuer", _("Issued by"), TEXT),
            Column("targeted", _("Targeted"), INT, devices),
            Column("acknowledged", _("Acknowledged"), INT, devices),
            Column("played", _("Played or displayed"), INT, devices),
            Column("failed", _("Failed"), INT, devices),
            Column("pending", _("Not yet confirmed"), INT, devices),
            Column("delivered_share", _("Delivered share"), PERCENT),
        ],
        rows=alert_rows,
        total=alert_total,
        chart=Chart("headline", ["targeted", "acknowledged"], _("Devices targeted and acknowledged per alert")),
        note=_("Devices of this unit and the units below it only. Acknowledged includes the devices that played."),
    )
    areas_section = Section(
        key="areas",
        title=_("Alert receipts reported by devices, by area"),
        columns=[
            Column("stt", _("No."), INT),
            Column("area", pgettext("report column", "Area"), TEXT),
            Column("code", _("Area code"), CODE),
            Column("alerts_acknowledged", _("Acknowledged"), INT),
            Column("alerts_played", _("Played or displayed"), INT),
            Column("alerts_failed", _("Failed"), INT),
        ],
        rows=area_rows,
        total=area_total,
        chart=Chart("area", ["alerts_acknowledged", "alerts_played"], _("Alert receipts by area")),
        note=_("Counted on the day each device reported the receipt."),
    )
    report = fig.blank_report(KEY, _("Report on alert delivery"), unit, period, cutoff)
    report.sections = [alerts_section, areas_section]
    report.summary = [
        (_("Alerts issued"), cell_text(len(alert_rows), INT)),
        (_("Devices targeted"), cell_text(alert_total["targeted"], INT)),
        (_("Delivered share"), cell_text(alert_total["delivered_share"], PERCENT)),
        (_("Failed"), cell_text(alert_total["failed"], INT)),
    ]
    return report


register(
    ReportType(
        key=KEY,
        title=lambda: _("Alert delivery"),
        description=lambda: _("For each alert issued: devices targeted, acknowledged, played and failed."),
        build=build,
        order=40,
    )
)
