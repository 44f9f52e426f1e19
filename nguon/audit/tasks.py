"""Periodic jobs of the audit app."""

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from nguon.audit.actions import verify_chain
from nguon.audit.context import Origin, origin

log = logging.getLogger(__name__)


def _verify() -> dict:
    with origin(Origin(channel="worker")):
        result = verify_chain(record=True)
    if not result.ok:
        # The back office shows an alarm from the recorded check; the log line is for operators' monitoring.
        log.error("audit chain broken: %s", result.problems)
    return {"ok": result.ok, "checked": result.checked, "problems": result.problems}


# 02:15 in Asia/Ho_Chi_Minh is 19:15 UTC (the consumer schedules in UTC).
@db_periodic_task(crontab(hour="19", minute="15"), retries=2, retry_delay=60)
def verify_audit_chain_nightly() -> dict:
    return _verify()


@db_task(retries=2, retry_delay=10)
def verify_audit_chain() -> dict:
    return _verify()
