"""Helpers for the schedule, TT 39 and live tests: operators, devices, published bulletins and slot forms."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from nguon.accounts.roles import Role
from nguon.broadcast import actions
from nguon.broadcast.actions import DeviceData
from nguon.broadcast.models import Device, DeviceKind
from nguon.conftest import make_user
from nguon.content import actions as content
from nguon.content.actions import BulletinData
from nguon.content.models import Bulletin

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
UTC = ZoneInfo("UTC")
# A loopback port nothing listens on: a relay there "does not answer" at once, without touching the network.
DEAD_STREAM = "http://127.0.0.1:9/vov1.mp3"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


def operator(unit, name: str = "operator"):
    """A station operator of `unit` (schedules and commands; no two-factor step)."""
    return make_user(f"{name}.{unit.code}", unit, Role.OPERATOR)


def device(unit, code: str, kind: str = DeviceKind.SPEAKER) -> Device:
    return actions.do_create_device(
        unit=unit, data=DeviceData(code=code, name=f"Cụm {code}", kind=kind), acting_user=None
    )


def published(cast, *, unit=None, priority="normal", targets=None, title="Thông báo", author=None) -> Bulletin:
    """A bulletin written in `unit` (default the province), approved and published by the province approver."""
    unit = unit or cast.province
    author = author or (cast.province_editor if unit == cast.province else cast.commune_editor)
    bulletin = content.do_create_bulletin(
        owner_unit=unit,
        data=BulletinData(title=title, body=f"{title}: nội dung gửi các xã.", priority=priority, targets=targets or []),
        acting_user=author,
    )
    content.do_submit_bulletin(bulletin, acting_user=author)
    bulletin.refresh_from_db()
    content.do_approve_bulletin(bulletin, acting_user=cast.approver, revision_number=bulletin.current_revision.number)
    bulletin.refresh_from_db()
    return bulletin


def stamp_of(response) -> str:
    match = re.search(rb'name="stamp" value="([0-9a-f]+)"', response.content)
    assert match, "the slot form carries a stamp"
    return match.group(1).decode()


def slot_form(stamp: str, *, items=(), initial_rows: int = 0, slot_id=None, **fields) -> dict:
    """POST data for the slot form. `items`: dicts of bulletin/media/stream_url/stream_name/ORDER/DELETE per row;
    `initial_rows`: how many rows the page built from existing items (they come first in `items`)."""
    data = {
        "stamp": stamp,
        "name": "Chương trình sáng",
        "recurrence": "daily",
        "start_date": "2026-11-26",
        "end_date": "",
        "start_time": "05:30",
        "end_time": "06:00",
        "group": "",
        "device_kind": "",
        "volume": "",
        "items-TOTAL_FORMS": str(max(len(items), initial_rows)),
        "items-INITIAL_FORMS": str(initial_rows),
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "60",
    }
    if slot_id is not None:
        data["slot_id"] = str(slot_id)
    for index, row in enumerate(items):
        for key, value in row.items():
            if value is None or value is False:
                continue
            data[f"items-{index}-{key}"] = "on" if value is True else str(value)
    for key, value in fields.items():
        if isinstance(value, list | tuple):
            data[key] = [str(v) for v in value]
        else:
            data[key] = "" if value is None else str(value)
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
