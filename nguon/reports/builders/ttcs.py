"""The periodic grassroots information report (TTCS-style table), monthly, quarterly or yearly.

One row per area (Stt, Địa bàn, Mã địa bàn), then: stations by technology, devices, online share, broadcast
hours, bulletins by TT 39 class and by source level, feedback received and answered on time, Ghi chú.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from nguon.reports import areas as fig
from nguon.reports.catalogue import ReportType, register
from nguon.reports.periods import Period
from nguon.reports.tables import CODE, DECIMAL, INT, PERCENT, TEXT, Chart, Column, Report, Section
from nguon.units.models import Unit

KEY = "ttcs"
NUMBERS = (
    "stations_wired", "stations_fm", "stations_ip", "devices_speaker", "devices_board",
    "broadcast_hours", "bulletins", "bulletins_normal", "bulletins_priority", "bulletins_emergency",
    "source_central", "source_province", "source_commune", "feedback_received", "feedback_on_time",
)  # fmt: skip


def columns() -> list[Column]:
    stations, devices, bulletins = _("Radio stations"), _("Devices in service"), _("Bulletins published")
    by_level, feedback = _("Bulletins by source level"), _("Citizens' feedback")
    return [
        Column("stt", _("No."), INT),
        Column("area", pgettext("report column", "Area"), TEXT),
        Column("code", _("Area code"), CODE),
        Column("stations_wired", _("Wired"), INT, stations),
        Column("stations_fm", _("FM radio"), INT, stations),
        Column("stations_ip", _("IT-telecom"), INT, stations),
        Column("devices_speaker", _("Loudspeaker clusters"), INT, devices),
        Column("devices_board", _("E-boards"), INT, devices),
        Column("online_share", _("Online share"), PERCENT),
        Column("broadcast_hours", _("Broadcast hours"), DECIMAL),
        Column("bulletins", _("Total"), INT, bulletins),
        Column("bulletins_normal", _("Normal"), INT, bulletins),
        Column("bulletins_priority", _("Priority"), INT, bulletins),
        Column("bulletins_emergency", _("Emergency"), INT, bulletins),
        Column("source_central", _("Central"), INT, by_level),
        Column("source_province", _("Province"), INT, by_level),
        Column("source_commune", _("Commune"), INT, by_level),
        Column("feedback_received", _("Received"), INT, feedback),
        Column("feedback_on_time", _("Answered on time"), INT, feedback),
        Column("note", _("Notes"), TEXT),
    ]


def build(unit: Unit, period: Period, cutoff: datetime) -> Report:
    minutes = period.elapsed_minutes(cutoff)
    rows_units = fig.areas(unit, period)
    amap = fig.AreaMap(unit, rows_units)
    days = fig.day_sums(amap, period)
    stock = fig.inventory(amap, period)
    content = fig.content_sums(amap, period)
    feedback = fig.feedback_sums(amap, period)
    # The report unit's own devices and bulletins (a province's own e-boards) get a row of their own.
    rows_units = fig.area_rows(unit, rows_units, days, stock, content, feedback)
    rows = []
    for index, area in enumerate(rows_units, start=1):
        d, s, c, f = days.get(area.pk, {}), stock.get(area.pk, {}), content.get(area.pk, {}), feedback.get(area.pk, {})
        devices = s.get("devices", 0)
        row = {
            "stt": index,
            "area": fig.area_label(area, unit, rows_units),
            "code": area.code,
            **{
                k: s.get(k, 0)
                for k in ("stations_wired", "stations_fm", "stations_ip", "devices_speaker", "devices_board")
            },
            "online_share": fig.share(d.get("online_minutes", 0), devices * minutes),
            "broadcast_hours": round(d.get("played_seconds", 0) / 3600, 1),
            **{k: c.get(k, 0) for k in ("bulletins", "bulletins_normal", "bulletins_priority", "bulletins_emergency")},
            **{k: c.get(k, 0) for k in ("source_central", "source_province", "source_commune")},
            "feedback_received": f.get("feedback_received", 0),
            "feedback_on_time": f.get("feedback_on_time", 0),
            "note": "" if devices else _("No device in service"),
            "_online_minutes": d.get("online_minutes", 0),
        }
        rows.append(row)
    total = {"stt": None, "area": _("Total"), "code": unit.code, "note": ""}
    for key in NUMBERS:
        total[key] = round(sum(r[key] for r in rows), 1) if key == "broadcast_hours" else sum(r[key] for r in rows)
    all_devices = total["devices_speaker"] + total["devices_board"]
    total["online_share"] = fig.share(sum(r.pop("_online_minutes") for r in rows), all_devices * minutes)
    section = Section(
        key="areas",
        title=_("Grassroots information by area"),
        columns=columns(),
        rows=rows,
        total=total,
        chart=Chart("area", ["broadcast_hours", "bulletins"], _("Broadcast hours and bulletins by area")),
        note=_(
            "Stations and devices are those in service at the end of the period (for the current period: now); "
            "online share is the minutes devices reported in, over the minutes of the period up to the cut-off."
        ),
    )
    report = fig.blank_report(KEY, _("Report on grassroots information activities"), unit, period, cutoff)
    report.sections = [section]
    return report


register(
    ReportType(
        key=KEY,
        title=lambda: _("Periodic grassroots information report (TTCS)"),
        description=lambda: _("Stations, devices, airtime, bulletins and feedback per area, as the ministry asks."),
        build=build,
        periods=("month", "quarter", "year"),
        order=10,
    )
)
