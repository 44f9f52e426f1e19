"""Tasks that generate reports (on request and on schedule) and plan each day's expected airtime."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from nguon.audit.context import Origin, origin


@db_task()
def generate_report_run(run_id: int):
    from nguon.reports.runs import generate

    with origin(Origin(channel="worker")):
        run = generate(run_id)
    return run.state if run else None


# Mail servers fail for a while and come back: retry for about an hour. The files stay in the archive meanwhile.
@db_task(retries=6, retry_delay=600)
def email_report_run(run_id: int) -> list[str]:
    from nguon.reports.runs import email_run

    with origin(Origin(channel="worker")):
        return email_run(run_id)


@db_periodic_task(crontab(minute="*/15"))
def start_due_report_schedules() -> int:
    """Queue the runs of the schedules that are due (the first day of a month, quarter or year); fail runs whose
    worker stopped."""
    from nguon.reports.runs import fail_interrupted, start_due_schedules

    with origin(Origin(channel="worker")):
        fail_interrupted()
        return len(start_due_schedules())


@db_periodic_task(crontab(minute="5"))
def plan_today() -> int:
    """Set today's planned items and airtime from the schedules as they are now (they change during the day)."""
    from nguon.reports import rollup

    return rollup.plan_day(timezone.localdate())


@db_periodic_task(crontab(hour="17", minute="15"))  # 00:15 in Asia/Ho_Chi_Minh (huey runs on UTC)
def plan_yesterday() -> int:
    """Plan the day that just ended once more, with the schedule changes of its last hour."""
    from nguon.reports import rollup

    return rollup.plan_day(timezone.localdate() - timedelta(days=1))
