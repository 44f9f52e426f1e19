"""Compile, sign and store device manifests: everything a device must play for the next days."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from nguon.broadcast.audience import unit_codes
from nguon.broadcast.keys import signer
from nguon.broadcast.models import CompiledManifest, Device, DeviceKind, ItemKind, PushEvent, Slot
from nguon.broadcast.schedule import MANIFEST_DAYS, local_zone, occurrences
from nguon.lib.bulkwrite import update_rows
from nguon.lib.signing import canonical
from nguon.units.models import Unit

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


@dataclass(frozen=True, slots=True)
class Facts:
    """What a manifest reads from a device: read as plain values for a whole province (model instances of 10,000
    devices with their units and groups cost seconds), or taken from a `Device`."""

    pk: int
    code: str
    name: str
    kind: str
    volume: int
    grace_seconds: int
    unit_code: str
    unit_path: str
    group_ids: tuple[int, ...]  # sorted

    @classmethod
    def of(cls, device: Device) -> Facts:
        group_ids = tuple(sorted(group.pk for group in device.groups.all()))
        return cls(device.pk, device.code, device.name, device.kind, device.volume, device.grace_seconds,
                   device.unit.code, device.unit.path, group_ids)  # fmt: skip

    @property
    def audience(self) -> tuple:
        """Everything its schedule (the manifest's `slots`) depends on: devices that share it share one compiled
        schedule. Nothing else of a device may be read outside `_header`."""
        return (self.unit_path, self.group_ids, self.kind, self.volume)


def read_facts(device_ids) -> list[Facts]:
    """The facts of the devices in service among these, in a few queries whatever their number."""
    rows, memberships = [], {}
    through = Device.groups.through
    for chunk in _chunks(list(device_ids)):
        devices = Device.objects.filter(pk__in=chunk, is_active=True).order_by()  # no collation sort: not shown
        rows += devices.values_list("pk", "code", "name", "kind", "volume", "grace_seconds", "unit_id")
        for device_id, group_id in through.objects.filter(device_id__in=chunk).values_list(
            "device_id", "devicegroup_id"
        ):
            memberships.setdefault(device_id, []).append(group_id)
    units = Unit.objects.filter(pk__in={row[6] for row in rows}).values_list("pk", "code", "path")
    units = {pk: (code, path) for pk, code, path in units}
    return [
        Facts(pk, code, name, kind, volume, grace, *units[unit_id], tuple(sorted(memberships.get(pk, ()))))
        for pk, code, name, kind, volume, grace, unit_id in rows
    ]


def _window(now: datetime) -> tuple[ZoneInfo, date, datetime]:
    zone = local_zone()
    first_day = now.astimezone(zone).date()
    return zone, first_day, datetime.combine(first_day, time.min, tzinfo=zone)


def _slot_entries(device: Facts, now: datetime, memo: dict) -> list[dict]:
    """The schedule part of a manifest: the same for every device of one audience (`Facts.audience`)."""
    _zone, first_day, _valid_from = _window(now)
    codes = unit_codes(device.unit_path)
    slots_key = ("slots", device.unit_path)
    if slots_key not in memo:
        slots = Slot.objects.active().filter(unit__code__in=codes)
        slots = slots.select_related("unit").prefetch_related("items__bulletin__published_revision", "items__media")
        memo[slots_key] = list(slots)
    # The slots that reach the device (as `schedule.slots_for_device`): of its unit or above, its groups, its kind.
    reaching = [
        s
        for s in memo[slots_key]
        if s.unit.code in codes
        and (s.group_id is None or s.group_id in device.group_ids)
        and (not s.device_kind or s.device_kind == device.kind)
    ]
    entries = []
    for slot in reaching:
        items = [entry for item in slot.items.all() for entry in _item(item, device, memo)]
        for occ in occurrences(slot, first_day, MANIFEST_DAYS):
            if occ.end <= now:
                continue
            entries.append({"id": occ.key, "slot": slot.pk, "name": slot.name, "start": _iso(occ.start),
                            "end": _iso(occ.end), "volume": slot.volume or device.volume, "items": items})  # fmt: skip
    entries.sort(key=lambda e: (e["start"], e["slot"]))
    return entries


def _header(device: Facts) -> dict:
    """The part of a manifest that is the device's own."""
    return {
        "device": {
            "code": device.code,
            "name": device.name,
            "kind": device.kind,
            "unit": device.unit_code,
            # What it is told about itself to check an audience (`audience.device_memberships`).
            "units": unit_codes(device.unit_path),
            "groups": list(device.group_ids),
        },  # fmt: skip
        "settings": {
            "volume": device.volume,
            "grace_seconds": device.grace_seconds,
            "heartbeat_seconds": 60,
            "report_batch_max": 500,
        },  # fmt: skip
    }


def _frame(now: datetime) -> dict:
    """The part of a manifest that is the same for every device compiled at `now`."""
    zone, _first_day, valid_from = _window(now)
    return {
        "protocol": PROTOCOL,
        "timezone": str(zone),
        "valid_from": _iso(valid_from),
        "valid_until": _iso(valid_from + timedelta(days=MANIFEST_DAYS)),
    }


def build(device: Device, now: datetime | None = None, memo: dict | None = None) -> dict:
    """The manifest document of one device (not yet signed)."""
    now = now or timezone.now()
    memo = {} if memo is None else memo
    facts = Facts.of(device)
    return {**_frame(now), **_header(facts), "slots": _slot_entries(facts, now, memo)}


def splice(parts: dict[str, bytes]) -> bytes:
    """The canonical JSON of an object whose members are given already serialised (`canonical` of each value).

    Byte-identical to `canonical` of the whole: with sorted keys and no whitespace, `json.dumps` writes an object
    as "{", then `"key":value` per member in sorted key order joined by ",", then "}", each value serialised on its
    own with the same options. (The property test in test_manifest_audience.py holds the two side by side.)
    """
    return b"{" + b",".join(_member(key) + parts[key] for key in sorted(parts)) + b"}"


@lru_cache(maxsize=64)
def _member(key: str) -> bytes:
    return canonical(key) + b":"


@dataclass
class AudienceRun:
    """One compile run: each device's canonical document (without its version) and how many schedules were built."""

    documents: dict[int, bytes] = field(default_factory=dict)
    audiences: int = 0


def compile_documents(devices: list[Facts], now: datetime | None = None, memo: dict | None = None) -> AudienceRun:
    """The canonical manifest documents (no version yet) of these devices, each schedule built once per audience.

    Per device only its header is serialised; the frame and the schedule are serialised once and spliced in.
    """
    now = now or timezone.now()
    memo = {} if memo is None else memo
    frame = {key: canonical(value) for key, value in _frame(now).items()}
    schedules: dict[tuple, bytes] = {}
    run = AudienceRun()
    for device in devices:
        key = device.audience
        schedule = schedules.get(key)
        if schedule is None:
            schedule = schedules[key] = canonical(_slot_entries(device, now, memo))
        header = {name: canonical(value) for name, value in _header(device).items()}
        run.documents[device.pk] = splice({**frame, **header, "slots": schedule})
    run.audiences = len(schedules)
    return run


def _with_version(document: bytes, version: int) -> bytes:
    """The stored body: the document with its version member, spliced in where sorting puts it (the last key)."""
    # "version" sorts after every other top-level key ("valid_until" is the greatest of them), so the member goes
    # just before the closing brace; the property test compares this with `canonical` of the whole.
    return document[:-1] + b',"version":' + str(version).encode() + b"}"


def _chunks(items: list, size: int = 2000):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def store(documents: dict[int, bytes]) -> list[int]:
    """Sign and store the documents whose content changed, as new versions, in bulk; return those devices' ids.

    Race: two runs may compile the same devices at once (two worker threads, or the Django fallback compiling a
    device the worker compiles too). Rows are locked in device order before versions are read, so versions only grow
    and a document stored meanwhile is not stored again; a device's first row is inserted first (ON CONFLICT DO
    NOTHING), so that there is a row to lock.
    """
    hashes = {pk: hashlib.sha256(document).hexdigest() for pk, document in documents.items()}
    known: dict[int, str] = {}
    for chunk in _chunks(list(documents)):
        known.update(CompiledManifest.objects.filter(device_id__in=chunk).values_list("device_id", "content_hash"))
    stale = sorted(pk for pk, content_hash in hashes.items() if known.get(pk) != content_hash)
    if not stale:
        return []
    changed = []
    stamp = timezone.now()
    sign = signer().sign
    with transaction.atomic():
        missing = [pk for pk in stale if pk not in known]
        if missing:
            CompiledManifest.objects.bulk_create(
                [
                    CompiledManifest(device_id=pk, etag="", body=b"", signature="", content_hash="", compiled_at=stamp)
                    for pk in missing
                ],  # fmt: skip
                batch_size=500,
                ignore_conflicts=True,
            )
        locked: dict[int, tuple[int, int, str]] = {}
        for chunk in _chunks(stale):
            rows = CompiledManifest.objects.select_for_update().filter(device_id__in=chunk).order_by("device_id")
            locked.update(
                (d, (i, v, h)) for i, d, v, h in rows.values_list("id", "device_id", "version", "content_hash")
            )
        updates = []
        for pk in stale:
            row_id, version, content_hash = locked[pk]
            if content_hash == hashes[pk]:
                continue  # stored meanwhile by another run
            version += 1
            body = _with_version(documents[pk], version)
            etag = f'"{version}-{hashes[pk][:16]}"'
            updates.append((row_id, version, etag, body, sign(body), hashes[pk], stamp))
            changed.append(pk)
        update_rows(CompiledManifest, ["version", "etag", "body", "signature", "content_hash", "compiled_at"], updates)
    return changed


def compile_for(device: Device, now: datetime | None = None, memo: dict | None = None) -> tuple[CompiledManifest, bool]:
    """Rebuild and sign the manifest; store it (new version) only when its content changed."""
    run = compile_documents([Facts.of(device)], now, memo)
    changed = store(run.documents)
    return CompiledManifest.objects.get(device_id=device.pk), bool(changed)


def compile_devices(device_ids, now: datetime | None = None) -> list[int]:
    """Recompile the given devices; tell the connected ones whose manifest changed (one push event)."""
    run = compile_documents(read_facts(device_ids), now)
    changed = store(run.documents)
    if changed:
        PushEvent.objects.create(type="manifest", device_ids=changed, body={})
    return changed
