"""Helpers for the fleet, monitoring and proof-of-play tests: devices and reports made the way production makes them."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from nguon.accounts.roles import Role
from nguon.broadcast import reports
from nguon.broadcast.actions import DeviceData, do_create_device
from nguon.broadcast.models import Device
from nguon.conftest import make_user

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = ZoneInfo("UTC")


def make_device(unit, code: str, **fields) -> Device:
    """Register a device through the action, as the system (no acting user)."""
    fields.setdefault("name", f"Cụm loa {code}")
    return do_create_device(unit=unit, data=DeviceData(code=code, **fields), acting_user=None)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def report(device: Device, records: list[dict], now: datetime | None = None) -> reports.Batch:
    """Send a report batch through the same parse-and-ingest path as POST /device/v1/reports."""
    batch = reports.parse(json.dumps({"records": records}).encode(), device_id=device.pk, now=now or timezone.now())
    reports.ingest([batch])
    return batch


class Sequence:
    """A device's report counter (protocol §5: it only goes up)."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> int:
        self.value += 1
        return self.value


def heartbeat(seq: int, at: datetime, **fields) -> dict:
    return {"seq": seq, "type": "heartbeat", "at": iso(at), "volume": 80, "clock_skew_ms": 0, **fields}


def play(seq: int, occurrence: str, started: datetime, result: str = "played", item: str = "1") -> dict:
    return {"seq": seq, "type": "play", "occurrence": occurrence, "item": item, "started_at": iso(started),
            "ended_at": iso(started), "result": result}  # fmt: skip


def technician(unit, name: str = "tech"):
    return make_user(f"{name}.{unit.code}", unit, Role.TECHNICIAN)


def operator(unit, name: str = "operator"):
    return make_user(f"{name}.{unit.code}", unit, Role.OPERATOR)
