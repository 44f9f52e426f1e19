"""Worker jobs of the feedback app: e-mail the citizen, close answered items after the reopen period."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from nguon.audit.context import Origin, origin


@db_task(retries=4, retry_delay=60)
def send_citizen_email(event_id: int, code: str = "") -> bool:
    from nguon.feedback.mail import send_event_email

    with origin(Origin(channel="worker")):
        return send_event_email(event_id, code)


# 02:00 in Asia/Ho_Chi_Minh (19:00 UTC).
@db_periodic_task(crontab(hour="19", minute="0"))
def close_answered_feedback() -> int:
    from nguon.feedback.actions import close_answered

    with origin(Origin(channel="worker")):
        return close_answered()
