"""Keep the roll-ups in step with the records and bulletins other apps store."""

from __future__ import annotations

from django.dispatch import receiver

from nguon.broadcast import reports as device_reports
from nguon.content.actions import bulletin_published
from nguon.reports import rollup

device_reports.on_stored(rollup.on_records_stored)


@receiver(bulletin_published, dispatch_uid="reports.content_month")
def _count_published(sender, bulletin, **kwargs) -> None:
    # Sent after commit: recount the bucket from the bulletins (idempotent), so a retry or a race cannot double it.
    if bulletin.published_at is not None:
        rollup.refresh_content_month(bulletin.owner_unit_id, rollup.month_of(bulletin.published_at))
