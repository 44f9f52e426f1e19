"""TT 39/2020/TT-BTTTT in the programme: what each priority class of a published bulletin does to the schedules.

- normal (thông thường): nothing happens by itself. The commune takes the bulletin into its programme (content
  Adoption how=chosen), then an operator places it in a slot.
- priority (ưu tiên): placed at the front of every active slot of the target units (the units of its Adoption
  rows how=pushed, and the units below them). Where a slot also holds the commune's own priority bulletins, the
  commune operator decides the order (`actions.do_reorder_slot_items`); nobody can take it out while it is live.
- emergency (khẩn cấp): played at once on every device of the target units (`dispatch_emergency`), and placed in
  the slots like a priority bulletin, so that a device that was offline when the command went out still hears it.

Withdrawn or expired bulletins leave the slots they were pushed into; manifests never play a bulletin that is
not live anyway.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from nguon.audit.actions import record_event
from nguon.broadcast.models import Device, ItemKind, PushEvent, Recurrence, Slot, SlotItem
from nguon.broadcast.receivers import audience
from nguon.content.models import Adoption, Bulletin, Priority

log = logging.getLogger(__name__)

PUSHED_CLASSES = (Priority.PRIORITY, Priority.EMERGENCY)
# An emergency "play" command still counts for a device that reconnects within this time (Last-Event-ID).
EMERGENCY_PLAY_TTL = timedelta(minutes=30)


def _recompile_after_commit(device_ids) -> None:
    ids = sorted(set(device_ids))
    if ids:
        from nguon.broadcast.tasks import recompile

        transaction.on_commit(lambda: recompile(ids))


def target_units(bulletin: Bulletin) -> list:
    """The units a priority or emergency bulletin was pushed to (its targets, or its issuing unit)."""
    from nguon.units.models import Unit

    return list(Unit.objects.filter(adoptions__bulletin=bulletin, adoptions__how=Adoption.How.PUSHED).distinct())


def _in_subtrees(units, field: str) -> Q:
    condition = Q(pk__in=[])
    for unit in units:
        condition |= Q(**{f"{field}__startswith": unit.path})
    return condition


def self_and_ancestor_paths(unit) -> list[str]:
    """The paths of `unit` and of every unit above it ("75/26068/" → ["75/", "75/26068/"])."""
    codes = unit.path.strip("/").split("/")
    return ["/".join(codes[: depth + 1]) + "/" for depth in range(len(codes))]


def pushed_bulletins(unit) -> QuerySet:
    """Live priority and emergency bulletins pushed to `unit` or to a unit above it: they belong in its slots."""
    return (
        Bulletin.objects.live()
        .filter(
            priority__in=PUSHED_CLASSES,
            adoptions__how=Adoption.How.PUSHED,
            adoptions__unit__path__in=self_and_ancestor_paths(unit),
        )
        .distinct()
    )


def playable_bulletins(unit) -> QuerySet:
    """What a unit's slots may play: its own live bulletins, those it took in (Adoption), and those pushed to it.

    A normal bulletin from above is not here until the commune adopts it: TT 39 leaves that choice to the commune.
    """
    pushed = pushed_bulletins(unit).values("pk")
    return (
        Bulletin.objects.live()
        .filter(Q(owner_unit=unit) | Q(adoptions__unit=unit) | Q(pk__in=pushed))
        .select_related("owner_unit", "published_revision")
        .distinct()
    )


def priority_collision(slot: Slot, items=None) -> bool:
    """True when a slot holds both a priority bulletin pushed from above and the unit's own priority bulletins:
    TT 39 lets the commune operator decide their order."""
    items = list(items if items is not None else slot.items.select_related("bulletin"))
    bulletins = [i.bulletin for i in items if i.kind == ItemKind.BULLETIN and i.bulletin is not None]
    from_above = [b for b in bulletins if b.owner_unit_id != slot.unit_id and b.priority in PUSHED_CLASSES]
    own = [b for b in bulletins if b.owner_unit_id == slot.unit_id and b.priority in PUSHED_CLASSES]
    return bool(from_above and own)


def insert_priority_bulletin(bulletin: Bulletin, *, today=None) -> list[Slot]:
    """Put a live priority (or emergency) bulletin at the front of every active slot of its target units.

    Idempotent: a slot that already holds the bulletin is left as it is (publishing a new revision again, or two
    workers handling the same signal, insert it once).
    """
    if bulletin.priority not in PUSHED_CLASSES or not Bulletin.objects.live().filter(pk=bulletin.pk).exists():
        return []
    targets = target_units(bulletin)
    if not targets:
        return []
    today = today or timezone.localdate()
    candidates = (
        Slot.objects.active()
        .filter(_in_subtrees(targets, "unit__path"))
        .filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
        .exclude(recurrence=Recurrence.ONCE, start_date__lt=today)
        .exclude(items__bulletin=bulletin)
        .values_list("pk", flat=True)
    )
    changed: list[Slot] = []
    devices: set[int] = set()
    with transaction.atomic():
        for slot_id in list(candidates):
            # Lock the slot, then look again: another worker may have inserted it meanwhile.
            # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the join to the group.
            slot = Slot.objects.select_for_update(of=("self",)).select_related("unit", "group").get(pk=slot_id)
            if slot.items.filter(bulletin=bulletin).exists():
                continue
            SlotItem.objects.filter(slot=slot).update(position=F("position") + 1)
            SlotItem.objects.create(slot=slot, position=1, kind=ItemKind.BULLETIN, bulletin=bulletin, pushed=True)
            record_event(
                "broadcast.priority_inserted",
                obj=slot,
                unit=slot.unit,
                changes={"bulletin": bulletin.pk, "priority": bulletin.priority, "title": bulletin.title},
            )
            changed.append(slot)
            devices |= audience(slot)
        _recompile_after_commit(devices)
    return changed


def remove_withdrawn_bulletin(bulletin: Bulletin) -> list[Slot]:
    """Take a bulletin that is no longer live out of the slots it was pushed into (chosen items stay, unplayed)."""
    if Bulletin.objects.live().filter(pk=bulletin.pk).exists():
        return []
    changed: list[Slot] = []
    devices: set[int] = set()
    with transaction.atomic():
        slots = Slot.objects.filter(items__bulletin=bulletin, items__pushed=True).select_related("unit", "group")
        for slot in slots.distinct():
            SlotItem.objects.filter(slot=slot, bulletin=bulletin, pushed=True).delete()
            record_event(
                "broadcast.priority_removed", obj=slot, unit=slot.unit, changes={"bulletin": bulletin.pk}
            )  # fmt: skip
            changed.append(slot)
            if slot.is_active:
                devices |= audience(slot)
        _recompile_after_commit(devices)
    return changed


def dispatch_emergency(bulletin: Bulletin, *, now=None) -> list[PushEvent]:
    """Tell every active device of the target units to play an emergency bulletin now.

    One "play" push event per device kind: loudspeakers get the bulletin's audio, e-boards its text. Idempotent per
    published revision and kind, so the publish signal and the end of the audio render can both call it. When the
    audio is not rendered yet, the render is requested and loudspeakers are told when it finishes
    (`on_render_finished`); e-boards are told at once.
    """
    from nguon.broadcast.manifest import _bulletin_items  # the item exactly as a manifest carries it

    now = now or timezone.now()
    if bulletin.priority != Priority.EMERGENCY:
        return []
    events: list[PushEvent] = []
    render_needed = False
    with transaction.atomic():
        # The bulletin's row serialises concurrent dispatches of the same bulletin (publish signal, render end).
        bulletin = (
            Bulletin.objects.select_for_update(of=("self",))
            .select_related("owner_unit", "published_revision")
            .get(pk=bulletin.pk)
        )
        revision = bulletin.published_revision
        if revision is None or not Bulletin.objects.live(now).filter(pk=bulletin.pk).exists():
            return []
        targets = target_units(bulletin)
        by_kind: dict[str, list[Device]] = {}
        for device in Device.objects.active().filter(_in_subtrees(targets, "unit__path")).order_by("pk"):
            by_kind.setdefault(device.kind, []).append(device)
        expires = now + EMERGENCY_PLAY_TTL
        if bulletin.expires_at is not None:
            expires = min(expires, bulletin.expires_at)
        for _kind, devices in sorted(by_kind.items()):
            items = _bulletin_items(bulletin, devices[0])
            if not items:
                render_needed = True  # loudspeakers without audio yet
                continue
            item = items[0]
            sent = PushEvent.objects.filter(
                type="play",
                body__item__bulletin=bulletin.pk,
                body__item__revision=revision.number,
                body__item__kind=item["kind"],
            )
            if sent.exists():
                continue
            event = PushEvent.objects.create(
                type="play", device_ids=[d.pk for d in devices], body={"item": item}, expires_at=expires
            )
            record_event(
                "broadcast.emergency_dispatched",
                obj=bulletin,
                unit=bulletin.owner_unit,
                changes={"revision": revision.number, "kind": item["kind"], "devices": len(devices), "event": event.pk},
            )
            events.append(event)
        if render_needed:
            transaction.on_commit(lambda: _request_render(revision))
    return events


def _request_render(revision) -> None:
    from nguon.core.errors import Invalid
    from nguon.speech.actions import request_render_for_revision
    from nguon.speech.engines import SpeechError

    # Nothing to say, or no engine: e-boards got the text; the bulletin page shows why there is no audio.
    with contextlib.suppress(Invalid, SpeechError):
        request_render_for_revision(revision)


def on_published(bulletin: Bulletin) -> None:
    if bulletin.priority in PUSHED_CLASSES:
        insert_priority_bulletin(bulletin)
    if bulletin.priority == Priority.EMERGENCY:
        dispatch_emergency(bulletin)


def on_withdrawn(bulletin: Bulletin) -> None:
    remove_withdrawn_bulletin(bulletin)


def on_render_finished(render) -> None:
    """Audio for a live emergency bulletin is ready: tell the loudspeakers that were still waiting for it."""
    from nguon.speech.actions import spoken_text_for

    emergencies = Bulletin.objects.live().filter(priority=Priority.EMERGENCY).select_related("published_revision")
    for bulletin in emergencies:
        if spoken_text_for(bulletin.published_revision) == render.text:
            dispatch_emergency(bulletin)
