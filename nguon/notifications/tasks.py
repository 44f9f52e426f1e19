"""Worker jobs: send queued deliveries, retry the failed ones, announce deadlines."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from nguon.audit.context import Origin, origin


@db_task()
def deliver(delivery_ids: list[int]) -> dict:
    """Send these deliveries now (queued after the commit that created them)."""
    from nguon.notifications.actions import deliver_now

    with origin(Origin(channel="worker")):
        return deliver_now(delivery_ids)


@db_periodic_task(crontab(minute="*"))
def deliver_due_notifications() -> dict:
    """Retries whose delay has passed, and rows whose first queueing was lost (retries live in the database, not
    in the queue, so a restart or a queue outage loses nothing)."""
    from nguon.notifications.actions import deliver_due

    with origin(Origin(channel="worker")):
        return deliver_due()


@db_periodic_task(crontab(minute="*/5"))
def send_deadline_reminders() -> int:
    from nguon.notifications.reminders import send_reminders

    with origin(Origin(channel="worker")):
        return send_reminders()


# 03:30 in Asia/Ho_Chi_Minh (20:30 UTC).
@db_periodic_task(crontab(hour="20", minute="30"))
def purge_read_notifications() -> int:
    from nguon.notifications.actions import purge_read

    with origin(Origin(channel="worker")):
        return purge_read()
