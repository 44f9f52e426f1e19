"""Helpers for tampering with the audit table the way someone with database access would."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from nguon.audit.actions import record_event
from nguon.audit.models import AuditEvent


def drop_append_only_trigger() -> None:
    """Remove the database guard first, as an attacker with DDL rights would (rolled back with the test)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER audit_event_no_update ON audit_auditevent")
        else:
            cursor.execute("DROP TRIGGER audit_event_no_update")


def trigger_exists() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'audit_event_no_update'")
        else:
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'audit_event_no_update'"
            )
        return cursor.fetchone()[0] == 1


def raw_update(event_id: int, **values) -> None:
    assignments = ", ".join(f"{column} = %s" for column in values)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE audit_auditevent SET {assignments} WHERE id = %s", [*values.values(), event_id])


def raw_delete(event_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event_id])


def raw_insert(event: AuditEvent) -> int:
    """Insert a row by hand (no head update), returning its id."""
    columns = [
        "at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "unit_path",
        "changes",
        "ip",
        "user_agent",
        "channel",
        "seq",
        "prev_hash",
        "hash",
    ]
    values = [
        event.at,
        event.actor_label,
        event.action,
        event.object_type,
        event.object_id,
        event.object_repr,
        event.unit_path,
        json.dumps(event.changes),
        event.ip,
        event.user_agent,
        event.channel,
        event.seq,
        event.prev_hash,
        event.hash,
    ]
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO audit_auditevent ({', '.join(columns)}) VALUES ({placeholders})", values)
    return AuditEvent.objects.get(seq=event.seq).pk


@pytest.fixture
def chain(cast) -> list[AuditEvent]:
    """The cast's events plus a few more, ordered by sequence."""
    for n in range(5):
        record_event("test.event", unit=cast.commune, changes={"n": n})
    return list(AuditEvent.objects.order_by("seq"))
