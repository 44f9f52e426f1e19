"""Compile, sign and store device manifests: everything a device must play for the next days."""

from __future__ import annotations

import hashlib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from nguon.broadcast.audience import device_memberships
from nguon.broadcast.keys import signer
from nguon.broadcast.models import CompiledManifest, Device, DeviceKind, ItemKind, PushEvent, Slot
from nguon.broadcast.schedule import MANIFEST_DAYS, local_zone, occurrences, slots_for_device
from nguon.lib.signing import canonical

PROTOCOL = 1
MEDIA_PATH = "/device/v1/media/"


def _iso(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bulletin_items(bulletin, device: Device) -> list[dict]:
    """A published bulletin as the device plays it: its audio (speakers) or its board text (e-boards)."""
    from nguon.speech.actions import find_render, spoken_text_for

    revision = bulletin.published_revision
    if revision is None or not bulletin.__class__.objects.live().filter(pk=bulletin.pk).exists():
        return []
    base = {
        "bulletin": bulletin.pk,
        "revision": revision.number,
        "title": revision.title,
        "priority": bulletin.priority,
    }
    if device.kind == DeviceKind.BOARD:
        images = [
            {"sha256": a.sha256, "size": a.size, "url": MEDIA_PATH + a.sha256, "type": a.mime_type}
            for a in revision.attachments.all()
            if a.kind in ("image", "video")
        ]
        return [{**base, "kind": "board", "text": revision.board_text or revision.summary or revision.title,
                 "media": images}]  # fmt: skip
    speech = find_render(spoken_text_for(revision))
    if speech is None or speech.mp3 is None:
        return []  # not rendered yet: recompiled when the render finishes
    asset = speech.mp3
    return [{**base, "kind": "audio", "sha256": asset.sha256, "size": asset.size, "url": MEDIA_PATH + asset.sha256,
             "duration": asset.duration}]  # fmt: skip


def _item(item, device: Device, memo: dict) -> list[dict]:
    if item.kind == ItemKind.BULLETIN and item.bulletin_id:
        # The same bulletin looks the same on every device of a kind: work it out (normalise, find its audio)
        # once per compile run, not once per device.
        key = ("bulletin", item.bulletin_id, device.kind)
        if key not in memo:
            memo[key] = _bulletin_items(item.bulletin, device)
        return [{**entry, "pushed": item.pushed} for entry in memo[key]]
    if item.kind == ItemKind.MEDIA and item.media_id:
        m = item.media
        if m.is_generated:
            return []  # rendered speech reaches a device only through its bulletin's approved revision
        return [{"kind": m.kind if m.kind != "audio" else "audio", "title": m.title or m.original_name,
                 "sha256": m.sha256, "size": m.size, "url": MEDIA_PATH + m.sha256, "duration": m.duration}]  # fmt: skip
    if item.kind == ItemKind.RELAY and item.stream_url:
        return [{"kind": "stream", "title": item.stream_name or item.stream_url, "url": item.stream_url}]
    return []


def build(device: Device, now: datetime | None = None, memo: dict | None = None) -> dict:
    """The manifest document of one device (not yet signed)."""
    now = now or timezone.now()
    zone = local_zone()
    first_day = now.astimezone(zone).date()
    valid_from = datetime.combine(first_day, time.min, tzinfo=zone)
    memo = {} if memo is None else memo
    slots_key = ("slots", device.unit.path)
    if slots_key not in memo:
        slots = Slot.objects.active().filter(unit__code__in=device.unit.path.strip("/").split("/"))
        slots = slots.select_related("unit").prefetch_related("items__bulletin__published_revision", "items__media")
        memo[slots_key] = list(slots)
    slots = memo[slots_key]
    entries = []
    for slot in slots_for_device(device, list(slots)):
        items = [entry for item in slot.items.all() for entry in _item(item, device, memo)]
        for occ in occurrences(slot, first_day, MANIFEST_DAYS):
            if occ.end <= now:
                continue
            entries.append({"id": occ.key, "slot": slot.pk, "name": slot.name, "start": _iso(occ.start),
                            "end": _iso(occ.end), "volume": slot.volume or device.volume, "items": items})  # fmt: skip
    entries.sort(key=lambda e: (e["start"], e["slot"]))
    return {
        "protocol": PROTOCOL,
        "device": {
            "code": device.code,
            "name": device.name,
            "kind": device.kind,
            "unit": device.unit.code,
            **device_memberships(device),
        },  # fmt: skip
        "settings": {
            "volume": device.volume,
            "grace_seconds": device.grace_seconds,
            "heartbeat_seconds": 60,
            "report_batch_max": 500,
        },  # fmt: skip
        "timezone": str(zone),
        "valid_from": _iso(valid_from),
        "valid_until": _iso(valid_from + timedelta(days=MANIFEST_DAYS)),
        "slots": entries,
    }


def compile_for(device: Device, now: datetime | None = None, memo: dict | None = None) -> tuple[CompiledManifest, bool]:
    """Rebuild and sign the manifest; store it (new version) only when its content changed."""
    document = build(device, now, memo)
    content_hash = hashlib.sha256(canonical(document)).hexdigest()
    with transaction.atomic():
        current = CompiledManifest.objects.select_for_update().filter(device=device).first()
        if current is not None and current.content_hash == content_hash:
            return current, False
        version = (current.version if current else 0) + 1
        body = canonical({**document, "version": version})
        values = {
            "version": version,
            "etag": f'"{version}-{content_hash[:16]}"',
            "body": body,
            "signature": signer().sign(body),
            "content_hash": content_hash,
            "compiled_at": timezone.now(),
        }
        manifest, _ = CompiledManifest.objects.update_or_create(device=device, defaults=values)
    return manifest, True


def compile_devices(device_ids, now: datetime | None = None) -> list[int]:
    """Recompile the given devices; tell the connected ones whose manifest changed (one push event)."""
    changed = []
    memo: dict = {}  # shared work of this run (slots per unit, bulletin items); never outlives it
    # No ordering: Device's default one sorts names by the Vietnamese collation (a Python function on SQLite, seconds
    # for 10,000 rows), and a compile run needs no order.
    devices = Device.objects.filter(pk__in=list(device_ids), is_active=True).select_related("unit").order_by()
    for device in devices.prefetch_related("groups"):
        manifest, was_changed = compile_for(device, now, memo)
        if was_changed:
            changed.append(device.pk)
    if changed:
        PushEvent.objects.create(type="manifest", device_ids=changed, body={})
    return changed
