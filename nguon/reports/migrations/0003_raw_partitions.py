"""PostgreSQL: turn the raw report record tables into tables partitioned by month of `received_at`.

Why: raw records are kept for NGUON_REPORT_RAW_RETENTION_DAYS only (the figures live on in the roll-ups), and at
10,000 devices a month of them is tens of millions of rows. A month kept in its own partition is dropped in
milliseconds (`DETACH PARTITION` + `DROP TABLE`) instead of a DELETE that runs for hours, bloats the table and
holds back vacuum. `nguon.reports.partitions` creates the months ahead and drops the expired ones (a daily task).

Each table keeps its name, columns, identity sequence, foreign keys and indexes (with Django's names), so Django's
model state is unchanged and nothing that reads or writes these tables notices. Two things must change, because
PostgreSQL requires a unique index on a partitioned table to contain the partition key:

- the primary key becomes (id, received_at): ids still come from the one identity sequence, so they stay unique;
- the (device, seq) unique constraint becomes (device, seq, received_at).

Deduplication of device records stays exact all the same. It never rested on the constraint alone:
`nguon.broadcast.reports.ingest()` locks the devices' rows (SELECT … FOR UPDATE) and only then looks up which
(device, seq) pairs are already stored (`_stored_seqs`, across all partitions) and skips them, so two batches of
one device are never checked and inserted concurrently. A re-sent record is one whose `at` is at most MAX_AGE
(30 days) old (older ones are refused as too_old), and its first copy arrived after its `at` (less FUTURE_SLACK),
so the first copy is still stored when the re-send comes: the retention may not be set below 35 days, and only
whole months older than it are dropped. `ignore_conflicts` remains a last guard for the same (device, seq) arriving
at the same instant.

Partition bounds are UTC months ([first day 00:00 UTC, next first day)), named `<table>_pYYYY_MM`, plus
`<table>_default`, which catches any row outside the existing months (a clock far in the future, a month not yet
created), so an insert can never fail for want of a partition.

On SQLite nothing happens (the retention deletes rows in batches there). The copy runs once, at upgrade, in the
migration's transaction: its time grows with the raw rows already stored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import migrations

TABLES = ("broadcast_heartbeat", "broadcast_playrecord", "broadcast_devicelog", "alerts_alertreceipt")
KEY = "received_at"
MONTHS_AHEAD = 2


def _months(first: datetime, last: datetime) -> list[datetime]:
    month = datetime(first.year, first.month, 1, tzinfo=UTC)
    months = []
    while month <= last:
        months.append(month)
        month = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return months


def _next(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def _partition(cursor, table: str) -> None:
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [table])
    if cursor.fetchone()[0] == "p":
        return  # already partitioned (a database restored from a dump of a partitioned one)
    # What to recreate on the new table, read before the old one goes: constraints and the other indexes.
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass",
        [table],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
        [table, table],
    )
    indexes = cursor.fetchall()
    cursor.execute(f"SELECT min({KEY}) FROM {table}")  # noqa: S608 (our table names)
    oldest = cursor.fetchone()[0]
    now = datetime.now(UTC)
    last = datetime(now.year, now.month, 1, tzinfo=UTC)
    for _ in range(MONTHS_AHEAD):
        last = _next(last)

    new = f"{table}__partitioned"
    cursor.execute(
        f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING STORAGE) "
        f"PARTITION BY RANGE ({KEY})"
    )
    for month in _months(min(oldest or now, now), last):
        cursor.execute(
            f"CREATE TABLE {table}_p{month:%Y_%m} PARTITION OF {new} FOR VALUES FROM (%s) TO (%s)",
            [month, _next(month)],
        )
    cursor.execute(f"CREATE TABLE {table}_default PARTITION OF {new} DEFAULT")
    cursor.execute(f"INSERT INTO {new} SELECT * FROM {table}")  # noqa: S608 (same columns, same order: LIKE)
    cursor.execute(f"DROP TABLE {table}")  # nothing references these tables (checked: no foreign keys to them)
    cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
    sequence = cursor.fetchone()[0]
    cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {table}_id_seq")
    cursor.execute(
        f"SELECT setval('{table}_id_seq', coalesce(max(id), 0) + 1, false) FROM {table}"  # noqa: S608
    )
    for name, kind, definition in sorted(constraints, key=lambda c: "pufc".index(c[1]) if c[1] in "pufc" else 9):
        if kind == "p":
            definition = f"PRIMARY KEY (id, {KEY})"
        elif kind == "u":
            definition = definition.rstrip(")") + f", {KEY})"  # UNIQUE (device_id, seq) → (…, received_at)
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        cursor.execute(definition)  # "CREATE INDEX name ON public.<table> …": the name now is the new table's


def partition_tables(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in TABLES:
            _partition(cursor, table)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_inventory_month"),
        ("broadcast", "0004_vietnamese_names"),
        ("alerts", "0005_vietnamese_names"),
    ]

    # Backwards there is nothing to undo for Django: the partitioned tables serve the same models.
    operations = [migrations.RunPython(partition_tables, migrations.RunPython.noop)]
