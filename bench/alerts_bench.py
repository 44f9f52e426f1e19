"""Emergency alerts: from the approval click to every device's acknowledgement, beside Mosquitto in the same run.

For N = 1,000 and 10,000 simulated devices (QUICK: 200), each in a fresh temporary NGUON_DATA_DIR (SQLite):

1. Set-up (`bench/alerts/setup.py`, subprocesses): province 75, N devices with known tokens spread over three
   communes, every other one an e-board (`kind=board`, the event carries `"item": null`) and the rest
   loudspeakers; an approver on the province; a pending alert for the three communes whose audio is already
   "ready" (a stored MediaAsset stands for the rendered message), so that the loudspeakers get their event at
   approval too. Rendering the audio is not timed here (that is the speech benchmark's).
2. The gateway (uvicorn, uvloop, httptools, one process, as bench/devices) is started and N event streams are
   opened from one asyncio client process (`bench/alerts/clients.py`: uvloop, raw HTTP/1.1 on asyncio streams,
   each device from a loopback address of its own, 127.1.x.y). Once all are connected, a
   subprocess makes the click: `actions.do_approve` (dispatch rows and one signed `alert` push event per device
   kind, in one transaction), `clicked_at` taken just before it. The gateway reads the outbox when woken (every
   50 ms on SQLite; at the commit's NOTIFY on PostgreSQL) and fans the events out.
   Each device, on its `alert` frame, notes the arrival, reads the alert id
   from the payload, closes the stream, and POSTs `{"type": "alert", "state": "acknowledged"}` to
   /device/v1/reports on a new connection (honouring 429/503 Retry-After as a device must); the 200 comes only
   once the gateway's writer thread has committed it. Reported: p50/p99/max of arrival − click (`event`) and of
   the 200 − click (`ack`) over the devices that got there within 30 s, how many never did (`missing`), and
   `p99_all_s`, the p99 over all N counting those as later than 30 s (None when the 99th percentile is one of
   them); the ratios and targets use `p99_all_s`.
   Cross-check from the database (`server_side`): dispatch rows per state, and sent_at / acknowledged_at − click
   (sent_at is when the gateway queued the event on the stream, acknowledged_at when it received the batch).
   The signature of each distinct frame is verified once after the round (not on every device: 10,000 Ed25519
   checks in the client would take CPU from the server on this 2-core machine).
   `fanout_alone`: before that, the same set-up, click and fan-out in another fresh data directory with devices
   that only note the event and do not acknowledge: the fan-out without the acknowledgements' load (10,000 report
   requests and their writes share the gateway's process, its event loop and its GIL, with the fan-out).
3. Mosquitto, same N, same payload bytes (the loudspeakers' signed alert frame, the larger of the two):
   N subscribers with QoS 1 on one topic in one asyncio process (`bench/alerts/mqtt.py`, a minimal MQTT 3.1.1
   client), one QoS 1 publish, time from the publish to each subscriber's receipt (`delivery`). Each subscriber
   then publishes its own acknowledgement (QoS 1) and notes the broker's PUBACK (`ack`): the nearest MQTT
   counterpart of nguon's stored acknowledgement, though Mosquitto keeps it in memory only. The system broker at
   127.0.0.1:1883 is used unless it refuses subscribers; then a private `mosquitto -c` on a free port (said in
   `broker`).

Limits: the clients, the gateway, the approval process and Mosquitto share the 2 cores of this machine, so the
client's own event loop delays what it notes: its CPU seconds are reported beside the server's, and
`client_loop_lag` says how late its loop woke from 10 ms sleeps during the round (and when the worst ended, in
seconds after the click). The load average at the start of each size is recorded. Nguon's times include the
approval transaction and, on SQLite, up to one poll interval (50 ms) before the fan-out begins, which Mosquitto
does not have;
Mosquitto gets a message already formed, with no database behind it. The click is `do_approve` called directly,
not through the web form. Targets (the issue, the architecture goals): at 10,000 devices ack p99 < 2 s, none lost;
event p99 ≤ 1.0 s, max ≤ 1.5 s; p99 within 1.5× of Mosquitto's.

4. At the largest N, on a fresh PostgreSQL database (NGUON_BENCH_POSTGRES, default
   postgres://postgres@127.0.0.1:5432; created and dropped by the run): `postgres`, the acknowledged round with one
   gateway; and `postgres_3_gateways_one_killed`, three gateway processes on one SO_REUSEPORT port
   (bench/alerts/multi.py) sharing PostgreSQL and Redis (NGUON_BENCH_REDIS_URL, default
   redis://127.0.0.1:6379/13), one SIGKILLed when the first device gets the alert (mid-fan-out, `after_click`):
   its devices see their stream end, reconnect (`stream_reopened`) to the same address, get the sticky alert from
   another gateway and acknowledge; none may be missing, and `server_side.devices_with_several_ack_receipts` must be 0.

`NGUON_BENCH_QUICK=1` runs N = 200 only; NGUON_BENCH_ALERTS_SIZES=10000 runs only that size,
NGUON_BENCH_ALERTS_PARTS=postgres only the PostgreSQL rounds (default: sqlite,postgres).
`python -m bench alerts` prints the result as JSON.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.alerts import clients, mqtt, multi
from bench.devices.servers import PYTHON, ROOT, django_env, proc_status, raise_nofile, start_gateway, tune_kernel
from bench.devices.setup import token

QUICK = os.environ.get("NGUON_BENCH_QUICK") == "1"
SIZES = [200] if QUICK else [1000, 10000]
if os.environ.get("NGUON_BENCH_ALERTS_SIZES"):  # e.g. 10000: only that size
    SIZES = [int(n) for n in os.environ["NGUON_BENCH_ALERTS_SIZES"].split(",")]
PARTS = os.environ.get("NGUON_BENCH_ALERTS_PARTS", "sqlite,postgres").split(",")  # e.g. postgres: only those rounds
GATEWAYS = 3  # the several-gateway round: this many processes on one port, one of them killed after the click
TARGETS = "10000 devices: ack p99 < 2 s, none missing; event p99 ≤ 1.0 s, max ≤ 1.5 s; p99 within 1.5× of Mosquitto's"


def _log(message: str) -> None:
    sys.stderr.write(f"  alerts: {message}\n")


def _setup(env: dict, *args: str, timeout: float = 600) -> dict:
    """Run `python -m bench.alerts.setup ARGS`; return the JSON of its last output line."""
    done = subprocess.run(
        [PYTHON, "-m", "bench.alerts.setup", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    if done.returncode:
        raise RuntimeError(f"setup {args[0]} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_frames(frames: dict[bytes, int], public_key: str) -> tuple[list[dict], bytes]:
    """Verify each distinct frame's signature once; return their description and the largest frame."""
    from nguon.lib.signing import b64, verify

    described = []
    for frame, devices in frames.items():
        data = next(line[5:].strip() for line in frame.decode().split("\n") if line.startswith("data:"))
        payload_text, _, signature_text = data.partition(".")
        payload = _b64url(payload_text)
        ok = verify(public_key, payload, b64(_b64url(signature_text)))
        item = json.loads(payload).get("item")
        described.append(
            {"devices": devices, "frame_bytes": len(frame), "item": item and item.get("kind"), "signature_ok": ok}
        )
    largest = max(frames, key=len) if frames else b""
    return described, largest


def _ratio(a, b):
    return round(a / b, 1) if a is not None and b else None


def _profile(servers, name: str) -> list[subprocess.Popen]:
    """With NGUON_BENCH_PROFILE=DIR: py-spy samples each gateway (100 Hz, collapsed stacks in DIR) for the round."""
    directory = os.environ.get("NGUON_BENCH_PROFILE")
    spy = Path(PYTHON).with_name("py-spy")
    if not directory or not spy.exists():
        return []
    Path(directory).mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(s.pid),
                "--rate",
                "100",
                "--format",
                "raw",
                "--nonblocking",
                "--output",
                str(Path(directory) / f"{name}-{i}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for i, s in enumerate(servers)
    ]


def _nguon_round(
    n: int, directory: Path, *, acknowledge: bool, database_url: str = "", redis_url: str = "", gateways: int = 0
) -> tuple[dict, dict]:
    """Fresh data directory, populate, a pending alert, the gateway, N streams, the click: (round, set-up).

    With `gateways`, that many gateway processes share the port (bench/alerts/multi.py) and one is killed (SIGKILL)
    when the first device gets the alert (mid-fan-out): its devices reconnect and must still get it and acknowledge."""
    directory.mkdir(parents=True, exist_ok=True)
    env = django_env(directory / "data", database_url)
    env["NGUON_SPEECH_AUTO_RENDER"] = "0"
    if redis_url:
        env["NGUON_REDIS_URL"] = redis_url
    started = time.perf_counter()
    setup = _setup(env, "populate", str(n))
    prepared = _setup(env, "prepare")
    setup["alert_targets"] = prepared["targets"]
    setup["populate_and_prepare_s"] = round(time.perf_counter() - started, 1)
    if gateways:
        servers, port = multi.start_gateways(env, directory, gateways)
    else:
        server, port = start_gateway(env, directory / "server.log", token(0))
        servers = [server]
    killed: list = []
    profilers = _profile(servers, directory.name)

    cpu_seen: dict[int, float] = {}

    def cpu() -> float:  # a killed gateway's CPU time counts up to its death
        for s in servers:
            cpu_seen[s.pid] = max(cpu_seen.get(s.pid, 0.0), _cpu_seconds(s.pid))
        return sum(cpu_seen.values())

    def kill_one():
        victim = servers[-1]
        cpu()
        victim.kill()
        killed.append(victim)
        return {"killed_gateway_pid": victim.pid, "killed_at": time.time()}

    try:
        round_ = clients.alert_round(
            "127.0.0.1",
            port,
            [token(i) for i in range(n)],
            env,
            prepared["alert"],
            lambda: [proc_status(s.pid) for s in servers] if gateways else proc_status(servers[0].pid),
            cpu,
            acknowledge=acknowledge,
            after_click=kill_one if gateways else None,
        )
        if killed:
            round_["after_click"]["killed_s_after_click"] = round(
                round_["after_click"].pop("killed_at") - round_["clicked_at"], 3
            )
        for s in servers:
            if s not in killed and s.proc.poll() is not None:
                raise RuntimeError(f"a gateway died: {s.tail()}")
        time.sleep(1)  # the gateway's writer notes "sent" in jobs queued behind the reports
        round_["server_side"] = _setup(env, "count", str(prepared["alert"]), repr(round_["clicked_at"]))
        errors = [line for s in servers for line in s.tail(200_000).splitlines() if " ERROR " in line]
        round_["server_log_errors"] = {"lines": len(errors), "first": errors[:3]}
    finally:
        for profiler in profilers:
            profiler.send_signal(signal.SIGINT)  # py-spy writes its samples out on SIGINT
        for profiler in profilers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(30)
        for s in servers:
            s.stop()
    round_["frames"], setup["payload"] = _check_frames(round_["frames"], prepared["public_key"])
    return round_, setup


def _size(n: int, work: Path) -> dict:
    result: dict = {"devices": n, "load_avg_at_start": [round(x, 2) for x in os.getloadavg()]}
    _log(f"{n}: fan-out alone (devices do not acknowledge)…")
    alone, _setup_alone = _nguon_round(n, work / "alone", acknowledge=False)
    _log(f"{n}: the alert round (fresh data directory, devices acknowledge)…")
    round_, setup = _nguon_round(n, work / "main", acknowledge=True)
    payload = setup.pop("payload")
    result["setup"] = setup
    nguon = {
        "connect_s": round_.pop("connect_s"),
        "event": round_.pop("event"),
        "ack": round_.pop("ack"),
        "missing": round_.pop("missing"),
        "server": round_.pop("server_after"),
        **round_,
        # The same click and fan-out in another fresh directory with devices that do not acknowledge: the
        # fan-out without the acknowledgements' load on the gateway.
        "fanout_alone": {
            k: alone[k]
            for k in ("connect_s", "approve_commit_s", "event", "event_after_commit", "client_loop_lag", "server_cpu_s")
        }
        | {"sent_at_minus_click": alone["server_side"]["sent_at_minus_click"]},
    }
    result["nguon"] = nguon
    _log(f"{n}: Mosquitto…")
    result["load_avg_before_mosquitto"] = [round(x, 2) for x in os.getloadavg()]
    reference = mqtt.fanout(n, payload, work)
    result["mosquitto"] = reference
    # p99 over all N devices (a device that never arrived counts as later than the 30 s deadline: None).
    delivery = reference.get("delivery", {}).get("p99_all_s")
    ack, event, alone = nguon["ack"]["p99_all_s"], nguon["event"]["p99_all_s"], nguon["fanout_alone"]["event"]
    result["ratio_p99_ack_over_mosquitto"] = _ratio(ack, delivery)
    result["ratio_p99_event_over_mosquitto"] = _ratio(event, delivery)
    result["ratio_p99_ack_over_mosquitto_ack"] = _ratio(ack, reference.get("ack", {}).get("p99_all_s"))
    result["ratio_p99_fanout_alone_event_over_mosquitto"] = _ratio(alone["p99_all_s"], delivery)
    result["targets"] = TARGETS
    if n == 10000:
        result["targets_met"] = {
            "ack_p99_under_2s": ack is not None and ack < 2.0,
            "none_missing": nguon["missing"] == 0,
            "event_p99_le_1s": event is not None and event <= 1.0,
            "event_max_le_1_5s": nguon["event"]["missing"] == 0 and nguon["event"]["max_s"] <= 1.5,
            "event_p99_within_1_5x_mosquitto": (result["ratio_p99_event_over_mosquitto"] or 99) <= 1.5,
            "fanout_alone_event_p99_le_1s": (alone["p99_all_s"] or 99) <= 1.0,
        }
    return result


def _summary(round_: dict) -> dict:
    keep = ("connect_s", "approve_commit_s", "event", "ack", "missing", "server_cpu_s", "client_cpu_s",
            "client_loop_lag", "after_click", "stream_reopened", "errors_total", "server_log_errors",
            "server_side")  # fmt: skip
    return {k: round_[k] for k in keep if k in round_}


def _postgres_rounds(n: int, work: Path) -> dict:
    """The alert round on a fresh PostgreSQL database with one gateway, then with GATEWAYS gateways sharing it (and
    Redis, when NGUON_BENCH_REDIS_URL or the local server is there), one of them killed after the click."""
    found: dict = {}
    redis_url = os.environ.get("NGUON_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
    for name, kwargs in (
        ("postgres", {}),
        (f"postgres_{GATEWAYS}_gateways_one_killed", {"gateways": GATEWAYS, "redis_url": redis_url}),
    ):
        database = f"nguon_alerts_bench_{os.getpid()}"
        _log(f"{n}: {name}…")
        try:
            url = multi.fresh_database(database)
            round_, _setup_ = _nguon_round(n, work / name, acknowledge=True, database_url=url, **kwargs)
            frames = round_.pop("frames")
            found[name] = _summary(round_) | {"signatures_ok": bool(frames) and all(f["signature_ok"] for f in frames)}
        except Exception as exc:
            found[name] = {"error": f"{type(exc).__name__}: {str(exc)[-3000:]}"}
        finally:
            multi.drop_database(database)
    return found


def run() -> dict:
    result: dict = {"quick": QUICK, "client_nofile": raise_nofile(), "kernel": tune_kernel(), "sizes": {}}
    for n in SIZES:
        work = Path(tempfile.mkdtemp(prefix="nguon-alerts-bench-"))
        found = result["sizes"][str(n)] = {"devices": n}
        try:
            if "sqlite" in PARTS:
                found.update(_size(n, work))
        except Exception as exc:  # one size failing still reports the others, and the PostgreSQL rounds
            found["error"] = f"{type(exc).__name__}: {str(exc)[-3000:]}"
        try:
            if "postgres" in PARTS and n == max(SIZES):
                found.update(_postgres_rounds(n, work))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return result
