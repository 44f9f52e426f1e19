"""Helpers for the alert tests: alert data, and devices placed in communes or at coordinates."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from nguon.alerts.actions import do_create_alert
from nguon.broadcast.tests.device_helpers import make_device


def alert_data(**fields) -> dict:
    now = timezone.now()
    data = {
        "status": "Actual",
        "msg_type": "Alert",
        "event": "Lũ lụt",
        "categories": ["Met"],
        "response_types": ["Evacuate"],
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Likely",
        "headline": "Cảnh báo lũ trên sông Đồng Nai",
        "description": "Mực nước sông Đồng Nai đang lên nhanh.",
        "instruction": "Di chuyển người và tài sản lên nơi cao.",
        "onset": now,
        "expires": now + timedelta(hours=6),
    }
    data.update(fields)
    return data


def make_alert(cast, *, unit=None, user=None, **fields):
    unit = unit or cast.province
    fields.setdefault("area_units", [cast.commune])
    return do_create_alert(alert_data(**fields), unit=unit, acting_user=user or cast.approver)


def device_at(cast, code: str, *, unit=None, lat=None, lon=None, **fields):
    device = make_device(cast, code, **fields)
    if unit is not None or lat is not None:
        device.unit = unit or device.unit
        device.latitude, device.longitude = lat, lon
        device.save(update_fields=["unit", "latitude", "longitude"])
    return device
