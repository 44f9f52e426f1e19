"""The chain check as the task worker runs it: a real Huey consumer, not immediate mode."""

from __future__ import annotations

from datetime import datetime

import pytest
from django.db import connections
from huey.contrib.djhuey import HUEY
from huey.storage import SqliteStorage

from nguon.audit.actions import record_event
from nguon.audit.models import AuditCheck
from nguon.audit.tasks import verify_audit_chain, verify_audit_chain_nightly


@pytest.fixture
def live_consumer(tmp_path, monkeypatch):
    """Switch Huey to a real SQLite queue in tmp_path and run a one-thread consumer; restore both after."""
    saved_kwargs, saved_immediate = HUEY.storage_kwargs, HUEY.immediate
    HUEY.storage_kwargs = {**saved_kwargs, "filename": str(tmp_path / "tasks.sqlite3")}
    HUEY.immediate = False  # recreates the storage from storage_kwargs
    # Each worker thread opens its own database connection: close it when the worker stops, so the
    # test database can be dropped afterwards (PostgreSQL refuses while a session is open).
    HUEY.on_shutdown("test_close_db")(connections.close_all)
    consumer = HUEY.create_consumer(
        workers=1, worker_type="thread", periodic=False, check_worker_health=False, initial_delay=0.05, max_delay=0.2
    )
    # The consumer would install SIGINT/SIGTERM handlers for the whole test process; it runs in threads here.
    monkeypatch.setattr(consumer, "_set_signal_handlers", lambda: None)
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.stop(graceful=True)
        HUEY.unregister_on_shutdown("test_close_db")
        HUEY.storage.close()
        HUEY.storage_kwargs = saved_kwargs
        HUEY.immediate = saved_immediate
    assert not any(thread.is_alive() for _, thread in consumer.worker_threads)


@pytest.mark.django_db(transaction=True)
def test_worker_verifies_the_chain_and_records_a_check(cast, live_consumer):
    record_event("test.event", unit=cast.commune, changes={"n": 1})
    assert not AuditCheck.objects.exists()
    assert not HUEY.immediate
    assert isinstance(HUEY.storage, SqliteStorage)

    result = verify_audit_chain()
    outcome = result.get(blocking=True, timeout=30)

    assert outcome["ok"] is True
    assert outcome["problems"] == []
    check = AuditCheck.objects.get()
    assert check.ok
    assert check.channel == "worker"
    assert check.checked == outcome["checked"] > 0


def test_tasks_run_inline_in_tests_by_default(db):
    assert HUEY.immediate
    outcome = verify_audit_chain()()
    assert outcome == {"ok": True, "checked": 0, "problems": []}
    assert AuditCheck.objects.get().channel == "worker"


def test_nightly_check_is_a_registered_periodic_task():
    task_class = verify_audit_chain_nightly.task_class
    assert any(isinstance(task, task_class) for task in HUEY._registry.periodic_tasks)

    def due(hour: int, minute: int) -> bool:
        return any(isinstance(t, task_class) for t in HUEY.read_periodic(datetime(2025, 7, 1, hour, minute)))

    # crontab(hour=19, minute=15) in UTC: 02:15 in Asia/Ho_Chi_Minh, once a day.
    assert HUEY.utc
    assert due(19, 15)
    assert not due(19, 16)
    assert not due(2, 15)
    assert sum(due(h, m) for h in range(24) for m in range(60)) == 1
