"""Device availability and faults: per area and per device of the subtree, from the device-day roll-ups.

Online share is the minutes devices reported in (one heartbeat a minute) over the minutes of the period, as in the
TTCS report; "offline now" is the devices' state when the report is made.
"""

from __future__ import annotations

from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from nguon.broadcast.models import DeviceKind
from nguon.reports import areas as fig
from nguon.reports.catalogue import ReportType, register
from nguon.reports.exports.layout import cell_text
from nguon.reports.periods import Period
from nguon.reports.tables import CODE, DECIMAL, INT, PERCENT, TEXT, Chart, Column, Report, Section
from nguon.units.models import Unit

KEY = "availability"


def build(unit: Unit, period: Period, cutoff: datetime) -> Report:
    minutes = period.elapsed_minutes(cutoff)
    rows_units = fig.areas(unit, period)
    amap = fig.AreaMap(unit, rows_units)
    days = fig.day_sums(amap, period)
    listed = not fig.too_many_devices(unit)
    per_device = fig.device_day_sums(unit, period) if listed else {}
    devices = fig.subtree_devices(unit, set(per_device))
    amap.load({d["unit_id"] for d in devices})
    in_service: dict[int, dict] = {}
    for device in devices:
        if not device["is_active"]:
            continue
        counts = in_service.setdefault(amap.area_of(device["unit_id"]), {"devices": 0, "offline": 0})
        counts["devices"] += 1
        counts["offline"] += 0 if device["is_online"] else 1
    rows_units = fig.area_rows(unit, rows_units, days, in_service)

    area_rows = []
    for index, area in enumerate(rows_units, start=1):
        d, s = days.get(area.pk, {}), in_service.get(area.pk, {})
        n = s.get("devices", 0)
        area_rows.append(
            {
                "stt": index,
                "area": fig.area_label(area, unit, rows_units),
                "code": area.code,
                "devices": n,
                "online_share": fig.share(d.get("online_minutes", 0), n * minutes),
                "online_hours": round(d.get("online_minutes", 0) / 60, 1),
                "faults": d.get("faults", 0),
                "offline_now": s.get("offline", 0),
            }
        )
    total_devices = sum(r["devices"] for r in area_rows)
    total_minutes = sum(days.get(a.pk, {}).get("online_minutes", 0) for a in rows_units)
    area_total = {
        "stt": None,
        "area": _("Total"),
        "code": unit.code,
        "devices": total_devices,
        "online_share": fig.share(total_minutes, total_devices * minutes),
        "online_hours": round(total_minutes / 60, 1),
        "faults": sum(r["faults"] for r in area_rows),
        "offline_now": sum(r["offline_now"] for r in area_rows),
    }

    kinds = dict(DeviceKind.choices)
    device_rows = []
    for index, device in enumerate(devices if listed else [], start=1):
        d = per_device.get(device["pk"], {})
        online = d.get("online_minutes", 0)
        if not device["is_active"]:
            state = _("Out of service")
        else:
            state = _("Online") if device["is_online"] else _("Offline")
        device_rows.append(
            {
                "stt": index,
                "device": device["name"],
                "device_code": device["code"],
                "kind": str(kinds.get(device["kind"], device["kind"])),
                "commune": device["unit__name"],
                "code": device["unit__code"],
                "online_share": fig.share(online, minutes),
                "online_hours": round(online / 60, 1),
                "faults": d.get("faults", 0),
                "state": state,
            }
        )

    areas_section = Section(
        key="areas",
        title=_("Availability by area"),
        columns=[
            Column("stt", _("No."), INT),
            Column("area", pgettext("report column", "Area"), TEXT),
            Column("code", _("Area code"), CODE),
            Column("devices", _("Devices in service"), INT),
            Column("online_share", _("Online share"), PERCENT),
            Column("online_hours", _("Online hours"), DECIMAL),
            Column("faults", _("Faults reported"), INT),
            Column("offline_now", _("Offline now"), INT),
        ],
        rows=area_rows,
        total=area_total,
        chart=Chart("area", ["faults", "offline_now"], _("Faults and devices offline by area")),
        note=_("Online share: the minutes devices reported in, over the minutes of the period up to the cut-off."),
    )
    devices_section = Section(
        key="devices",
        title=_("Availability by device"),
        columns=[
            Column("stt", _("No."), INT),
            Column("device", _("Device"), TEXT),
            Column("device_code", _("Device code"), CODE),
            Column("kind", _("Kind"), TEXT),
            Column("commune", _("Commune"), TEXT),
            Column("code", _("Area code"), CODE),
            Column("online_share", _("Online share"), PERCENT),
            Column("online_hours", _("Online hours"), DECIMAL),
            Column("faults", _("Faults reported"), INT),
            Column("state", _("State now"), TEXT),
        ],
        rows=device_rows,
        total={
            "stt": None,
            "device": _("Total"),
            "online_share": area_total["online_share"],
            "online_hours": area_total["online_hours"],
            "faults": sum(r["faults"] for r in device_rows),
        },
        chart=None,
        note="" if listed else fig.device_rows_note(),
    )
    report = fig.blank_report(KEY, _("Report on device availability and faults"), unit, period, cutoff)
    report.sections = [areas_section, devices_section]
    report.summary = [
        (_("Devices in service"), cell_text(total_devices, INT)),
        (_("Online share"), cell_text(area_total["online_share"], PERCENT)),
        (_("Faults reported"), cell_text(area_total["faults"], INT)),
        (_("Offline now"), cell_text(area_total["offline_now"], INT)),
    ]
    return report


register(
    ReportType(
        key=KEY,
        title=lambda: _("Device availability and faults"),
        description=lambda: _("Online share, faults and devices offline now, per area and per device."),
        build=build,
        order=20,
    )
)
