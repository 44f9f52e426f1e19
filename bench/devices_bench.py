"""Device gateway (nguon/broadcast/gateway/) under load, each figure beside its reference from the same run.

1. Manifest `304 Not Modified` throughput: wrk, 64 connections, 10 s, `If-None-Match` with the device's ETag,
   against the gateway (uvicorn, uvloop, httptools with the manifest fast path of broadcast/fastpath.py, one
   process) and against nginx (one worker) serving the same manifest bytes as a static file with its own ETag.
   Target (ARCHITECTURE.md): within 3× of nginx.
2. Push propagation: N event streams (1,000 and 10,000) held by one asyncio client process, beside the gateway and
   the Huey worker (`nguon worker`, as deployed). Once all are connected (connect time reported), two rounds:
   `fanout_event`, a bare "manifest" event for all N (nothing changed; devices only note its arrival: the gateway's
   fan-out alone), timed from the event's insertion; then `change`, a schedule change as an operator makes it (the
   slot renamed through `do_save_slot`; its on-commit hook queues the recompilation, the worker compiles the
   audiences and writes the push event), timed from the save click: each device, on the event, takes the new
   manifest the event carries (protocol §4.4; `held_from_event`, a sample of their signatures checked after the
   round) or else fetches it (`If-None-Match` with the old ETag → 200, new version): time until the event arrives
   and until it holds the new manifest. The slot reaches all 10,000 devices, so the 1,000 round recompiles them all
   too. p50/p99/max and how many missed a 60 s deadline, server RSS and threads. The client shares the 2 cores
   with the server, so its own event loop delays what it notes. A client that must fetch closes its stream first:
   the hard open-file limit on this machine (20,000 a process, not raisable even as root) does not fit 10,000
   streams plus 10,000 fetch connections in one process. Targets: fan-out p99 ≤ 1.0 s, max ≤ 1.5 s at 10,000; new
   manifest p99 ≤ 5 s from the click; none lost, ≤ 350 MB, no thread per connection.
3. Report intake: 200 devices at once POST batches of 500 heartbeats; records stored per second, checked against
   the rows in the table, then every device re-sends its first batch, which must come back as duplicates and store
   nothing.
4. Reconnect storm: the gateway stopped and started again on its port, and all N devices at once revalidate their
   manifest with their current ETag (304) and open their event stream, retrying until it listens; timed from the
   new process's start. Targets: all done ≤ 15 s, server peak RSS ≤ 350 MB.
5. PostgreSQL (a fresh database on 127.0.0.1:5432, dropped afterwards): the schedule change of 2. at the largest
   N, then the report intake of 3.

Everything runs against a fresh temporary NGUON_DATA_DIR. `NGUON_BENCH_QUICK=1` runs a small version (N = 200,
shorter wrk). `python -m bench devices` prints the result as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.devices import clients
from bench.devices.servers import (
    PYTHON,
    ROOT,
    django_env,
    proc_status,
    raise_nofile,
    setup,
    start_gateway,
    start_nginx,
    start_worker,
    tune_kernel,
    wrk,
)
from bench.devices.setup import token

QUICK = os.environ.get("NGUON_BENCH_QUICK") == "1"
PUSH_SIZES = [200] if QUICK else [1000, 10000]
WRK_SECONDS = 3 if QUICK else 10
REPORT_DEVICES = 50 if QUICK else 200
REPORT_BATCHES = 2  # per device, 500 records each: 200 × 2 × 500 = 200,000 records
PER_BATCH = 500
PG = "postgres://postgres@127.0.0.1:5432/"


def _log(message: str) -> None:
    sys.stderr.write(f"  devices: {message}\n")


def _manifest_304(base: str, work: Path, etag: str) -> dict:
    import urllib.request

    request = urllib.request.Request(base + "/device/v1/manifest", headers={"Authorization": f"Bearer {token(0)}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    nginx, port, nginx_etag = start_nginx(work / "nginx", body)
    try:
        gateway = wrk(
            base + "/device/v1/manifest",
            {"Authorization": f"Bearer {token(0)}", "If-None-Match": etag},
            seconds=WRK_SECONDS,
        )
        reference = wrk(
            f"http://127.0.0.1:{port}/device/v1/manifest", {"If-None-Match": nginx_etag}, seconds=WRK_SECONDS
        )
    finally:
        nginx.stop()
    ratio = reference["req_per_s"] / gateway["req_per_s"] if gateway["req_per_s"] and reference["req_per_s"] else None
    return {
        "wrk": f"-t2 -c64 -d{WRK_SECONDS}s",
        "sides": (
            "gateway: 1 uvicorn process (uvloop, httptools, manifest fast path), nginx: 1 worker process; "
            "same bytes, same machine"
        ),
        "gateway": gateway,
        "nginx_1_worker": reference,
        "nginx_over_gateway": round(ratio, 2) if ratio else None,
        "target": "nginx_over_gateway ≤ 3",
    }


def _reports(env: dict, base: str) -> dict:
    tokens = [token(i) for i in range(REPORT_DEVICES)]
    result = clients.reports(base, tokens, REPORT_BATCHES, PER_BATCH)
    rows = json.loads(setup(env, "count"))["Heartbeat"]
    result["heartbeat_rows"] = rows
    result["nothing_lost_or_doubled"] = rows == result["records_sent"] == result["answers"]["stored"] and (
        result["resend_answers"].get("duplicates") == result["resent_records"]
        and result["resend_answers"].get("stored") == 0
    )
    return result


def _compile_all(env: dict) -> None:
    """The first compile of every manifest, in two processes side by side (nothing else runs yet)."""
    shares = [subprocess.Popen([PYTHON, "-m", "bench.devices.setup", "compile", str(i), "2"], cwd=ROOT, env=env)
              for i in range(2)]  # fmt: skip
    try:
        if any(p.wait(600) for p in shares):
            raise RuntimeError("compiling the manifests failed")
    finally:
        for p in shares:
            if p.poll() is None:
                p.kill()
                p.wait(5)


def _postgres(work: Path) -> dict:
    """The schedule change at the largest size, then report intake, on a fresh PostgreSQL database."""
    name = f"nguon_bench_{os.getpid()}"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c"]
    subprocess.run([*psql, f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=60)
    result: dict = {}
    try:
        data = work / "pg"
        env = django_env(data, PG + name)
        n = max(PUSH_SIZES)
        setup(env, "populate", str(n), timeout=600)
        _compile_all(env)
        etags = json.loads(setup(env, "etags"))
        server, port = start_gateway(env, work / "pg-server.log", token(0))
        worker = start_worker(env, work / "pg-worker.log")
        try:
            _log(f"schedule change at {n} devices, PostgreSQL…")
            tokens = [token(i) for i in range(n)]
            result["push"] = {
                str(n): clients.push(
                    f"http://127.0.0.1:{port}",
                    tokens,
                    etags,
                    env,
                    ["Bench pg v2", str(n)],
                    lambda: proc_status(server.pid),
                )  # fmt: skip
            }
            _log("report intake, PostgreSQL…")
            result["reports"] = _reports(env, f"http://127.0.0.1:{port}")
            result["server"] = proc_status(server.pid)
        finally:
            worker.stop()
            server.stop()
        return result
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True, timeout=60)


def _storm(env: dict, work: Path, port: int, n: int) -> dict:
    """Every device reconnecting at once to a restarted gateway, with its current ETag."""
    etags = json.loads(setup(env, "etags"))[:n]
    started: list = []

    def restart():
        server, _port = start_gateway(env, work / "storm-server.log", token(0), port=port, wait=False)
        started.append(server)
        return server.pid

    try:
        return clients.storm(f"http://127.0.0.1:{port}", [token(i) for i in range(n)], etags, restart, proc_status)
    finally:
        for server in started:
            server.stop()


def run() -> dict:
    client_nofile = raise_nofile()
    work = Path(tempfile.mkdtemp(prefix="nguon-devices-bench-"))
    result: dict = {"quick": QUICK, "client_nofile": client_nofile, "kernel": tune_kernel()}
    server = worker = None
    try:
        n = max(PUSH_SIZES)
        env = django_env(work / "data")
        _log(f"populating {n} devices…")
        started = time.perf_counter()
        setup(env, "populate", str(n), timeout=300)
        _compile_all(env)
        etags = json.loads(setup(env, "etags"))
        result["setup"] = {"devices": n, "populate_and_compile_s": round(time.perf_counter() - started, 1)}
        server, port = start_gateway(env, work / "server.log", token(0))
        base = f"http://127.0.0.1:{port}"
        result["server_idle"] = proc_status(server.pid)
        _log("manifest 304 throughput…")
        # Before the worker starts: its start-up work would take CPU from both sides of the comparison.
        result["manifest_304"] = _manifest_304(base, work, etags[0])
        worker = start_worker(env, work / "worker.log")
        result["push"] = {}
        version = 1
        for size in PUSH_SIZES:
            version += 1
            _log(f"push to {size} streams…")
            tokens = [token(i) for i in range(size)]
            pushed = clients.push(
                base, tokens, etags[:size], env, [f"Bench v{version}", str(size)], lambda: proc_status(server.pid)
            )
            result["push"][str(size)] = pushed
            if server.proc.poll() is not None:
                raise RuntimeError(f"the gateway died: {server.tail()}")
            # Devices that got the change now hold a new ETag: refresh the known ones for the next round.
            etags = json.loads(setup(env, "etags"))
        result["push_targets"] = (
            "10000: fanout_event p99 ≤ 1.0 s, max ≤ 1.5 s; change.new_manifest (from the save click) p99 ≤ 5 s; "
            "none missing, RSS ≤ 350 MB, threads ≪ N"
        )
        _log("report intake, SQLite…")
        result["reports_sqlite"] = _reports(env, base)
        result["server_end"] = proc_status(server.pid)
        server.stop()
        server = None
        _log(f"reconnect storm, {n} devices…")
        result["reconnect_storm"] = _storm(env, work, port, n)
        worker.stop()
        worker = None
        try:
            result["postgresql"] = _postgres(work)
        except (subprocess.SubprocessError, RuntimeError, OSError) as exc:
            result["postgresql"] = {"error": str(exc)[-2000:]}
        return result
    finally:
        if worker is not None:
            worker.stop()
        if server is not None:
            result["server_log_tail"] = server.tail(1500)
            server.stop()
        shutil.rmtree(work, ignore_errors=True)
