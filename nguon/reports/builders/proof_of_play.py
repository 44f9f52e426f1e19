"""Proof of play: what the schedules planned against what the devices report they played, per commune and device.

Planned items and minutes come from the schedules (set each day by planning); played ones from the devices' play
records. Played share is played items over planned items.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from nguon.reports import areas as fig
from nguon.reports.catalogue import ReportType, register
from nguon.reports.exports.layout import cell_text
from nguon.reports.periods import Period
from nguon.reports.tables import CODE, DECIMAL, INT, PERCENT, TEXT, Chart, Column, Report, Section
from nguon.units.models import Unit

KEY = "proof_of_play"
COUNTS = ("planned_items", "played_items", "partial_items", "failed_items", "skipped_items")


def _figures(d: dict) -> dict:
    return {
        **{k: d.get(k, 0) for k in COUNTS},
        "planned_minutes": round(d.get("planned_seconds", 0) / 60, 1),
        "played_minutes": round(d.get("played_seconds", 0) / 60, 1),
        "played_share": fig.share(d.get("played_items", 0), d.get("planned_items", 0)),
    }


def _figure_columns() -> list[Column]:
    items, minutes = _("Items"), _("Minutes")
    return [
        Column("planned_items", _("Planned"), INT, items),
        Column("played_items", _("Played"), INT, items),
        Column("partial_items", _("Interrupted"), INT, items),
        Column("failed_items", _("Failed"), INT, items),
        Column("skipped_items", _("Skipped"), INT, items),
        Column("planned_minutes", _("Planned"), DECIMAL, minutes),
        Column("played_minutes", _("Played"), DECIMAL, minutes),
        Column("played_share", _("Played share"), PERCENT),
    ]


def _total(rows: list[dict], sums: dict) -> dict:
    total = {k: sum(r[k] for r in rows) for k in COUNTS}
    total["planned_minutes"] = round(sums.get("planned_seconds", 0) / 60, 1)
    total["played_minutes"] = round(sums.get("played_seconds", 0) / 60, 1)
    total["played_share"] = fig.share(total["played_items"], total["planned_items"])
    return total


def build(unit: Unit, period: Period, cutoff: datetime) -> Report:
    rows_units = fig.areas(unit, period)
    amap = fig.AreaMap(unit, rows_units)
    days = fig.day_sums(amap, period)
    rows_units = fig.area_rows(unit, rows_units, days)
    seconds = {
        name: sum(days.get(a.pk, {}).get(name, 0) for a in rows_units) for name in ("planned_seconds", "played_seconds")
    }
    area_rows = [
        {
            "stt": index,
            "area": fig.area_label(area, unit, rows_units),
            "code": area.code,
            **_figures(days.get(area.pk, {})),
        }
        for index, area in enumerate(rows_units, start=1)
    ]
    area_total = {"stt": None, "area": _("Total"), "code": unit.code, **_total(area_rows, seconds)}

    listed = not fig.too_many_devices(unit)
    per_device = fig.device_day_sums(unit, period) if listed else {}
    device_rows = []
    # Devices in service, and any that played in the period (taken out of service since).
    for index, device in enumerate(fig.subtree_devices(unit, set(per_device)) if listed else [], start=1):
        device_rows.append(
            {
                "stt": index,
                "device": device["name"],
                "device_code": device["code"],
                "commune": device["unit__name"],
                "code": device["unit__code"],
                **_figures(per_device.get(device["pk"], {})),
            }
        )
    device_seconds = {
        name: sum(d.get(name, 0) for d in per_device.values()) for name in ("planned_seconds", "played_seconds")
    }

    areas_section = Section(
        key="communes",
        title=_("Planned and played by commune"),
        columns=[
            Column("stt", _("No."), INT),
            Column("area", pgettext("report column", "Area"), TEXT),
            Column("code", _("Area code"), CODE),
            *_figure_columns(),
        ],
        rows=area_rows,
        total=area_total,
        chart=Chart("area", ["planned_items", "played_items"], _("Items planned and played by commune")),
        note=_("Played share: items played in full over items planned."),
    )
    devices_section = Section(
        key="devices",
        title=_("Planned and played by device"),
        columns=[
            Column("stt", _("No."), INT),
            Column("device", _("Device"), TEXT),
            Column("device_code", _("Device code"), CODE),
            Column("commune", _("Commune"), TEXT),
            Column("code", _("Area code"), CODE),
            *_figure_columns(),
        ],
        rows=device_rows,
        total={"stt": None, "device": _("Total"), **_total(device_rows, device_seconds)},
        note="" if listed else fig.device_rows_note(),
    )
    report = fig.blank_report(KEY, _("Proof of play report"), unit, period, cutoff)
    report.sections = [areas_section, devices_section]
    report.summary = [
        (_("Items planned"), cell_text(area_total["planned_items"], INT)),
        (_("Items played"), cell_text(area_total["played_items"], INT)),
        (_("Played share"), cell_text(area_total["played_share"], PERCENT)),
        (_("Minutes played"), cell_text(area_total["played_minutes"], DECIMAL)),
    ]
    return report


register(
    ReportType(
        key=KEY,
        title=lambda: _("Proof of play"),
        description=lambda: _(
            "Items and minutes planned by the schedules against those played, per commune and device."
        ),
        build=build,
        order=30,
    )
)
