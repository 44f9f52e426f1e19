"""Worker jobs of the feedback app: e-mail the citizen, close answered items after the reopen period, remind
handlers of deadlines, erase personal data after the retention period."""

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


@db_periodic_task(crontab(minute="*/15"))
def remind_feedback_deadlines() -> int:
    """Tell handlers about items due within a working day or overdue (each milestone once)."""
    from nguon.feedback.reminders import send_reminders

    with origin(Origin(channel="worker")):
        return send_reminders()


# 02:30 in Asia/Ho_Chi_Minh (19:30 UTC).
@db_periodic_task(crontab(hour="19", minute="30"))
def erase_expired_personal_data() -> int:
    """Erase the contact details of feedback closed or refused longer ago than the retention period."""
    from nguon.feedback.privacy import erase_expired

    with origin(Origin(channel="worker")):
        return erase_expired()
