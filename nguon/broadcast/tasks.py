"""Worker jobs of the distribution app: manifest compilation, offline detection, daily roll-over."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from nguon.audit.context import Origin, origin


@db_task(retries=2, retry_delay=2)
def recompile(device_ids: list[int]) -> int:
    from nguon.broadcast.manifest import compile_devices

    with origin(Origin(channel="worker")):
        return len(compile_devices(device_ids))


# Local midnight (17:00 UTC) moves every manifest's window one day on; 17:05 leaves slack for clock skew.
@db_periodic_task(crontab(hour="17", minute="5"), retries=2, retry_delay=60)
def roll_manifests_daily() -> int:
    from nguon.broadcast.manifest import compile_devices
    from nguon.broadcast.models import Device

    with origin(Origin(channel="worker")):
        return len(compile_devices(Device.objects.active().order_by().values_list("pk", flat=True)))


@db_periodic_task(crontab(minute="*"), retries=1, retry_delay=5)
def mark_silent_devices_offline() -> int:
    from nguon.broadcast.monitoring import mark_overdue_offline

    with origin(Origin(channel="worker")):
        return mark_overdue_offline()
