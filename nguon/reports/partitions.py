"""Keep raw report records for NGUON_REPORT_RAW_RETENTION_DAYS: monthly partitions on PostgreSQL, batches on SQLite.

The raw tables (heartbeats, plays, device logs, alert receipts) are partitioned by UTC month of `received_at` on
PostgreSQL (migration reports/0003_raw_partitions, which explains the keys). This module creates the months ahead,
drops whole months once all their rows are older than the retention (DETACH + DROP: no long DELETE, no bloat),
and lists what is there. On SQLite, and on a PostgreSQL table that is not partitioned, expired rows are deleted in
batches of BATCH rows, each in its own transaction, so the single writer is never held for long.

The roll-ups (`reports.DeviceDay`, `UnitDay`) are separate tables: dropping raw rows never changes a figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

RAW_TABLES = ("broadcast_heartbeat", "broadcast_playrecord", "broadcast_devicelog", "alerts_alertreceipt")
KEY = "received_at"
BATCH = 10_000
# A device re-sends records up to MAX_AGE (30 days) old; the first copy must still be stored when the re-send comes,
# since deduplication looks the stored copy up (see the migration). Hence the floor of the setting.
MIN_RETENTION_DAYS = 35


@dataclass
class Partition:
    name: str
    start: datetime | None  # None for the default partition
    end: datetime | None
    rows: int  # PostgreSQL's estimate (pg_class.reltuples), exact on SQLite
    size: int  # bytes, with indexes (0 on SQLite)

    @property
    def is_default(self) -> bool:
        return self.start is None


@dataclass
class TableStatus:
    table: str
    partitioned: bool
    partitions: list[Partition] = field(default_factory=list)
    rows: int = 0
    oldest: datetime | None = None


@dataclass
class Expired:
    """What dropping the expired rows did (or, in a dry run, would do) to one table."""

    table: str
    partitions: list[str] = field(default_factory=list)  # dropped whole
    rows: int = 0  # deleted row by row (SQLite, the default partition), or the dropped partitions' estimate


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y_%m}"


def is_partitioned(table: str) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


def partitions(table: str) -> list[Partition]:
    """The table's partitions, oldest first, the default one last (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), greatest(c.reltuples, 0)::bigint,
                   pg_total_relation_size(c.oid)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = %s::regclass
            """,
            [table],
        )
        rows = cursor.fetchall()
        found = []
        for name, bound, estimate, size in rows:
            start = end = None
            if bound != "DEFAULT":
                # "FOR VALUES FROM ('2026-12-01 07:00:00+07') TO (…)": let PostgreSQL read its own literals.
                cursor.execute(
                    "SELECT (regexp_match(%s, 'FROM \\(''([^'']+)''\\) TO'))[1]::timestamptz, "
                    "(regexp_match(%s, 'TO \\(''([^'']+)''\\)'))[1]::timestamptz",
                    [bound, bound],
                )
                start, end = cursor.fetchone()
            found.append(Partition(name=name, start=start, end=end, rows=estimate, size=size))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: p.start or far)


def summary() -> list[TableStatus]:
    """Each raw table: partitioned or not, its partitions (PostgreSQL), row count and oldest row."""
    statuses = []
    quote = connection.ops.quote_name
    for table in RAW_TABLES:
        status = TableStatus(table=table, partitioned=is_partitioned(table))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT min({KEY}) FROM {quote(table)}")  # noqa: S608 (our table names)
            oldest = cursor.fetchone()[0]
            if isinstance(oldest, str):  # SQLite hands raw SQL results back as text (naive UTC)
                oldest = datetime.fromisoformat(oldest).replace(tzinfo=UTC)
            status.oldest = oldest
            if status.partitioned:
                status.partitions = partitions(table)
                status.rows = sum(p.rows for p in status.partitions)
            else:
                cursor.execute(f"SELECT count(*) FROM {quote(table)}")  # noqa: S608
                status.rows = cursor.fetchone()[0]
        statuses.append(status)
    return statuses


def ensure_partitions(months_ahead: int = 2, *, now: datetime | None = None) -> list[str]:
    """Create the partitions of this month and the next `months_ahead` where missing. Returns their names.

    Rows that went to the default partition for want of the month are moved into it: the month is created as a
    plain table, filled from the default partition and attached, with the parent locked against inserts meanwhile
    (a moment: normally the default partition holds nothing of a month not yet begun).
    """
    if connection.vendor != "postgresql":
        return []
    month = month_start(now or timezone.now())
    wanted = [month]
    for _ in range(months_ahead):
        wanted.append(next_month(wanted[-1]))
    created = []
    for table in RAW_TABLES:
        if not is_partitioned(table):
            continue
        existing = {p.name for p in partitions(table)}
        for start in wanted:
            name = partition_name(table, start)
            if name not in existing:
                _create(table, name, start, next_month(start))
                created.append(name)
    return created


def _create(table: str, name: str, start: datetime, end: datetime) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")  # no insert may slip into the default
        cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING STORAGE)")
        cursor.execute(
            f"WITH moved AS (DELETE FROM {table}_default WHERE {KEY} >= %s AND {KEY} < %s RETURNING *) "  # noqa: S608
            f"INSERT INTO {name} SELECT * FROM moved",
            [start, end],
        )
        cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end])


def retention_days() -> int:
    return max(MIN_RETENTION_DAYS, settings.REPORT_RAW_RETENTION_DAYS)


def drop_expired(retention: int | None = None, *, now: datetime | None = None, dry_run: bool = False) -> list[Expired]:
    """Remove raw rows received longer than `retention` days ago (the setting by default).

    PostgreSQL drops the whole months that ended before the cut-off (so rows are kept up to a month longer than
    the retention) and deletes the expired rows of the default partition; SQLite deletes in batches.
    """
    retention = max(MIN_RETENTION_DAYS, retention if retention is not None else retention_days())
    cutoff = (now or timezone.now()) - timedelta(days=retention)
    done = []
    for table in RAW_TABLES:
        expired = Expired(table=table)
        if is_partitioned(table):
            for part in partitions(table):
                if part.end is not None and part.end <= cutoff:
                    expired.partitions.append(part.name)
                    expired.rows += part.rows
                    if not dry_run:
                        with transaction.atomic(), connection.cursor() as cursor:
                            # Check now any deferred foreign keys of rows stored earlier in an enclosing
                            # transaction: PostgreSQL refuses to drop a table with such checks pending.
                            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {part.name}")
                            cursor.execute(f"DROP TABLE {part.name}")
            expired.rows += _delete_older(f"{table}_default", cutoff, dry_run=dry_run)
        else:
            expired.rows += _delete_older(table, cutoff, dry_run=dry_run)
        done.append(expired)
    return done


def _delete_older(table: str, cutoff: datetime, *, dry_run: bool) -> int:
    quote = connection.ops.quote_name
    cutoff = connection.ops.adapt_datetimefield_value(cutoff)  # SQLite compares the stored text (naive UTC)
    if dry_run:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {quote(table)} WHERE {KEY} < %s", [cutoff])  # noqa: S608
            return cursor.fetchone()[0]
    deleted = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {quote(table)} WHERE id IN "  # noqa: S608 (our table names)
                f"(SELECT id FROM {quote(table)} WHERE {KEY} < %s ORDER BY id LIMIT %s)",
                [cutoff, BATCH],
            )
            count = cursor.rowcount
        deleted += count
        if count < BATCH:
            return deleted
