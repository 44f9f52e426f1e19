"""Daily snapshot of the device inventory, so reports for past months show the devices of their time."""

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from nguon.reports import rollup


@db_periodic_task(crontab(hour="16", minute="50"))  # 23:50 in Asia/Ho_Chi_Minh (huey runs on UTC)
def snapshot_inventory() -> int:
    return rollup.snapshot_inventory(timezone.localdate().replace(day=1))
