"""Online/offline from heartbeats: each change is an append-only row."""

from django.db import transaction
from django.utils import timezone

from nguon.broadcast.models import Device, DeviceStatusChange


def mark_overdue_offline(now=None) -> int:
    """Mark devices silent past their grace time offline (claimed row by row: safe with several workers)."""
    now = now or timezone.now()
    count = 0
    for pk in Device.objects.overdue(now).values_list("pk", flat=True):
        with transaction.atomic():
            if Device.objects.filter(pk=pk, is_online=True, silent_after__lt=now).update(is_online=False):
                DeviceStatusChange.objects.create(device_id=pk, at=now, online=False, reason="silent")
                count += 1
    return count
