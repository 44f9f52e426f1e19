"""Recompile the manifests a content change affects (in the worker, after the change is committed)."""

from django.dispatch import receiver

from nguon.content.actions import bulletin_published, bulletin_withdrawn
from nguon.speech.signals import render_finished


def devices_playing_bulletin(bulletin_id: int) -> set[int]:
    from nguon.broadcast.models import Device, Slot

    device_ids: set[int] = set()
    for slot in Slot.objects.active().filter(items__bulletin_id=bulletin_id).select_related("unit", "group").distinct():
        device_ids |= audience(slot)
    return device_ids & set(
        Device.objects.filter(pk__in=device_ids, is_active=True).order_by().values_list("pk", flat=True)
    )


def audience(slot) -> set[int]:
    """Devices a slot reaches: every device under the slot's unit, or those of its group, of the slot's kind.

    Never beyond the slot's unit: a commune may aim at a province-wide group (a zone along a river), and reaches
    only the group's devices inside the commune, as the manifests do (`schedule.slots_for_device`).
    """
    from nguon.broadcast.models import Device

    devices = Device.objects.in_unit(slot.unit)
    if slot.group_id:
        devices = devices.filter(groups=slot.group_id)
    if slot.device_kind:
        devices = devices.filter(kind=slot.device_kind)
    return set(devices.filter(is_active=True).order_by().values_list("pk", flat=True))  # no collation sort


@receiver(bulletin_published, dispatch_uid="broadcast_bulletin_published")
@receiver(bulletin_withdrawn, dispatch_uid="broadcast_bulletin_withdrawn")
def _bulletin_changed(sender, bulletin, **kwargs):
    from nguon.broadcast.tasks import recompile

    device_ids = devices_playing_bulletin(bulletin.pk)
    if device_ids:
        recompile(sorted(device_ids))


@receiver(render_finished, dispatch_uid="broadcast_render_finished")
def _render_finished(sender, render, **kwargs):
    from nguon.broadcast.tasks import recompile
    from nguon.content.models import Bulletin
    from nguon.speech.actions import spoken_text_for

    # Which live bulletins does this audio belong to? Few are live at once, so compare their spoken text.
    device_ids: set[int] = set()
    for bulletin in Bulletin.objects.live().filter(slot_items__isnull=False).distinct():
        if spoken_text_for(bulletin.published_revision) == render.text:
            device_ids |= devices_playing_bulletin(bulletin.pk)
    if device_ids:
        recompile(sorted(device_ids))


# TT 39: what a published or withdrawn bulletin does to the programmes (see tt39.py). Registered after the
# recompile receivers above; these recompile the slots they change themselves.
@receiver(bulletin_published, dispatch_uid="broadcast_tt39_published")
def _tt39_published(sender, bulletin, **kwargs):
    from nguon.broadcast import tt39

    tt39.on_published(bulletin)


@receiver(bulletin_withdrawn, dispatch_uid="broadcast_tt39_withdrawn")
def _tt39_withdrawn(sender, bulletin, **kwargs):
    from nguon.broadcast import tt39

    tt39.on_withdrawn(bulletin)


@receiver(render_finished, dispatch_uid="broadcast_tt39_render_finished")
def _tt39_render_finished(sender, render, **kwargs):
    from nguon.broadcast import tt39

    tt39.on_render_finished(render)
