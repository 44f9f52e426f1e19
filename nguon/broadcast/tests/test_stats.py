"""Proof of play: planned against played per slot occurrence, per commune and per day, on a small fixture."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
import time_machine

from nguon.broadcast import actions, monitoring
from nguon.broadcast.models import Device, Slot
from nguon.broadcast.tests.fleet_helpers import HCM, make_device, play, report, technician

pytestmark = pytest.mark.django_db

DAY0, DAY1 = date(2026, 11, 23), date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 17, 10, tzinfo=HCM)  # the evening slot of DAY1 (17:00–17:30) has not ended yet
RELAY = [{"kind": "relay", "stream_url": "https://radio.example/vov1", "stream_name": "VOV1"}]


@dataclass
class Fixture:
    morning: Slot  # province-wide, every day 05:30–06:00
    evening: Slot  # Biên Hòa's loudspeakers only, every day 17:00–17:30
    devices: dict[str, Device]

    def key(self, slot: Slot, day: date) -> str:
        return f"{slot.pk}@{day.isoformat()}"


def slot(unit, name, start, end, **fields) -> Slot:
    data = actions.SlotData(name=name, start_time=start, end_time=end, start_date=DAY0, items=RELAY, **fields)
    return actions.do_save_slot(None, unit=unit, data=data, acting_user=None)


@pytest.fixture
def plan(cast) -> Fixture:
    with time_machine.travel(datetime.combine(DAY0, time(5), tzinfo=HCM), tick=False):
        devices = {
            "bh1": make_device(cast.commune, "BH-1"),
            "bh2": make_device(cast.commune, "BH-2"),
            "board": make_device(cast.commune, "BH-B", kind="board"),
            "tb1": make_device(cast.other_commune, "TB-1"),
        }
        morning = slot(cast.province, "Buổi sáng", time(5, 30), time(6))
        evening = slot(cast.commune, "Buổi chiều", time(17), time(17, 30), device_kind="speaker")
    # Registered after DAY1's morning programme: expected for nothing in the range.
    with time_machine.travel(datetime.combine(DAY1, time(12), tzinfo=HCM), tick=False):
        devices["tb2"] = make_device(cast.other_commune, "TB-2")
    f = Fixture(morning, evening, devices)

    def at(day, hour, minute):
        return datetime.combine(day, time(hour, minute), tzinfo=HCM)

    with time_machine.travel(NOW, tick=False):
        report(devices["bh1"], [
            play(1, f.key(morning, DAY0), at(DAY0, 5, 30)),
            play(2, f.key(morning, DAY0), at(DAY0, 5, 40), item="2"),  # a second item: still one device
            play(3, f.key(evening, DAY0), at(DAY0, 17, 0)),
            play(4, f.key(morning, DAY1), at(DAY1, 5, 30), result="partial"),  # interrupted still counts
        ])  # fmt: skip
        report(devices["bh2"], [play(1, f.key(morning, DAY0), at(DAY0, 5, 30), result="failed")])
        # A board never gets the speakers-only slot: a stray report of it does not count.
        report(devices["board"], [play(1, f.key(evening, DAY0), at(DAY0, 17, 0))])
        report(devices["tb1"], [
            play(1, f.key(morning, DAY0), at(DAY0, 5, 31)),
            play(2, f.key(morning, DAY1), at(DAY1, 5, 31), result="skipped"),
        ])  # fmt: skip
    return f


def figures(stats) -> dict:
    return {
        "total": (stats.total.planned, stats.total.played),
        "days": {r.day: (r.planned, r.played) for r in stats.days},
        "units": {r.unit.code: (r.planned, r.played) for r in stats.units},
        "occurrences": {r.key: (r.planned, r.played) for r in stats.occurrences},
    }


def test_planned_against_played(cast, plan):
    stats = monitoring.proof_of_play(Device.objects.all(), DAY0, DAY1, now=NOW)
    assert figures(stats) == {
        # 4 devices × 2 mornings + 2 loudspeakers × 1 finished evening; TB-2 came too late for any.
        "total": (10, 4),
        "days": {DAY0: (6, 3), DAY1: (4, 1)},
        "units": {"26068": (8, 3), "26041": (2, 1)},
        "occurrences": {
            plan.key(plan.morning, DAY0): (4, 2),
            plan.key(plan.evening, DAY0): (2, 1),
            plan.key(plan.morning, DAY1): (4, 1),
        },
    }
    assert stats.total.missed == 6 and stats.total.rate == pytest.approx(0.4)
    assert [r.key for r in stats.occurrences][0] == plan.key(plan.morning, DAY1)  # latest first


def test_after_the_evening_ends_it_is_planned_too(cast, plan):
    later = NOW + timedelta(hours=1)
    stats = monitoring.proof_of_play(Device.objects.all(), DAY0, DAY1, now=later)
    assert figures(stats)["occurrences"][plan.key(plan.evening, DAY1)] == (2, 0)
    assert (stats.total.planned, stats.total.played) == (12, 4)


def test_stats_page_and_api_agree_and_are_scoped(cast, plan, client_for):
    query = {"date_from": DAY0.isoformat(), "date_to": DAY1.isoformat()}
    with time_machine.travel(NOW, tick=False):
        admin = client_for(cast.province_admin)
        page = admin.get("/devices/stats/", query)
        body = admin.get("/api/v1/devices/stats", query).json()
        commune = client_for(technician(cast.commune)).get("/api/v1/devices/stats", query).json()
        outsider = client_for(cast.outsider).get("/api/v1/devices/stats", query).json()
        only_tb = admin.get("/api/v1/devices/stats", {**query, "unit": cast.other_commune.code}).json()
    assert page.status_code == 200
    assert figures(page.context["stats"])["total"] == (10, 4)
    html = page.content.decode()
    assert html.count("<svg") - html.count("notif-bell") == 2 and 'class="bar-1"' in html
    assert "40,0 %" in html  # played of planned, in Vietnamese number format
    assert body["total"] == {"planned": 10, "played": 4, "missed": 6, "rate": 0.4}
    assert [(d["day"], d["planned"], d["played"]) for d in body["days"]] == [("2026-11-23", 6, 3), ("2026-11-24", 4, 1)]
    assert {u["unit_code"]: u["played"] for u in body["units"]} == {"26068": 3, "26041": 1}
    assert body["occurrences"][0]["slot_name"] == "Buổi sáng"
    assert (commune["total"]["planned"], commune["total"]["played"]) == (8, 3)
    assert {u["unit_code"] for u in commune["units"]} == {"26068"}
    assert outsider["total"]["planned"] == 0 and outsider["units"] == []
    assert (only_tb["total"]["planned"], only_tb["total"]["played"]) == (2, 1)


def test_stats_page_queries_do_not_grow(cast, plan, client_for, django_assert_max_num_queries):
    query = {"date_from": DAY0.isoformat(), "date_to": DAY1.isoformat()}
    with time_machine.travel(NOW, tick=False):
        client = client_for(cast.province_admin)
        with django_assert_max_num_queries(13) as small:
            assert client.get("/devices/stats/", query).status_code == 200
        for n in range(20):
            device = make_device(cast.commune if n % 2 else cast.other_commune, f"X-{n}")
            report(device, [play(1, plan.key(plan.morning, DAY1), NOW - timedelta(hours=11))])
        with django_assert_max_num_queries(len(small.captured_queries)):
            response = client.get("/devices/stats/", query)
    # The new devices did not exist on those mornings: their reports do not inflate the figures.
    assert figures(response.context["stats"])["total"] == (10, 4)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"date_from": "2026-11-24", "date_to": "2026-11-23"}, "date_to"),
        ({"date_from": "2026-01-01", "date_to": "2026-11-23"}, "date_from"),
        ({"date_from": "23/11/2026x"}, "date_from"),
    ],
)
def test_bad_ranges_are_refused(cast, client_for, query, field):
    client = client_for(cast.province_admin)
    response = client.get("/devices/stats/", query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    api = client.get("/api/v1/devices/stats", query)
    assert api.status_code in (400, 422)
    assert field in api.json()["error"]["fields"]


def test_default_range_is_the_last_week(cast, client_for):
    with time_machine.travel(NOW, tick=False):
        body = client_for(cast.province_admin).get("/api/v1/devices/stats").json()
    assert (body["date_from"], body["date_to"]) == ("2026-11-18", "2026-11-24")
