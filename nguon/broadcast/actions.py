"""Devices, enrolment, groups and schedules: each action owns its transaction, audit row and recompiles."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.audit.actions import record_event
from nguon.broadcast.models import (
    Device,
    DeviceGroup,
    DeviceKind,
    DeviceToken,
    EnrolmentCode,
    ItemKind,
    PushEvent,
    Recurrence,
    Slot,
    SlotItem,
)
from nguon.broadcast.receivers import audience
from nguon.broadcast.schedule import overlapping
from nguon.core.errors import Conflict, Invalid

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed on a kiosk
ENROLMENT_VALID = timedelta(hours=24)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _recompile_after_commit(device_ids) -> None:
    ids = sorted(set(device_ids))
    if ids:
        from nguon.broadcast.tasks import recompile

        transaction.on_commit(lambda: recompile(ids))


@dataclass
class DeviceData:
    code: str
    name: str
    kind: str = DeviceKind.SPEAKER
    model: str = ""
    technology: str = "ip"
    connectivity: str = "cellular"
    latitude: float | None = None
    longitude: float | None = None
    volume: int = 80
    is_drill: bool = False
    grace_seconds: int = 180
    station: object = None


def _check_device(data: DeviceData, unit) -> None:
    errors: dict[str, list] = {}
    if not data.code.strip():
        errors["code"] = [_("Enter the device code.")]
    if not data.name.strip():
        errors["name"] = [_("Enter a name.")]
    if (data.latitude is None) != (data.longitude is None):
        errors["latitude"] = [_("Give both latitude and longitude, or neither.")]
    elif data.latitude is not None and not (-90 <= data.latitude <= 90 and -180 <= data.longitude <= 180):
        errors["latitude"] = [_("These are not valid coordinates.")]
    if not 0 <= data.volume <= 100:
        errors["volume"] = [_("Volume is between 0 and 100.")]
    if not 30 <= data.grace_seconds <= 86400:
        errors["grace_seconds"] = [_("Between 30 seconds and one day.")]
    if data.station is not None and data.station.unit_id != unit.pk and not data.station.unit.contains(unit):
        errors["station"] = [_("The station must belong to this unit or one above it.")]
    if errors:
        raise Invalid(_("The device has errors; nothing was saved."), fields=errors)


def do_create_device(*, unit, data: DeviceData, acting_user) -> Device:
    require(acting_user, Capability.MANAGE_DEVICES, unit)
    _check_device(data, unit)
    with transaction.atomic():
        if Device.objects.filter(code__iexact=data.code.strip()).exists():
            raise Conflict(_("A device with this code already exists."), code="device_exists",
                           fields={"code": [_("Already in use.")]})  # fmt: skip
        device = Device.objects.create(unit=unit, **{**data.__dict__, "code": data.code.strip()})
        record_event("broadcast.device_created", actor=acting_user, obj=device,
                     changes={"code": device.code, "kind": device.kind})  # fmt: skip
        _recompile_after_commit([device.pk])
    return device


def do_update_device(device: Device, *, data: DeviceData, acting_user) -> Device:
    require(acting_user, Capability.MANAGE_DEVICES, device.unit)
    _check_device(data, device.unit)
    with transaction.atomic():
        changes = {}
        for name, value in data.__dict__.items():
            if name == "code":
                continue
            if getattr(device, name) != value:
                changes[name] = [str(getattr(device, name)), str(value)]
                setattr(device, name, value)
        device.save()
        if changes:
            record_event("broadcast.device_updated", actor=acting_user, obj=device, changes=changes)
            _recompile_after_commit([device.pk])
    return device


def do_issue_enrolment_code(device: Device, *, acting_user) -> str:
    """Return a new one-time code (shown once); earlier unused codes of the device stop working."""
    require(acting_user, Capability.MANAGE_DEVICES, device.unit)
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    code = f"{raw[:4]}-{raw[4:]}"
    with transaction.atomic():
        EnrolmentCode.objects.filter(device=device, used_at__isnull=True).update(expires_at=timezone.now())
        EnrolmentCode.objects.create(device=device, code_hash=token_hash(_clean_code(code)),
                                     expires_at=timezone.now() + ENROLMENT_VALID, created_by=acting_user)  # fmt: skip
        record_event("broadcast.enrolment_code_issued", actor=acting_user, obj=device)
    return code


def _clean_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def do_enrol(code: str, *, hardware: dict | None = None) -> tuple[Device, str]:
    """Exchange a one-time code for a device token (the token is returned once and stored hashed)."""
    now = timezone.now()
    with transaction.atomic():
        enrolment = (
            EnrolmentCode.objects.select_for_update()
            .select_related("device")
            .filter(code_hash=token_hash(_clean_code(code or "")), used_at__isnull=True, expires_at__gt=now)
            .first()
        )
        # One answer for unknown, used and expired codes, so that codes cannot be probed.
        if enrolment is None or not enrolment.device.is_active:
            raise Invalid(_("This enrolment code is not valid."), code="invalid_code")
        enrolment.used_at = now
        enrolment.save(update_fields=["used_at"])
        device = enrolment.device
        token = "nd1_" + secrets.token_urlsafe(32)
        DeviceToken.objects.create(device=device, token_hash=token_hash(token))
        record_event("broadcast.device_enrolled", obj=device, actor_label=f"device:{device.code}",
                     changes={"hardware": {k: str(v)[:100] for k, v in (hardware or {}).items()}})  # fmt: skip
        _recompile_after_commit([device.pk])
    return device, token


def do_revoke_tokens(device: Device, *, acting_user) -> int:
    require(acting_user, Capability.MANAGE_DEVICES, device.unit)
    with transaction.atomic():
        count = DeviceToken.objects.filter(device=device, revoked_at__isnull=True).update(revoked_at=timezone.now())
        record_event("broadcast.tokens_revoked", actor=acting_user, obj=device, changes={"count": count})
        PushEvent.objects.create(type="revoke", device_ids=[device.pk])
    return count


def do_push_command(devices, *, type: str, body: dict, acting_user, unit, ttl_seconds: int = 600) -> PushEvent:
    """Send a command (play, stop, live, live_stop, volume, reboot) to devices now."""
    require(acting_user, Capability.OPERATE_DEVICES, unit)
    if type not in {"play", "stop", "live", "live_stop", "volume", "reboot"}:
        raise Invalid(_("Unknown command."), code="unknown_command")
    ids = [d.pk for d in devices if unit.contains(d.unit)]
    if not ids:
        raise Invalid(_("Choose at least one device."), code="no_devices")
    with transaction.atomic():
        event = PushEvent.objects.create(type=type, device_ids=ids, body=body,
                                         expires_at=timezone.now() + timedelta(seconds=ttl_seconds))  # fmt: skip
        record_event(f"broadcast.command_{type}", actor=acting_user, unit=unit, obj=unit,
                     changes={"devices": len(ids), **{k: str(v)[:200] for k, v in body.items()}})  # fmt: skip
    return event


@dataclass
class SlotData:
    name: str
    start_time: time
    end_time: time
    start_date: date
    end_date: date | None = None
    recurrence: str = Recurrence.DAILY
    weekdays: str = ""
    group: DeviceGroup | None = None
    device_kind: str = ""
    volume: int | None = None
    items: list[dict] = field(default_factory=list)  # {"kind", "bulletin"|"media"|"stream_url", "stream_name"}


def _check_slot(data: SlotData, unit) -> None:
    errors: dict[str, list] = {}
    if not data.name.strip():
        errors["name"] = [_("Enter a name.")]
    if data.end_time <= data.start_time:
        errors["end_time"] = [_("The slot must end after it starts (a slot cannot cross midnight).")]
    if data.end_date and data.end_date < data.start_date:
        errors["end_date"] = [_("The last day comes before the first.")]
    if data.recurrence == Recurrence.WEEKDAYS:
        days = [d.strip() for d in data.weekdays.split(",") if d.strip()]
        if not days or any(d not in {"1", "2", "3", "4", "5", "6", "7"} for d in days):
            errors["weekdays"] = [_("Choose weekdays as numbers 1 (Monday) to 7 (Sunday).")]
    if data.volume is not None and not 0 <= data.volume <= 100:
        errors["volume"] = [_("Volume is between 0 and 100.")]
    if data.group is not None and not unit.contains(data.group.unit) and not data.group.unit.contains(unit):
        errors["group"] = [_("This group does not belong to the unit.")]
    for index, item in enumerate(data.items, start=1):
        kind = item.get("kind")
        if kind == ItemKind.RELAY and not str(item.get("stream_url", "")).startswith(("http://", "https://")):
            errors.setdefault("items", []).append(_("Item %(n)d: a stream needs an http(s) URL.") % {"n": index})
        elif kind == ItemKind.BULLETIN and item.get("bulletin") is None:
            errors.setdefault("items", []).append(_("Item %(n)d: choose a bulletin.") % {"n": index})
        elif kind == ItemKind.MEDIA and item.get("media") is None:
            errors.setdefault("items", []).append(_("Item %(n)d: choose a media file.") % {"n": index})
        elif kind not in ItemKind.values:
            errors.setdefault("items", []).append(_("Item %(n)d: unknown kind.") % {"n": index})
    if errors:
        raise Invalid(_("The slot has errors; nothing was saved."), fields=errors)


def conflicts_for(slot: Slot) -> list[Slot]:
    """Active slots whose audience shares a device with this one and that overlap it in time."""
    mine = audience(slot)
    if not mine:
        return []
    candidates = Slot.objects.active().exclude(pk=slot.pk).select_related("unit", "group")
    candidates = candidates.filter(start_time__lt=slot.end_time, end_time__gt=slot.start_time)
    return [other for other in overlapping(slot, candidates) if audience(other) & mine]


def _apply(slot: Slot, data: SlotData) -> None:
    for name in ("name", "start_time", "end_time", "start_date", "end_date", "recurrence", "weekdays", "group",
                 "device_kind", "volume"):  # fmt: skip
        setattr(slot, name, getattr(data, name))


def _save_items(slot: Slot, items: list[dict]) -> None:
    slot.items.all().delete()
    SlotItem.objects.bulk_create(
        SlotItem(
            slot=slot,
            position=i,
            kind=item["kind"],
            bulletin=item.get("bulletin"),
            media=item.get("media"),
            stream_url=item.get("stream_url", ""),
            stream_name=item.get("stream_name", ""),
            pushed=item.get("pushed", False),
        )  # fmt: skip
        for i, item in enumerate(items, start=1)
    )


def do_save_slot(slot: Slot | None, *, unit, data: SlotData, acting_user, allow_overlap: bool = False) -> Slot:
    """Create or change a slot; refuse it when it overlaps another slot of the same devices (unless allowed)."""
    require(acting_user, Capability.OPERATE_DEVICES, unit)
    _check_slot(data, unit)
    with transaction.atomic():
        before = audience(slot) if slot is not None and slot.pk else set()
        slot = slot or Slot(unit=unit, created_by=acting_user)
        _apply(slot, data)
        if not allow_overlap:
            clashes = conflicts_for(slot)
            if clashes:
                raise Conflict(
                    _("This slot overlaps: %(slots)s.") % {"slots": "; ".join(f"{c.unit.name}: {c}" for c in clashes)},
                    code="slot_overlap",
                    fields={"start_time": [_("Overlaps another slot of the same devices.")]},
                )
        created = slot.pk is None
        slot.save()
        _save_items(slot, data.items)
        record_event("broadcast.slot_created" if created else "broadcast.slot_updated", actor=acting_user,
                     obj=slot, unit=unit, changes={"slot": str(slot), "items": len(data.items)})  # fmt: skip
        _recompile_after_commit(before | audience(slot))
    return slot


def do_delete_slot(slot: Slot, *, acting_user) -> None:
    require(acting_user, Capability.OPERATE_DEVICES, slot.unit)
    with transaction.atomic():
        devices = audience(slot)
        Slot.objects.filter(pk=slot.pk).update(is_active=False)
        record_event("broadcast.slot_removed", actor=acting_user, obj=slot, unit=slot.unit)
        _recompile_after_commit(devices)
