"""A year of device records on PostgreSQL: the yearly provincial report from the roll-ups vs a GROUP BY over raw rows.

1. A throwaway PostgreSQL database (`nguon_bench_reports`, created and dropped here; `NGUON_BENCH_PG_URL` names the
   server, default postgres://postgres@127.0.0.1:5432/postgres) is migrated, so the raw tables are partitioned by
   month as in production; province 75 (its ~95 communes) and 10,000 devices spread over them.
2. One year (2026) of raw records, generated in SQL and loaded month by month into the partitioned tables
   (`bench/reports/setup.py` says what and how): 10,000 × 365 × 8 play records, a fault a week per device, 24
   alerts each acknowledged and played by every device: about 30 million rows. Not through the API.
3. The roll-ups (DeviceDay, UnitDay) by one INSERT … SELECT … GROUP BY over those rows, as `rollup.rebuild()`
   would compute them.
4. Timed: `catalogue.build("ttcs", province, year 2026)` (the yearly TTCS report, from the roll-ups) RUNS times
   after a cold first run, p50/p95 (target p95 < 2 s); the same figures (played items and seconds, faults, alert
   receipts per area) by a plain GROUP BY over the raw rows, RAW_RUNS times, and whether both give the same
   broadcast hours per area; `ingest()` of 1,000 records (20 batches of 50, 4 group commits) with the roll-up hook
   and without it (`rollup.on_records_stored` taken out of `STORED_HOOKS`), alternately, INGEST_REPS each: ms per
   1,000 records and the difference.

Limits: the machine has 2 cores shared with everything else; PostgreSQL runs with its stock settings (the raw
GROUP BY may use parallel workers). Heartbeats are not generated (5 billion a year at one a minute), so the raw
GROUP BY covers plays, faults and alert receipts, and online minutes are 0. `NGUON_BENCH_QUICK=1` runs 1,000
devices. `python -m bench reports_year` (or `make bench`) prints the result as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.devices.servers import PYTHON, ROOT, django_env

QUICK = os.environ.get("NGUON_BENCH_QUICK") == "1"
DEVICES = 1000 if QUICK else 10_000
YEAR = 2026
RUNS, RAW_RUNS, INGEST_REPS = 10, 3, 15
SERVER = os.environ.get("NGUON_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = "nguon_bench_reports"
TARGET = "yearly provincial TTCS report from the roll-ups: p95 < 2 s"


def _log(message: str) -> None:
    sys.stderr.write(f"  reports_year: {message}\n")


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(SERVER, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql)


def _setup(env: dict, *args, timeout: float = 3600) -> tuple[dict, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [PYTHON, "-m", "bench.reports.setup", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=None,  # its progress goes straight to ours
        text=True,
        timeout=timeout,
    )
    if done.returncode:
        raise RuntimeError(f"setup {args[0]} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def run() -> dict:
    try:
        _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        _admin(f"CREATE DATABASE {DATABASE}")
    except Exception as exc:  # noqa: BLE001 (any failure to reach the server means: skip)
        message = f"skipped: PostgreSQL unreachable at {SERVER} ({type(exc).__name__}: {exc})"
        _log(message)
        return {"skipped": message}
    url = urlunsplit(urlsplit(SERVER)._replace(path=f"/{DATABASE}"))
    result: dict = {"devices": DEVICES, "year": YEAR, "target": TARGET}
    try:
        with tempfile.TemporaryDirectory(prefix="nguon-bench-reports-") as data_dir:
            env = django_env(Path(data_dir), url)
            _log(f"populating {DEVICES} devices")
            result["populate"], _ = _setup(env, "populate", DEVICES)
            _log("generating a year of raw records")
            result["generate"], seconds = _setup(env, "generate", YEAR)
            result["generate"]["rows_per_second"] = round(result["generate"]["rows"] / seconds)
            _log(f"{result['generate']['rows']:,} rows in {seconds:.0f} s; roll-ups")
            result["rollups"], _ = _setup(env, "rollups", YEAR)
            _log("measuring")
            result.update(_setup(env, "measure", YEAR, RUNS, RAW_RUNS, INGEST_REPS)[0])
    finally:
        _admin(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    report, raw = result["report_from_rollups"], result["same_figures_from_raw_group_by"]
    result["raw_over_rollups_p50"] = round(raw["p50_s"] / report["p50_s"], 1) if report["p50_s"] else None
    result["meets_target"] = report["p95_s"] < 2.0
    result["command"] = "python -m bench reports_year  (make bench runs every benchmark)"
    return result


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=2)
    sys.stdout.write("\n")
