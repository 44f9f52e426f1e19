"""Scheduled UP messages: the child's figures and device inventory, queued for its parent every few hours."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from nguon.central import up


@db_periodic_task(crontab(minute="20", hour="*/6"))
def queue_periodic_up() -> list[str]:
    # Keys name the content: unchanged figures are not queued again, changed ones go as a new message.
    return up.queue_periodic()
