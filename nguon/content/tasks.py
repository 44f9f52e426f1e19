"""Periodic jobs: scheduled publication and expiry."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from nguon.audit.context import Origin, origin
from nguon.content.actions import do_expire_due, do_publish_due


@db_periodic_task(crontab(minute="*"), retries=1, retry_delay=10)
def publish_and_expire() -> dict:
    with origin(Origin(channel="worker")):
        return {"published": do_publish_due(), "expired": do_expire_due()}
