"""Periodic tasks that keep raw report records for the configured time (monthly partitions on PostgreSQL)."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from nguon.reports import partitions

log = logging.getLogger(__name__)


@db_periodic_task(crontab(hour="20", minute="10"))  # 03:10 in Asia/Ho_Chi_Minh (huey runs on UTC)
def keep_raw_records() -> dict:
    """Create next months' partitions, then drop the raw rows older than NGUON_REPORT_RAW_RETENTION_DAYS."""
    created = partitions.ensure_partitions(months_ahead=2)
    expired = partitions.drop_expired()
    dropped = [name for e in expired for name in e.partitions]
    rows = sum(e.rows for e in expired)
    if created or dropped or rows:
        log.info("raw report records: created %s, dropped %s, about %d rows removed", created, dropped, rows)
    return {"created": created, "dropped": dropped, "rows": rows}
