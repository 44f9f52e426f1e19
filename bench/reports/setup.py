"""Database work of the yearly report benchmark, run as a subprocess with NGUON_DATABASE_URL set (PostgreSQL).

python -m bench.reports.setup populate DEVICES       migrate, load province 75, DEVICES devices over its communes
python -m bench.reports.setup generate YEAR          one year of raw records (SQL generate_series, month by month);
                                                     prints JSON
python -m bench.reports.setup rollups YEAR           the roll-ups by one INSERT … SELECT … GROUP BY; prints JSON
python -m bench.reports.setup measure YEAR RUNS RAW_RUNS INGEST_REPS     the timings; prints JSON

The raw records are generated straight into the partitioned tables, not through the API: each month is loaded into
a plain table without indexes and then attached as the month's partition (PostgreSQL builds the partition's
indexes in bulk and checks its foreign keys at ATTACH), which is how a bulk load is done fast.

Per device and day: 8 play records (started at 07:15 … 18:00 local, so that the local day and the UTC day are
the same and a record's month is its partition's; 92 % played 900 s, 4 % interrupted at 450 s, 3 % failed, 1 %
skipped); one fault a week; 24 alerts a year, each acknowledged and then played (3 % failed) by every device.
Heartbeats are not generated: at one a minute they would be 5 billion rows a year for 10,000 devices, which is
why the roll-ups count online minutes as they arrive; online minutes stay 0 here.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")

PLAY_TIMES = ("07:15", "07:45", "11:00", "11:30", "16:30", "17:00", "17:30", "18:00")  # local (UTC+7)
ALERTS = 24
FAULT_SEQ = 10_000_000
ALERT_SEQ = 20_000_000


def _emit(value: dict) -> None:
    sys.stdout.write(json.dumps(value) + "\n")


def populate(count: int) -> None:
    import io

    from django.core.management import call_command

    from nguon.broadcast.models import Device
    from nguon.units.models import Unit

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("import_units", province="75", stdout=io.StringIO())
    communes = list(
        Unit.objects.filter(unit_type__level=Unit.objects.order_by("-unit_type__level").first().unit_type.level)
    )
    technologies = ("ip", "ip", "ip", "fm", "wired")
    Device.objects.bulk_create(
        [
            Device(
                unit=communes[i % len(communes)],
                code=f"YEAR-{i:06d}",
                name=f"Cụm loa {i}",
                kind="board" if i % 10 == 9 else "speaker",
                technology=technologies[i % len(technologies)],
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    _emit({"communes": len(communes), "devices": count, "seconds": round(time.perf_counter() - started, 1)})


def _months(year: int) -> list[tuple[datetime, datetime]]:
    months = []
    for month in range(1, 13):
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        months.append((start, end))
    return months


def generate(year: int) -> None:
    from django.db import connection

    first = date(year, 1, 1)
    counts = {"plays": 0, "faults": 0, "alert_receipts": 0}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        cursor.execute(
            "CREATE TEMP TABLE bench_devices AS SELECT id, row_number() OVER (ORDER BY id) - 1 AS n "
            "FROM broadcast_device WHERE code LIKE 'YEAR-%%'"
        )
        cursor.execute("SELECT count(*) FROM bench_devices")
        devices = cursor.fetchone()[0]
        times = "ARRAY[" + ", ".join(f"'{t}'::time" for t in PLAY_TIMES) + "]"
        for start, end in _months(year):
            # Local days of the month: every record is at 07:00 local or later, so its UTC day is its local day.
            day_from, day_to = start.date(), (end - timedelta(days=1)).date()
            di = f"(day - DATE '{first}')"  # day index in the year
            loads = {
                "broadcast_playrecord": (
                    "plays",
                    f"""
                    INSERT INTO {{stage}} (id, seq, slot_id, occurrence, item, started_at, ended_at, result,
                                           received_at, device_id)
                    SELECT (({di} * {devices} + d.n) * 8 + k) + 1, {di} * 8 + k + 1, NULL,
                           '1@' || day::text, '41', s.at,
                           CASE WHEN s.r < 92 THEN s.at + interval '900 seconds'
                                WHEN s.r < 96 THEN s.at + interval '450 seconds' END,
                           CASE WHEN s.r < 92 THEN 'played' WHEN s.r < 96 THEN 'partial'
                                WHEN s.r < 99 THEN 'failed' ELSE 'skipped' END,
                           s.at + interval '960 seconds', d.id
                    FROM generate_series(DATE '{day_from}', DATE '{day_to}', interval '1 day') AS g(day_ts)
                    CROSS JOIN LATERAL (SELECT g.day_ts::date AS day) AS dd(day)
                    CROSS JOIN bench_devices d
                    CROSS JOIN generate_series(0, 7) AS k
                    CROSS JOIN LATERAL (
                        SELECT (day + ({times})[k + 1]) AT TIME ZONE 'Asia/Ho_Chi_Minh' AS at,
                               (d.n * 7919 + {di} * 104729 + k * 31) % 100 AS r
                    ) AS s
                    """,
                ),
                "broadcast_devicelog": (
                    "faults",
                    f"""
                    INSERT INTO {{stage}} (id, seq, at, level, message, received_at, device_id)
                    SELECT {di} * {devices} + d.n + 1, {FAULT_SEQ} + {di},
                           (day + time '09:00') AT TIME ZONE 'Asia/Ho_Chi_Minh', 'fault', 'amplifier: overheated',
                           (day + time '09:01') AT TIME ZONE 'Asia/Ho_Chi_Minh', d.id
                    FROM generate_series(DATE '{day_from}', DATE '{day_to}', interval '1 day') AS g(day_ts)
                    CROSS JOIN LATERAL (SELECT g.day_ts::date AS day) AS dd(day)
                    JOIN bench_devices d ON (d.n + {di}) % 7 = 0
                    """,
                ),
                "alerts_alertreceipt": (
                    "alert_receipts",
                    f"""
                    INSERT INTO {{stage}} (id, seq, alert_id, state, at, reason, received_at, device_id)
                    SELECT ((a.j * {devices} + d.n) * 2 + r) + 1, {ALERT_SEQ} + a.j * 2 + r, a.j + 1,
                           CASE WHEN r = 0 THEN 'acknowledged' WHEN (d.n + a.j) % 33 = 0 THEN 'failed'
                                ELSE 'played' END,
                           (a.day + time '10:00' + r * interval '1 minute') AT TIME ZONE 'Asia/Ho_Chi_Minh', '',
                           (a.day + time '10:00' + r * interval '1 minute' + interval '5 seconds')
                               AT TIME ZONE 'Asia/Ho_Chi_Minh',
                           d.id
                    FROM (SELECT j, DATE '{first}' + j * 15 + 3 AS day FROM generate_series(0, {ALERTS - 1}) j) a
                    CROSS JOIN bench_devices d CROSS JOIN generate_series(0, 1) r
                    WHERE a.day BETWEEN DATE '{day_from}' AND DATE '{day_to}'
                    """,
                ),
            }
            for table, (counter, sql) in loads.items():
                name = f"{table}_p{start:%Y_%m}"
                cursor.execute("SELECT to_regclass(%s)", [name])
                if cursor.fetchone()[0] is not None:
                    cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
                    cursor.execute(f"DROP TABLE {name}")
                cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING STORAGE)")
                cursor.execute(sql.format(stage=name))
                counts[counter] += cursor.rowcount
                cursor.execute(
                    f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [start, end]
                )
            sys.stderr.write(f"  reports_year: {start:%Y-%m} loaded, {sum(counts.values()):,} rows so far\n")
        for table in ("broadcast_playrecord", "broadcast_devicelog", "alerts_alertreceipt"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            cursor.execute(f"ANALYZE {table}")
    _emit({**counts, "rows": sum(counts.values()), "seconds": round(time.perf_counter() - started, 1)})


# The raw rows as day counters, by device and local day: what rollup.rebuild() computes, as SQL.
RAW_DAY_COUNTERS = """
    SELECT device_id, day,
           sum(played) AS played_items, sum(secs) AS played_seconds, sum(partial) AS partial_items,
           sum(failed) AS failed_items, sum(skipped) AS skipped_items, sum(faults) AS faults,
           sum(ack) AS alerts_acknowledged, sum(aplayed) AS alerts_played, sum(afailed) AS alerts_failed
    FROM (
        SELECT device_id, (started_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
               (result = 'played')::int AS played, (result = 'partial')::int AS partial,
               (result = 'failed')::int AS failed, (result = 'skipped')::int AS skipped,
               CASE WHEN result IN ('played', 'partial') AND ended_at IS NOT NULL
                    THEN extract(epoch FROM ended_at - started_at)::bigint ELSE 0 END AS secs,
               0 AS faults, 0 AS ack, 0 AS aplayed, 0 AS afailed
        FROM broadcast_playrecord WHERE started_at >= %(start)s AND started_at < %(end)s
        UNION ALL
        SELECT device_id, (at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 0, 0, 0, 0, 0, 1, 0, 0, 0
        FROM broadcast_devicelog WHERE level = 'fault' AND at >= %(start)s AND at < %(end)s
        UNION ALL
        SELECT device_id, (at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, 0, 0, 0, 0, 0, 0,
               (state = 'acknowledged')::int, (state IN ('played', 'displayed'))::int, (state = 'failed')::int
        FROM alerts_alertreceipt WHERE at >= %(start)s AND at < %(end)s
    ) AS raw
    GROUP BY device_id, day
"""
COUNTERS = (
    "played_items", "played_seconds", "partial_items", "failed_items", "skipped_items", "faults",
    "alerts_acknowledged", "alerts_played", "alerts_failed",
)  # fmt: skip


def _year_bounds(year: int) -> dict:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    return {"start": datetime(year, 1, 1, tzinfo=zone), "end": datetime(year + 1, 1, 1, tzinfo=zone)}


def rollups(year: int) -> None:
    """DeviceDay by INSERT … SELECT … GROUP BY over the raw rows (a month per statement, so each hash aggregate
    fits in memory), then UnitDay from DeviceDay, as `rollup.rebuild()` computes them."""
    from django.db import connection

    started = time.perf_counter()
    names = ", ".join(COUNTERS)
    planned = f"{len(PLAY_TIMES)}, {len(PLAY_TIMES) * 900}"
    device_days = 0
    zone = _year_bounds(year)["start"].tzinfo
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET work_mem = '256MB'")
        cursor.execute("TRUNCATE reports_deviceday, reports_unitday")
        for month in range(1, 13):
            bounds = {
                "start": datetime(year, month, 1, tzinfo=zone),
                "end": datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone),
            }
            cursor.execute(
                f"INSERT INTO reports_deviceday (device_id, unit_id, day, planned_items, planned_seconds, "
                f"online_minutes, {names}) SELECT r.device_id, d.unit_id, r.day, {planned}, 0, "
                f"{', '.join('r.' + c for c in COUNTERS)} "
                f"FROM ({RAW_DAY_COUNTERS}) AS r JOIN broadcast_device d ON d.id = r.device_id",
                bounds,
            )
            device_days += cursor.rowcount
        cursor.execute(
            f"INSERT INTO reports_unitday (unit_id, day, planned_items, planned_seconds, online_minutes, {names}) "
            f"SELECT unit_id, day, sum(planned_items), sum(planned_seconds), 0, "
            f"{', '.join(f'sum({c})' for c in COUNTERS)} FROM reports_deviceday GROUP BY unit_id, day"
        )
        unit_days = cursor.rowcount
        cursor.execute("ANALYZE reports_deviceday")
        cursor.execute("ANALYZE reports_unitday")
    _emit({"device_days": device_days, "unit_days": unit_days, "seconds": round(time.perf_counter() - started, 1)})


def _percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"runs": len(samples), "p50_s": round(statistics.median(ordered), 3), "p95_s": round(p95, 3),
            "min_s": round(ordered[0], 3), "max_s": round(ordered[-1], 3)}  # fmt: skip


def _raw_report(province, year: int) -> dict[int, dict]:
    """The TTCS report's raw-record figures per area by a plain GROUP BY over the raw rows (no roll-up)."""
    from django.db import connection

    from nguon.reports import areas

    sql = (
        f"SELECT d.unit_id, {', '.join(f'sum(r.{c})::bigint AS {c}' for c in COUNTERS)} "
        f"FROM ({RAW_DAY_COUNTERS}) AS r JOIN broadcast_device d ON d.id = r.device_id GROUP BY d.unit_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, _year_bounds(year))
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    amap = areas.AreaMap(province, areas.areas(province))
    return {area: dict(values) for area, values in amap.fold(rows).items()}


def _batches(devices: list[int], rep: int, now: datetime):
    """1,000 records: 20 devices × 50 (40 heartbeats, 8 plays, a fault, an alert receipt), as 4 group commits."""
    from nguon.broadcast import reports

    def iso(moment):
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    groups = []
    for g in range(4):
        group = []
        for device_id in devices[g * 5 : g * 5 + 5]:
            base = 50_000_000 + rep * 100
            records = []
            for i in range(50):
                at = now - timedelta(minutes=50 - i)
                seq = base + i
                if i < 40:
                    records.append({"seq": seq, "type": "heartbeat", "at": iso(at), "volume": 80})
                elif i < 48:
                    records.append({"seq": seq, "type": "play", "occurrence": "1@x", "item": "41",
                                    "started_at": iso(at), "ended_at": iso(at + timedelta(seconds=30)),
                                    "result": "played"})  # fmt: skip
                elif i == 48:
                    records.append({"seq": seq, "type": "fault", "at": iso(at), "code": "amp", "message": "hot"})
                else:
                    records.append({"seq": seq, "type": "alert", "alert": 1, "state": "acknowledged", "at": iso(at)})
            body = json.dumps({"records": records}).encode()
            group.append(reports.parse(body, device_id=device_id, now=now))
        groups.append(group)
    return groups


def measure(year: int, runs: int, raw_runs: int, ingest_reps: int) -> None:
    from django.utils import timezone

    from nguon.broadcast import reports
    from nguon.broadcast.models import Device
    from nguon.reports import catalogue, periods, rollup
    from nguon.units.models import Unit

    province = Unit.objects.get(code="75")
    period = periods.parse("year", str(year))
    started = time.perf_counter()
    report = catalogue.build("ttcs", province, period)
    cold = time.perf_counter() - started
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        report = catalogue.build("ttcs", province, period)
        samples.append(time.perf_counter() - started)
    raw_samples = []
    for _ in range(raw_runs):
        started = time.perf_counter()
        raw = _raw_report(province, year)
        raw_samples.append(time.perf_counter() - started)
    # The same figures both ways: broadcast hours per area (the report's rows carry code and hours).
    section = report.sections[0]
    by_code = {u.pk: u.code for u in Unit.objects.filter(pk__in=raw)}
    raw_hours = {by_code[a]: round(v["played_seconds"] / 3600, 1) for a, v in raw.items()}
    report_hours = {r["code"]: r["broadcast_hours"] for r in section.rows if r["broadcast_hours"]}

    # Roll-up maintenance: ingest() of 1,000 records with the roll-up hook and without it, alternately.
    devices = list(Device.objects.filter(code__startswith="YEAR-").order_by("pk").values_list("pk", flat=True)[:20])
    now = timezone.now()
    timings: dict[str, list[float]] = {"with_rollup": [], "without_rollup": []}
    for round_ in range(ingest_reps * 2 + 1):
        hooked = round_ % 2 == 1  # round 0 warms up (without)
        groups = _batches(devices, round_ + 1, now)
        if not hooked:
            reports.STORED_HOOKS.remove(rollup.on_records_stored)
        try:
            started = time.perf_counter()
            for group in groups:
                reports.ingest(group)
            elapsed = time.perf_counter() - started
        finally:
            if not hooked:
                reports.STORED_HOOKS.append(rollup.on_records_stored)
        assert sum(b.stored for g in groups for b in g) == 1000, "every record must be new"
        if round_:
            timings["with_rollup" if hooked else "without_rollup"].append(elapsed * 1000)
    with_ms = statistics.median(timings["with_rollup"])
    without_ms = statistics.median(timings["without_rollup"])
    _emit(
        {
            "report_from_rollups": {**_percentiles(samples), "cold_first_s": round(cold, 3), "rows": len(section.rows)},
            "same_figures_from_raw_group_by": _percentiles(raw_samples),
            "figures_match": raw_hours == report_hours,
            "broadcast_hours_total": section.total["broadcast_hours"],
            "ingest_ms_per_1000_records": {
                "with_rollup_p50": round(with_ms, 1),
                "without_rollup_p50": round(without_ms, 1),
                "rollup_cost_p50": round(with_ms - without_ms, 1),
                "with_rollup_runs": [round(t, 1) for t in timings["with_rollup"]],
                "without_rollup_runs": [round(t, 1) for t in timings["without_rollup"]],
                "batches": "20 batches of 50 records (40 heartbeats, 8 plays, 1 fault, 1 alert receipt), "
                "4 ingest() group commits of 5 batches",
            },
        }
    )


if __name__ == "__main__":
    django.setup()
    command, args = sys.argv[1], [int(a) for a in sys.argv[2:]]
    {"populate": populate, "generate": generate, "rollups": rollups, "measure": measure}[command](*args)
