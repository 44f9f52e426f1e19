"""Notifications: from an alert being submitted to the approver's bell and to the approver's mailbox.

In a fresh temporary NGUON_DATA_DIR (SQLite), with the processes `make run` starts:

1. Set-up (`bench/notifications/setup.py`): province 75, one commune, a commune approver with an e-mail address
   and a session past TOTP, an editor.
2. The web app under uvicorn (as `nguon serve`), the worker (`nguon worker`, SQLite queue) and an SMTP server on
   loopback (aiosmtpd in this process; NGUON_SMTP_HOST/PORT point at it, no TLS).
3. Two pollers in this process play the approver's open page: each asks `/notifications/badge/?since=…` with the
   session cookie on a kept-alive connection, one every 3 s as the page does (`badge_page_s`), one every 0.25 s
   to show the server side without the page's polling wait (`badge_fast_s`). A round counts when a poller sees
   the bell's newest sounding notification change (the chime's trigger in the page).
4. After one warm-up alert (not counted), ROUNDS times: a subprocess (`setup submit`, kept running) saves an
   alert as the editor with `do_create_alert`; the receivers run after its commit in that process, as in a web
   request, and queue the e-mail; the worker sends it. Times are from just before the call to: the commit
   (`commit_s`), each poller seeing the bell change, and the SMTP server accepting the message (`email_s`).
   Between rounds a random pause of 0–3 s, so that submissions fall at any point of the page's 3 s poll.

Reference, measured in the same run: the SMTP send alone (smtplib to the same server, same size, `smtp_send_s`),
a static file from the same app (`static_get_s`) and an unchanged bell poll (`poll_204_s`); and what polling
every 3 s costs by itself: a wait of 0–3 s, 1.5 s on average.
Target ("notified within seconds"): every round's bell within the poll interval + 1 s, e-mail within 3 s.

`NGUON_BENCH_QUICK=1` runs 4 rounds instead of 12. `python -m bench notifications` prints the result as JSON.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import random
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from bench.devices.servers import PYTHON, ROOT, Process, django_env, free_port, start_web

QUICK = os.environ.get("NGUON_BENCH_QUICK") == "1"
ROUNDS = 4 if QUICK else 12
PAGE_POLL_S = 3.0  # what notifications/_badge_link.html asks htmx for
FAST_POLL_S = 0.25
ROUND_TIMEOUT_S = 20.0
TARGETS = f"every round: bell within {PAGE_POLL_S:g} s + 1 s of the submission, e-mail within 3 s"


def _log(message: str) -> None:
    sys.stderr.write(f"  notifications: {message}\n")


def _summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 3),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 3),
        "max": round(ordered[-1], 3),
        "mean": round(statistics.fmean(ordered), 3),
    }


class Mailbox:
    """aiosmtpd on loopback: notes when each message was accepted."""

    def __init__(self):
        self.received: list[tuple[float, list[str], str]] = []
        self.event = threading.Condition()
        self.port = free_port()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        with self.event:
            subject = re.search(rb"^Subject:(.*)$", envelope.content, re.M)
            subject_text = (subject.group(1) if subject else b"").decode()
            self.received.append((time.time(), list(envelope.rcpt_tos), subject_text))
            self.event.notify_all()
        return "250 OK"

    def start(self) -> Mailbox:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


class Poller(threading.Thread):
    """Plays the approver's page: asks for the bell every `interval` seconds, notes each new sounding id."""

    def __init__(self, port: int, cookie: str, interval: float):
        super().__init__(daemon=True)
        self.port, self.cookie, self.interval = port, cookie, interval
        self.seen: list[tuple[float, int]] = []  # (time, sound id) at each change
        self.statuses: dict[int, int] = {}
        self.stop_flag = threading.Event()
        self.changed = threading.Condition()

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        version, sound_id = "", 0
        headers = {"Cookie": f"sessionid={self.cookie}", "HX-Request": "true"}
        while not self.stop_flag.is_set():
            try:
                connection.request("GET", f"/notifications/badge/?since={version}", headers=headers)
                response = connection.getresponse()
                body = response.read().decode()
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                self.stop_flag.wait(self.interval)
                continue
            at = time.time()
            self.statuses[response.status] = self.statuses.get(response.status, 0) + 1
            if response.status == 200:
                found = re.search(r"since=([\d.]+)", body)
                version = found.group(1) if found else version
                new_id = int(re.search(r'data-sound-id="(\d+)"', body).group(1))
                if new_id > sound_id:
                    sound_id = new_id
                    with self.changed:
                        self.seen.append((at, new_id))
                        self.changed.notify_all()
            self.stop_flag.wait(self.interval)
        connection.close()


def _wait(condition: threading.Condition, predicate, timeout: float) -> bool:
    with condition:
        return condition.wait_for(predicate, timeout=timeout)


def _median_seconds(action, times: int = 20) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return round(statistics.median(samples), 4)


def _references(port: int, cookie: str, mailbox: Mailbox) -> dict:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def get(path: str, headers=None) -> None:
        connection.request("GET", path, headers=headers or {})
        connection.getresponse().read()

    get("/static/nguon/notifications.css")
    static = _median_seconds(lambda: get("/static/nguon/notifications.css"))
    headers = {"Cookie": f"sessionid={cookie}", "HX-Request": "true"}
    connection.request("GET", "/notifications/badge/", headers=headers)
    body = connection.getresponse().read().decode()
    version = re.search(r"since=([\d.]+)", body).group(1)
    poll = _median_seconds(lambda: get(f"/notifications/badge/?since={version}", headers))
    connection.close()

    message = EmailMessage()
    message["From"], message["To"] = "no-reply@bench.nguon.test", "reference@bench.nguon.test"
    message["Subject"] = "[Nguồn] Cảnh báo chờ phê duyệt: Cảnh báo lũ số 1"
    message.set_content("Cảnh báo chờ phê duyệt.\n" * 12)

    def send() -> None:
        with smtplib.SMTP("127.0.0.1", mailbox.port, timeout=10) as smtp:
            smtp.send_message(message)

    smtp_send = _median_seconds(send, times=10)
    return {
        "smtp_send_s": smtp_send,
        "static_get_s": static,
        "poll_204_s": poll,
        "page_poll_wait_s": {"min": 0, "mean": PAGE_POLL_S / 2, "max": PAGE_POLL_S},
    }


def run() -> dict:
    from bench.notifications.setup import APPROVER_EMAIL

    workdir = Path(tempfile.mkdtemp(prefix="nguon-bench-notify-"))
    mailbox = Mailbox().start()
    env = django_env(workdir / "data")
    env.update(
        NGUON_SMTP_HOST="127.0.0.1",
        NGUON_SMTP_PORT=str(mailbox.port),
        NGUON_SMTP_SECURITY="none",
        NGUON_EMAIL_FROM="Nguồn <no-reply@bench.nguon.test>",
        NGUON_SPEECH_AUTO_RENDER="0",
    )
    processes: list[Process] = []
    submitter = None
    pollers: list[Poller] = []
    try:
        done = subprocess.run(
            [PYTHON, "-m", "bench.notifications.setup", "populate"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"setup failed: {done.stderr[-3000:]}")
        cookie = json.loads(done.stdout.strip().splitlines()[-1])["cookie"]
        web, port = start_web(env, workdir / "web.log")
        processes.append(web)
        processes.append(Process([PYTHON, "-m", "nguon", "worker"], log=workdir / "worker.log", env=env))
        submitter = subprocess.Popen(
            [PYTHON, "-m", "bench.notifications.setup", "submit"],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        if json.loads(submitter.stdout.readline()).get("ready") is not True:
            raise RuntimeError("the submitter did not start")
        reference = _references(port, cookie, mailbox)
        pollers = [Poller(port, cookie, PAGE_POLL_S), Poller(port, cookie, FAST_POLL_S)]
        for poller in pollers:
            poller.start()
        # One alert not counted: the submitter's first action pays for imports and cold caches, and the pollers
        # and the mailbox see it (so round n below is the (n + 1)-th change they see).
        submitter.stdin.write("warm-up\n")
        submitter.stdin.flush()
        submitter.stdout.readline()
        warm = [(p.changed, lambda p=p: len(p.seen) > 0) for p in pollers]
        warm.append((mailbox.event, lambda: any(APPROVER_EMAIL in r for _t, r, _s in mailbox.received)))
        if not all(_wait(condition, predicate, ROUND_TIMEOUT_S) for condition, predicate in warm):
            raise RuntimeError("the warm-up alert reached neither the bell nor the mailbox")
        rounds = []
        for n in range(1, ROUNDS + 1):
            time.sleep(random.uniform(0, PAGE_POLL_S))
            submitter.stdin.write("alert\n")
            submitter.stdin.flush()
            line = json.loads(submitter.stdout.readline())
            start = line["submitted_at"]
            row = {"commit_s": round(line["committed_at"] - start, 3)}
            for name, poller in zip(("badge_page_s", "badge_fast_s"), pollers, strict=True):
                if _wait(poller.changed, lambda p=poller, k=n: len(p.seen) > k, ROUND_TIMEOUT_S):
                    row[name] = round(poller.seen[n][0] - start, 3)
            if _wait(mailbox.event, lambda k=n: sum(APPROVER_EMAIL in r for _t, r, _s in mailbox.received) > k,
                     ROUND_TIMEOUT_S):  # fmt: skip
                arrived = [t for t, r, _s in mailbox.received if APPROVER_EMAIL in r][n]
                row["email_s"] = round(arrived - start, 3)
            rounds.append(row)
            _log(f"round {n}/{ROUNDS}: {row}")
        result = {name: _summary([r[name] for r in rounds if name in r])
                  for name in ("commit_s", "badge_page_s", "badge_fast_s", "email_s")}  # fmt: skip
        missing = {name: sum(name not in r for r in rounds) for name in ("badge_page_s", "badge_fast_s", "email_s")}
        met = (
            not any(missing.values())
            and result["badge_page_s"]["max"] <= PAGE_POLL_S + 1
            and result["email_s"]["max"] <= 3
        )
        return {
            "rounds": ROUNDS,
            "page_poll_s": PAGE_POLL_S,
            "fast_poll_s": FAST_POLL_S,
            **result,
            "missing": missing,
            "poll_statuses": {f"{p.interval:g}s": p.statuses for p in pollers},
            "reference": reference,
            "email_over_smtp_send": round(result["email_s"]["p50"] / reference["smtp_send_s"], 1)
            if result["email_s"].get("n")
            else None,
            "targets": TARGETS,
            "targets_met": met,
        }
    finally:
        for poller in pollers:
            poller.stop_flag.set()
        if submitter is not None:
            with contextlib.suppress(Exception):
                submitter.stdin.close()
                submitter.wait(10)
        for process in reversed(processes):
            process.stop()
        mailbox.stop()
        shutil.rmtree(workdir, ignore_errors=True)
