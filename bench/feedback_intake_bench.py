"""Feedback intake: citizens' submissions per second through the real public form, and the per-address limit.

In a fresh temporary NGUON_DATA_DIR (SQLite), with the web app under uvicorn as `make run` starts it:

1. Set-up (`bench/feedback_intake/setup.py`): province 75 with ten communes, the default topics.
2. CLIENTS threads, each a citizen's browser on a kept-alive loopback connection, submit SUBMISSIONS in all. One
   submission is what a citizen's phone does: GET /phan-anh/ (the page, its CSRF cookie and a new challenge), then
   POST the multipart form with one small JPEG (checked by content and re-encoded by the server), varied text
   (so the near-duplicate check lets it through), a commune, a topic and the challenge's answer, read from the
   challenge store (captcha_captchastore) the way a person reads the picture. A submission counts when the answer
   is the receipt page with its tracking code.
3. The per-address limit: the server runs with NGUON_FEEDBACK_RATE_PER_HOUR = SUBMISSIONS, and every client comes
   from 127.0.0.1, so after step 2 the address has used its hour; OVER_LIMIT more submissions must each get HTTP
   429 with Retry-After, and no new row.

Reference, measured in the same run: the same server's plain 404 page over the same kind of connection (what any
request costs here), and the same rows saved one by one through the ORM (`setup insert`, no HTTP, routing, history,
audit, challenge or file): the floor of what a submission must cost.

`NGUON_BENCH_QUICK=1` submits 40 instead of 200. `python -m bench feedback_intake` prints the result as JSON.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from bench.devices.servers import PYTHON, ROOT, django_env, start_web
from bench.feedback_intake.texts import feedback_text

QUICK = os.environ.get("NGUON_BENCH_QUICK") == "1"
SUBMISSIONS = 40 if QUICK else 200
CLIENTS = 4
OVER_LIMIT = 10
REFERENCE_404 = 200 if QUICK else 1000
TOPICS = ["den-duong", "giao-thong", "rac-thai", "ngap-nuoc", "trat-tu", "dat-dai", "thu-tuc", "y-te", "khac"]


def _log(message: str) -> None:
    sys.stderr.write(f"  feedback_intake: {message}\n")


def _summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 4),
        "p90": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 4),
        "max": round(ordered[-1], 4),
    }


def _setup(env: dict, *args: str) -> dict:
    done = subprocess.run(
        [PYTHON, "-m", "bench.feedback_intake.setup", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"setup {args[0]} failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _jpeg(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (seed % 256, (seed * 7) % 256, 90)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _multipart(fields: dict, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, data in files:
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n")  # fmt: skip
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Citizen:
    """One phone: a kept-alive connection and its cookies (the CSRF cookie)."""

    def __init__(self, port: int, database: Path):
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        self.database = database

    def _request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response, data

    def _answer(self, hashkey: str) -> str:
        with contextlib.closing(sqlite3.connect(self.database, timeout=30)) as db:
            row = db.execute("SELECT response FROM captcha_captchastore WHERE hashkey = ?", (hashkey,)).fetchone()
        return row[0]

    def submit(self, seed: int, commune: str) -> tuple[int, float, http.client.HTTPMessage]:
        """One citizen's submission; (HTTP status of the POST, seconds for page + POST, response headers)."""
        started = time.perf_counter()
        response, page = self._request("GET", "/phan-anh/")
        text = page.decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)
        hashkey = re.search(r'name="challenge_0" value="([0-9a-f]+)"', text).group(1)
        fields = {
            "csrfmiddlewaretoken": token,
            "topic": TOPICS[seed % len(TOPICS)],
            "unit": commune,
            "address": f"Số {seed} đường Thử nghiệm",
            "text": feedback_text(seed),
            "challenge_0": hashkey,
            "challenge_1": self._answer(hashkey),
        }
        body, content_type = _multipart(fields, [("files", f"anh-{seed}.jpg", _jpeg(seed))])
        response, data = self._request("POST", "/phan-anh/", body, {"Content-Type": content_type})
        elapsed = time.perf_counter() - started
        if response.status == 200 and b'id="fb-code"' not in data:
            raise RuntimeError(f"no receipt in the answer: {data[:3000]!r}")
        if response.status not in (200, 429):
            raise RuntimeError(f"HTTP {response.status}: {data[:3000]!r}")
        return response.status, elapsed, response.headers  # case-insensitive (h11 sends lower-case names)

    def close(self) -> None:
        self.connection.close()


def _plain_404_rate(port: int) -> dict:
    """The same server's 404 page, CLIENTS connections in parallel, as many requests as REFERENCE_404."""
    times: list[float] = []
    lock = threading.Lock()

    def worker(count: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(count):
            started = time.perf_counter()
            connection.request("GET", "/phan-anh/khong-co/")
            response = connection.getresponse()
            response.read()
            assert response.status == 404, response.status
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            times.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(REFERENCE_404 // CLIENTS,)) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"requests": len(times), "per_second": round(len(times) / wall, 1), "latency_s": _summary(times)}


def run() -> dict:
    workdir = Path(tempfile.mkdtemp(prefix="nguon-bench-intake-"))
    env = django_env(workdir / "data")
    env.update(NGUON_FEEDBACK_RATE_PER_HOUR=str(SUBMISSIONS), NGUON_SPEECH_AUTO_RENDER="0")
    web = None
    try:
        communes = _setup(env, "populate")["communes"]
        web, port = start_web(env, workdir / "web.log", "/phan-anh/tra-cuu/")
        database = workdir / "data" / "nguon.sqlite3"
        # Warm-up: one request of each kind pays for imports and cold caches (a GET only: no submission is used).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/phan-anh/", timeout=30) as response:
            response.read()

        results: list[tuple[int, float]] = []
        lock = threading.Lock()
        seeds = iter(range(SUBMISSIONS))

        def citizen_loop() -> None:
            citizen = Citizen(port, database)
            try:
                while True:
                    with lock:
                        seed = next(seeds, None)
                    if seed is None:
                        return
                    status, elapsed, _headers = citizen.submit(seed, communes[seed % len(communes)])
                    with lock:
                        results.append((status, elapsed))
            finally:
                citizen.close()

        _log(f"{SUBMISSIONS} submissions from {CLIENTS} clients…")
        started = time.perf_counter()
        threads = [threading.Thread(target=citizen_loop) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        accepted = [elapsed for status, elapsed in results if status == 200]
        if len(results) != SUBMISSIONS:
            raise RuntimeError(f"only {len(results)} of {SUBMISSIONS} submissions finished: {web.tail()}")

        _log(f"{OVER_LIMIT} more from the same address, over its hourly limit…")
        before = _setup(env, "count")
        citizen = Citizen(port, database)
        over = [citizen.submit(SUBMISSIONS + n, communes[0]) for n in range(OVER_LIMIT)]
        citizen.close()
        after = _setup(env, "count")
        limited = [status for status, _e, _h in over if status == 429]
        retry_after = [int(headers.get("Retry-After", 0)) for status, _e, headers in over if status == 429]

        _log("references…")
        plain_404 = _plain_404_rate(port)
        web.stop()
        web = None
        orm = _setup(env, "insert", str(SUBMISSIONS))
        orm_rate = orm["rows"] / orm["seconds"]
        rate = len(accepted) / wall
        holds = len(limited) == OVER_LIMIT and after == before and all(r > 0 for r in retry_after)
        return {
            "submissions": SUBMISSIONS,
            "clients": CLIENTS,
            "accepted": len(accepted),
            "submissions_per_second": round(rate, 1),
            "submission_latency_s": _summary(accepted),
            "stored": before,
            "rate_limit": {
                "limit_per_hour": SUBMISSIONS,
                "sent_over_limit": OVER_LIMIT,
                "answered_429": len(limited),
                "rows_added_over_limit": after["feedback"] - before["feedback"],
                "retry_after_s": _summary([float(r) for r in retry_after]),
                "holds": holds,
            },
            "reference": {
                "plain_404": plain_404,
                "orm_insert_per_second": round(orm_rate, 1),
            },
            "submission_over_404_time": round(plain_404["per_second"] / rate, 1) if rate else None,
            "orm_insert_over_submission_rate": round(orm_rate / rate, 1) if rate else None,
        }
    finally:
        if web is not None:
            web.stop()
        shutil.rmtree(workdir, ignore_errors=True)
