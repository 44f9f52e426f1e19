"""Devices, enrolment, groups and schedules: each action owns its transaction, audit row and recompiles."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.audit.actions import record_event
from nguon.broadcast import signals
from nguon.broadcast.models import (
    Device,
    DeviceGroup,
    DeviceKind,
    DeviceToken,
    EnrolmentCode,
    ItemKind,
    ProgrammeTemplate,
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


def _require(acting_user, capability: Capability, unit) -> None:
    """Check access; `acting_user` None is the system itself (demo, commands), as in accounts.actions."""
    if acting_user is not None:
        require(acting_user, capability, unit)


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
    """Register a device in `unit`; `acting_user` None means the system itself (commands, demo)."""
    _require(acting_user, Capability.MANAGE_DEVICES, unit)
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
    _require(acting_user, Capability.MANAGE_DEVICES, device.unit)
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
    _require(acting_user, Capability.MANAGE_DEVICES, device.unit)
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
        # A (re-)enrolled device remembers nothing: the gateway must not hold back alerts it acknowledged before.
        PushEvent.objects.create(type="enrolled", device_ids=[device.pk])
        _recompile_after_commit([device.pk])
        transaction.on_commit(lambda: signals.device_enrolled.send(sender=Device, device=device))
    return device, token


def do_revoke_tokens(device: Device, *, acting_user) -> int:
    _require(acting_user, Capability.MANAGE_DEVICES, device.unit)
    with transaction.atomic():
        count = DeviceToken.objects.filter(device=device, revoked_at__isnull=True).update(revoked_at=timezone.now())
        record_event("broadcast.tokens_revoked", actor=acting_user, obj=device, changes={"count": count})
        PushEvent.objects.create(type="revoke", device_ids=[device.pk])
    return count


def do_push_command(devices, *, type: str, body: dict, acting_user, unit, ttl_seconds: int = 600) -> PushEvent:
    """Send a command (play, stop, live, live_stop, volume, reboot) to devices now."""
    _require(acting_user, Capability.OPERATE_DEVICES, unit)
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
class GroupData:
    name: str
    description: str = ""
    devices: list[Device] = field(default_factory=list)


def _check_group(unit, data: GroupData) -> None:
    errors: dict[str, list] = {}
    name = data.name.strip()
    if not name:
        errors["name"] = [_("Enter a name.")]
    elif len(name) > 200:
        errors["name"] = [_("At most 200 characters.")]
    outside = sorted(d.code for d in data.devices if not unit.contains(d.unit))
    if outside:
        errors["devices"] = [
            _("These devices lie outside %(unit)s: %(codes)s.") % {"unit": unit.name, "codes": ", ".join(outside)}
        ]
    if errors:
        raise Invalid(_("The group has errors; nothing was saved."), fields=errors)


def do_save_group(group: DeviceGroup | None, *, unit, data: GroupData, acting_user) -> DeviceGroup:
    """Create or change a device group owned by `unit`; its devices may come from any commune below it."""
    from nguon.broadcast.access import require_group_editor

    if group is not None:
        unit = group.unit  # the owner of an existing group does not change
    if acting_user is not None:
        require_group_editor(acting_user, unit)
    _check_group(unit, data)
    name = data.name.strip()
    with transaction.atomic():
        others = DeviceGroup.objects.filter(unit=unit).exclude(pk=group.pk if group else None)
        # casefold in Python: SQLite's case-insensitive match only knows ASCII ("Đồng Nai" vs "đồng nai").
        if any(other.casefold() == name.casefold() for other in others.values_list("name", flat=True)):
            raise Conflict(_("This unit already has a group with this name."), code="group_exists",
                           fields={"name": [_("Already in use.")]})  # fmt: skip
        created = group is None
        before = set() if created else set(group.devices.values_list("pk", flat=True))
        group = group or DeviceGroup(unit=unit)
        group.name = name
        group.description = data.description.strip()
        group.save()
        after = {d.pk for d in data.devices}
        group.devices.set(after)
        by_pk = {d.pk: d.code for d in data.devices}
        changes = {"name": name, "devices": len(after)}
        if not created:
            removed = before - after
            changes["added"] = sorted(by_pk[pk] for pk in after - before)
            changes["removed"] = sorted(Device.objects.filter(pk__in=removed).values_list("code", flat=True))
        record_event("broadcast.group_created" if created else "broadcast.group_updated", actor=acting_user,
                     obj=group, unit=unit, changes=changes)  # fmt: skip
        # Only members that came or went can see their programme change, and only if a slot aims at the group.
        if not created and before != after and group.slots.filter(is_active=True).exists():
            _recompile_after_commit(before ^ after)
    return group


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
    playable = None
    for index, item in enumerate(data.items, start=1):
        kind = item.get("kind")
        if kind == ItemKind.RELAY and not _is_stream_url(str(item.get("stream_url", ""))):
            errors.setdefault("items", []).append(
                _("Item %(n)d: a stream needs a full http:// or https:// address (at most 200 characters).")
                % {"n": index}
            )
        elif kind == ItemKind.BULLETIN and item.get("bulletin") is None:
            errors.setdefault("items", []).append(_("Item %(n)d: choose a bulletin.") % {"n": index})
        elif kind == ItemKind.BULLETIN:
            if playable is None:
                from nguon.broadcast.tt39 import playable_bulletins

                playable = set(playable_bulletins(unit).values_list("pk", flat=True))
            if item["bulletin"].pk not in playable:
                # TT 39: a normal bulletin from above enters a commune's programme only when the commune takes it.
                errors.setdefault("items", []).append(
                    _("Item %(n)d: “%(title)s” cannot be played here: only published bulletins of the unit, bulletins "
                      "it took into its programme and priority bulletins sent to it can be.")
                    % {"n": index, "title": item["bulletin"].title}
                )  # fmt: skip
        elif kind == ItemKind.MEDIA and item.get("media") is None:
            errors.setdefault("items", []).append(_("Item %(n)d: choose a media file.") % {"n": index})
        elif kind == ItemKind.MEDIA and item["media"].is_generated:
            # Approval holds: rendered speech (of a draft too) plays only through its bulletin's approved revision.
            errors.setdefault("items", []).append(
                _("Item %(n)d: this audio was rendered from a bulletin; schedule the bulletin itself once it is "
                  "approved.") % {"n": index}
            )  # fmt: skip
        elif kind == ItemKind.MEDIA and not item["media"].is_usable_in(unit):
            errors.setdefault("items", []).append(
                _("Item %(n)d: this media file belongs to another unit.") % {"n": index}
            )
        elif kind not in ItemKind.values:
            errors.setdefault("items", []).append(_("Item %(n)d: unknown kind.") % {"n": index})
    if errors:
        raise Invalid(_("The slot has errors; nothing was saved."), fields=errors)


def _is_stream_url(url: str) -> bool:
    if len(url) > 200:  # SlotItem.stream_url
        return False
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return False
    return True


def conflicts_for(slot: Slot) -> list[Slot]:
    """Active slots whose audience shares a device with this one and that overlap it in time.

    Only slots that can reach the unit's devices are looked at: its own, those of units below it and those of the
    units above it. Another commune's slots never reach them (audiences stay inside their unit), so they can
    neither block this slot nor be named to its operator.
    """
    from nguon.broadcast.tt39 import self_and_ancestor_paths

    mine = audience(slot)
    if not mine:
        return []
    unit = slot.unit
    candidates = Slot.objects.active().exclude(pk=slot.pk).select_related("unit", "group")
    candidates = candidates.filter(
        Q(unit__path__startswith=unit.path) | Q(unit__path__in=self_and_ancestor_paths(unit))
    )
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


def _with_pushed_items(unit, items: list[dict]) -> list[dict]:
    """TT 39: live priority bulletins pushed to the unit stay in its slots (the operator only orders them).

    Marks them as pushed, and puts back in front any the items leave out.
    """
    from nguon.broadcast.tt39 import pushed_bulletins

    pushed = {b.pk: b for b in pushed_bulletins(unit)}

    def bulletin_id(item):
        return item["bulletin"].pk if item.get("kind") == ItemKind.BULLETIN and item.get("bulletin") else None

    present = {bulletin_id(item) for item in items}
    front = [{"kind": ItemKind.BULLETIN, "bulletin": b, "pushed": True} for pk, b in pushed.items()
             if pk not in present]  # fmt: skip
    return front + [{**item, "pushed": bulletin_id(item) in pushed} for item in items]


def do_save_slot(slot: Slot | None, *, unit, data: SlotData, acting_user, allow_overlap: bool = False) -> Slot:
    """Create or change a slot; refuse it when it overlaps another slot of the same devices (unless allowed)."""
    _require(acting_user, Capability.OPERATE_DEVICES, unit)
    _check_slot(data, unit)
    data.items = _with_pushed_items(unit, data.items)
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
    _require(acting_user, Capability.OPERATE_DEVICES, slot.unit)
    with transaction.atomic():
        devices = audience(slot)
        Slot.objects.filter(pk=slot.pk).update(is_active=False)
        record_event("broadcast.slot_removed", actor=acting_user, obj=slot, unit=slot.unit)
        _recompile_after_commit(devices)


def do_reorder_slot_items(slot: Slot, order: list[int], *, acting_user) -> Slot:
    """Put a slot's items in the given order (item ids), e.g. the commune's own priority items before or after
    the ones TT 39 pushed from above."""
    _require(acting_user, Capability.OPERATE_DEVICES, slot.unit)
    with transaction.atomic():
        # The slot row serialises concurrent reorders and edits; the order must name exactly the current items.
        # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the join to the group.
        slot = Slot.objects.select_for_update(of=("self",)).select_related("unit", "group").get(pk=slot.pk)
        current = list(slot.items.order_by("position", "pk").values_list("pk", flat=True))
        order = [int(pk) for pk in order]
        if len(order) != len(set(order)) or set(order) != set(current):
            raise Conflict(_("The slot's items changed meanwhile: reload the page and order them again."),
                           code="stale_order")  # fmt: skip
        if order == current:
            return slot
        for position, pk in enumerate(order, start=1):
            SlotItem.objects.filter(pk=pk, slot=slot).update(position=position)
        record_event("broadcast.slot_reordered", actor=acting_user, obj=slot, unit=slot.unit,
                     changes={"order": [current, order]})  # fmt: skip
        _recompile_after_commit(audience(slot))
    return slot


def template_items(items) -> list[dict]:
    """A slot's items as a programme template stores them (ids, not objects; pushed items come by themselves)."""
    stored = []
    for item in items:
        if item.pushed:
            continue
        if item.kind == ItemKind.BULLETIN and item.bulletin_id:
            stored.append({"kind": item.kind, "bulletin": item.bulletin_id})
        elif item.kind == ItemKind.MEDIA and item.media_id:
            stored.append({"kind": item.kind, "media": item.media_id})
        elif item.kind == ItemKind.RELAY:
            stored.append({"kind": item.kind, "stream_url": item.stream_url, "stream_name": item.stream_name})
    return stored


def do_save_programme_template(*, slot: Slot, name: str, acting_user) -> ProgrammeTemplate:
    """Keep a slot's times and items as a programme template of its unit."""
    _require(acting_user, Capability.OPERATE_DEVICES, slot.unit)
    name = name.strip()
    if not name or len(name) > 200:
        raise Invalid(_("The template has errors; nothing was saved."),
                      fields={"name": [_("Enter a name of at most 200 characters.")]})  # fmt: skip
    with transaction.atomic():
        # casefold in Python: SQLite's case-insensitive match only knows ASCII ("Buổi sáng" vs "BUỔI SÁNG").
        names = ProgrammeTemplate.objects.filter(unit=slot.unit).values_list("name", flat=True)
        if any(other.casefold() == name.casefold() for other in names):
            raise Conflict(_("This unit already has a template with this name."), code="template_exists",
                           fields={"name": [_("Already in use.")]})  # fmt: skip
        template = ProgrammeTemplate.objects.create(
            unit=slot.unit, name=name, start_time=slot.start_time, end_time=slot.end_time,
            items=template_items(slot.items.order_by("position")), created_by=acting_user,
        )  # fmt: skip
        record_event("broadcast.template_created", actor=acting_user, obj=template, unit=slot.unit,
                     changes={"name": name, "slot": slot.pk, "items": len(template.items)})  # fmt: skip
    return template


def do_delete_programme_template(template: ProgrammeTemplate, *, acting_user) -> None:
    _require(acting_user, Capability.OPERATE_DEVICES, template.unit)
    with transaction.atomic():
        record_event("broadcast.template_deleted", actor=acting_user, obj=template, unit=template.unit,
                     changes={"name": template.name})  # fmt: skip
        template.delete()
