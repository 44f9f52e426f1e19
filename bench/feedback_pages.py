"""The inside of the feedback pages benchmark (run by bench/feedback_pages_bench.py in its own process).

`python -m bench.feedback_pages` with NGUON_DATABASE_URL pointing at an empty PostgreSQL database: migrate, load
Đồng Nai's units and the default topics, COPY ROWS feedback rows spread over a year, 95 communes, every topic,
channel and status, then time the pages as a signed-in user asks for them (Django's test client: the whole view,
template and middleware, without a network hop) beside the raw SQL of each page's main query, executed on the same
connection in the same run. Prints one JSON document.
"""

from __future__ import annotations

import io
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta

ROWS = int(os.environ.get("NGUON_BENCH_FEEDBACK_ROWS", "0")) or (
    20_000 if os.environ.get("NGUON_BENCH_QUICK") == "1" else 200_000
)
REPEATS = 15 if os.environ.get("NGUON_BENCH_QUICK") == "1" else 40
WARM_UP = 3
TARGET_MS = 300

COLUMNS = (
    "number, code_hash, channel, topic_id, unit_id, address, title, text, text_folded, name, phone, email, "
    "consent_publish, language, handler_unit_id, status, refusal_reason, answer, received_at, accepted_at, due_at, "
    "answered_at, closed_at, status_changed_at, on_time, reopen_count, rating, rating_comment, published_question, "
    "published_answer, published_folded, published_at, unpublished_at, fingerprint"
)
TEXTS = [
    "Đèn đường trước số {n} đường Phan Trung bị hỏng nhiều ngày, buổi tối rất tối.",
    "Rác thải đổ bừa bãi ở đầu hẻm {n}, bốc mùi hôi, đề nghị thu gom.",
    "Ổ gà lớn trên đường Võ Thị Sáu gần số {n}, xe máy dễ té ngã.",
    "Khu phố {n} ngập sâu mỗi khi mưa lớn do cống thoát nước bị nghẹt.",
    "Loa truyền thanh tổ {n} phát quá to vào buổi sáng sớm.",
    "Hồ sơ cấp giấy phép xây dựng số {n} chưa được trả kết quả đúng hẹn.",
]


def _log(message: str) -> None:
    sys.stderr.write(f"  feedback_pages: {message}\n")


def _setup():
    from django.core.management import call_command

    from nguon.accounts.actions import do_create_user, do_grant_role
    from nguon.accounts.roles import Role
    from nguon.feedback.topics import ensure_topics
    from nguon.units.actions import do_import_units
    from nguon.units.models import Unit
    from nguon.units.sources import load_from_package

    call_command("migrate", verbosity=0, interactive=False)
    if not Unit.objects.filter(code="75").exists():
        do_import_units(load_from_package("75"))
    ensure_topics()
    province = Unit.objects.get(code="75")
    commune = Unit.objects.get(code="26068")
    users = {}
    for username, unit in (("bench.province", province), ("bench.commune", commune)):
        user = do_create_user(
            username=username, password="bench-password-1", unit=unit, full_name=username, acting_user=None
        )
        do_grant_role(user, role=Role.EDITOR, unit=unit, acting_user=None)
        users[unit.code] = user
    return users


def _copy_rows(rows: int) -> float:
    """COPY the rows in one stream (psycopg 3): about 20 times faster than bulk_create."""
    from django.db import connection
    from django.utils import timezone

    from nguon.feedback.models import Channel, Status, Topic
    from nguon.lib.folding import fold
    from nguon.units.models import Unit

    rng = random.Random(42)
    topics = list(Topic.objects.values_list("pk", "deadline_days"))
    communes = list(Unit.objects.filter(parent__code="75").values_list("pk", flat=True))
    channels = list(Channel.values)
    now = timezone.now()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY feedback_feedback ({COLUMNS}) FROM STDIN") as copy:
            # Oldest first, as rows arrive in real life (the table's physical order follows the time of receipt).
            ages = sorted((rng.randint(0, 365 * 86400) for _ in range(rows)), reverse=True)
            for i, age in enumerate(ages):
                topic, days = rng.choice(topics)
                unit = rng.choice(communes)
                received = now - timedelta(seconds=age)
                text = rng.choice(TEXTS).format(n=rng.randint(1, 300))
                roll = rng.random()
                status, accepted, due, answered, closed, on_time, rating = (
                    Status.RECEIVED,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                )
                published = ("", "", "", None)
                if roll < 0.06:
                    status, closed = Status.REFUSED, received + timedelta(days=1)
                elif roll > 0.1:
                    accepted = received + timedelta(hours=rng.randint(1, 48))
                    due = accepted + timedelta(days=days * 7 // 5)
                    if roll > 0.3:
                        answered = accepted + timedelta(hours=rng.randint(4, 24 * days * 2))
                        on_time = answered <= due
                        status = Status.CLOSED if roll > 0.5 else Status.ANSWERED
                        closed = answered + timedelta(days=7) if status == Status.CLOSED else None
                        rating = rng.randint(1, 5) if rng.random() < 0.3 else None
                        if rng.random() < 0.2:
                            answer = "Đơn vị đã kiểm tra và xử lý xong."
                            published = (text, answer, fold(f"{text} {answer}"), answered + timedelta(days=1))
                    else:
                        status = rng.choice([Status.ACCEPTED, Status.ASSIGNED, Status.IN_PROGRESS, Status.DRAFTED])
                reason = "spam" if status == Status.REFUSED else ""
                copy.write_row((
                    f"PA-B-{i:07d}", uuid.uuid4().hex + uuid.uuid4().hex, rng.choice(channels), topic, unit, "", "",
                    text, fold(text), "", "", "", rng.random() < 0.5, "vi", unit, status, reason,
                    "Đơn vị đã kiểm tra và xử lý xong." if answered else "", received, accepted, due, answered, closed,
                    received, on_time, 0, rating, "", published[0], published[1], published[2], published[3], None, "",
                ))  # fmt: skip
        cursor.execute("ANALYZE feedback_feedback")
    return round(time.perf_counter() - started, 1)


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def _time_page(client, url: str) -> dict:
    for _ in range(WARM_UP):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"{url}: HTTP {response.status_code}")
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    return _summary(times)


def _main_queries(client, url: str) -> list[str]:
    """The SQL a page ran on the feedback table (its main queries), as executed, parameters in place."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return [q["sql"] for q in captured.captured_queries if 'FROM "feedback_feedback"' in q["sql"]]


def _time_sql(statements: list[str]) -> dict:
    """The raw SQL time of a page's main queries, run back to back on the same connection."""
    from django.db import connection

    times = []
    with connection.cursor() as cursor:
        for round_ in range(WARM_UP + REPEATS):
            started = time.perf_counter()
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()
            if round_ >= WARM_UP:
                times.append(time.perf_counter() - started)
    result = _summary(times)
    result["queries"] = len(statements)
    return result


def main() -> None:
    import django

    django.setup()
    from django.test import Client
    from django.utils import timezone

    from nguon.feedback.models import Topic

    result: dict = {"rows": ROWS, "repeats": REPEATS, "target": f"page p95 < {TARGET_MS} ms"}
    started = time.perf_counter()
    users = _setup()
    result["copy_s"] = _copy_rows(ROWS)
    result["setup_s"] = round(time.perf_counter() - started, 1)
    _log(f"{ROWS} rows in {result['setup_s']} s")
    today = timezone.localdate()
    year_first = today - timedelta(days=364)
    topic = Topic.objects.get(code="den-duong")
    pages = {}
    for scope, user in (("province", users["75"]), ("commune", users["26068"])):
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        cases = [
            ("list_first_page", "/feedback/"),
            ("list_filtered", f"/feedback/?status=open&topic={topic.pk}&q=den+duong"),
            ("list_overdue_by_due", "/feedback/?overdue=on&sort=due"),
            ("dashboard_30_days", "/feedback/dashboard/"),
            ("dashboard_year_by_month", f"/feedback/dashboard/?date_from={year_first}&date_to={today}&period=month"),
        ]
        for name, url in cases:
            _log(f"{scope} {name}…")
            page = _time_page(client, url)
            page["raw_sql"] = _time_sql(_main_queries(client, url))
            page["url"] = url
            page["meets_target"] = page["p95_ms"] < TARGET_MS
            pages[f"{scope}.{name}"] = page
    result["pages"] = pages
    result["all_meet_target"] = all(p["meets_target"] for p in pages.values())
    out = io.StringIO()
    json.dump(result, out, ensure_ascii=False)
    print(out.getvalue())


if __name__ == "__main__":
    main()
