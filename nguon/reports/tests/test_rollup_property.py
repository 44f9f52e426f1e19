"""Figures from the roll-ups equal figures from the raw rows, whatever the devices send (a property test).

Random records (heartbeats, plays with every result, faults, plain logs, alert receipts) for a few devices in two
communes over four local days, many of them on a local midnight (17:00 UTC) or a millisecond either side, are cut
into batches that are duplicated, re-sent and re-ordered, and stored through the device report path
(`parse` then `ingest`, several batches per group commit as the gateway's writer does). Then the DeviceDay and
UnitDay counters must equal `rollup.raw_counts()` and an independent GROUP BY over the raw rows written here, and
`rollup.rebuild()` must leave them unchanged.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nguon.alerts.models import AlertReceipt
from nguon.broadcast import reports
from nguon.broadcast.models import DeviceLog, Heartbeat, PlayRecord
from nguon.broadcast.tests.fleet_helpers import iso, make_device
from nguon.reports import rollup
from nguon.reports.models import DeviceDay, UnitDay
from nguon.units.models import Unit

pytestmark = pytest.mark.django_db
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAYS = 4
DAY_MS = 86_400_000
ADDED = rollup.ADDED_COUNTERS

# Milliseconds from the first local midnight: any moment of the four days, or one on a local midnight (± 1 ms).
EDGES = [d * DAY_MS + e for d in range(DAYS + 1) for e in (-1, 0, 1) if 0 <= d * DAY_MS + e < DAYS * DAY_MS]
moments = st.one_of(st.sampled_from(EDGES), st.integers(0, DAYS * DAY_MS - 1))
records = st.one_of(
    st.tuples(st.just("heartbeat"), moments),
    st.tuples(
        st.just("play"),
        moments,
        st.sampled_from(["played", "partial", "failed", "skipped"]),
        st.one_of(st.none(), st.integers(0, 1800)),  # seconds played (None: no ended_at)
    ),
    st.tuples(st.just("fault"), moments),
    st.tuples(st.just("log"), moments),
    st.tuples(st.just("alert"), moments, st.sampled_from(["acknowledged", "played", "displayed", "failed"])),
)
# Per device: its records (seq = position + 1), where the batches are cut, which batches are sent again.
device_plans = st.tuples(
    st.lists(records, max_size=24),
    st.lists(st.integers(0, 24), max_size=4),
    st.lists(st.integers(0, 5), max_size=3),
)
plans = st.tuples(
    st.lists(device_plans, min_size=3, max_size=3),
    st.randoms(use_true_random=False),  # the order batches arrive in and how they are grouped into commits
)


def _record(seq: int, spec: tuple, base: datetime) -> dict:
    kind, offset = spec[0], spec[1]
    at = base + timedelta(milliseconds=offset)
    if kind == "heartbeat":
        return {"seq": seq, "type": "heartbeat", "at": iso(at), "volume": 70}
    if kind == "play":
        _, _, result, seconds = spec
        record = {"seq": seq, "type": "play", "occurrence": f"1@{iso(at)}", "item": "1", "started_at": iso(at)}
        if seconds is not None:
            record["ended_at"] = iso(at + timedelta(seconds=seconds))
        return {**record, "result": result}
    if kind == "fault":
        return {"seq": seq, "type": "fault", "at": iso(at), "code": "amp", "message": "amplifier hot"}
    if kind == "log":
        return {"seq": seq, "type": "log", "at": iso(at), "level": "warning", "message": "not counted"}
    return {"seq": seq, "type": "alert", "alert": 7, "state": spec[2], "at": iso(at)}


def _batches(device, plan, base: datetime) -> list[list[dict]]:
    specs, cuts, resend = plan
    sent = [_record(seq, spec, base) for seq, spec in enumerate(specs, start=1)]
    bounds = sorted({0, len(sent), *(c for c in cuts if c < len(sent))})
    batches = [sent[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    if sent:
        batches[0] = batches[0] + sent[:1]  # a seq twice in one batch
    return batches + [batches[i] for i in resend if i < len(batches)]


def independent_counts(first, last) -> dict[tuple[int, object], dict[str, int]]:
    """(device, local day) → counters, by GROUP BY over the raw rows (not through rollup's own code)."""
    start = datetime.combine(first, datetime.min.time(), tzinfo=HCM)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=HCM)
    counts: dict = defaultdict(lambda: dict.fromkeys(ADDED, 0))

    def grouped(queryset, field, **aggregates):
        return (
            queryset.filter(**{f"{field}__gte": start, f"{field}__lt": end})
            .annotate(local_day=TruncDate(field, tzinfo=HCM))
            .values("device_id", "local_day")
            .annotate(**aggregates)
            .order_by()
        )

    for row in grouped(Heartbeat.objects, "at", n=Count("pk")):
        counts[(row["device_id"], row["local_day"])]["online_minutes"] += row["n"]
    timed = Q(result__in=["played", "partial"], ended_at__isnull=False)
    plays = grouped(
        PlayRecord.objects,
        "started_at",
        **{f"{r}_items": Count("pk", filter=Q(result=r)) for r in ("played", "partial", "failed", "skipped")},
        duration=Sum(F("ended_at") - F("started_at"), filter=timed),
    )
    for row in plays:
        entry = counts[(row["device_id"], row["local_day"])]
        for result in ("played", "partial", "failed", "skipped"):
            entry[f"{result}_items"] += row[f"{result}_items"]
        entry["played_seconds"] += int(row["duration"].total_seconds()) if row["duration"] else 0
    for row in grouped(DeviceLog.objects.filter(level="fault"), "at", n=Count("pk")):
        counts[(row["device_id"], row["local_day"])]["faults"] += row["n"]
    receipts = grouped(
        AlertReceipt.objects,
        "at",
        acknowledged=Count("pk", filter=Q(state="acknowledged")),
        played=Count("pk", filter=Q(state__in=["played", "displayed"])),
        failed=Count("pk", filter=Q(state="failed")),
    )
    for row in receipts:
        entry = counts[(row["device_id"], row["local_day"])]
        for state in ("acknowledged", "played", "failed"):
            entry[f"alerts_{state}"] += row[state]
    return {key: value for key, value in counts.items() if any(value.values())}


def rollup_counts(model, key: str) -> dict:
    rows = model.objects.values(key, "day", *ADDED)
    return {(row[key], row["day"]): {c: row[c] for c in ADDED} for row in rows if any(row[c] for c in ADDED)}


def by_unit(counts: dict, units: dict[int, int]) -> dict:
    summed: dict = defaultdict(lambda: dict.fromkeys(ADDED, 0))
    for (device_id, day), values in counts.items():
        for counter, value in values.items():
            summed[(units[device_id], day)][counter] += value
    return {key: value for key, value in summed.items() if any(value.values())}


def test_rollups_equal_a_group_by_over_the_raw_rows(cast):
    other = Unit.objects.get(code="26041")
    devices = [make_device(cast.commune, "PROP-1"), make_device(cast.commune, "PROP-2"), make_device(other, "PROP-3")]
    units = {device.pk: device.unit_id for device in devices}
    now = timezone.now()
    first = timezone.localdate(now) - timedelta(days=DAYS)
    last = first + timedelta(days=DAYS - 1)
    base = datetime.combine(first, datetime.min.time(), tzinfo=HCM)

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(plans)
    def check(drawn):
        device_plans_, shuffle = drawn
        sends = [(d, body) for d, plan in zip(devices, device_plans_, strict=True) for body in _batches(d, plan, base)]
        shuffle.shuffle(sends)
        with transaction.atomic():  # every example starts from the same empty tables
            while sends:
                size = shuffle.randint(1, 4)
                group, sends = sends[:size], sends[size:]
                reports.ingest(
                    [
                        reports.parse(json.dumps({"records": body}).encode(), device_id=d.pk, now=now)
                        for d, body in group
                    ]
                )
            expected = independent_counts(first, last)
            assert {k: v for k, v in rollup.raw_counts(first, last).items() if any(v.values())} == expected
            assert rollup_counts(DeviceDay, "device_id") == expected
            assert rollup_counts(UnitDay, "unit_id") == by_unit(expected, units)
            stored = sum(model.objects.count() for model in (Heartbeat, PlayRecord, DeviceLog, AlertReceipt))
            assert stored == sum(len(plan[0]) for plan in device_plans_)

            rollup.rebuild(first - timedelta(days=1), last + timedelta(days=1))
            assert rollup_counts(DeviceDay, "device_id") == expected
            assert rollup_counts(UnitDay, "unit_id") == by_unit(expected, units)
            transaction.set_rollback(True)

    check()
