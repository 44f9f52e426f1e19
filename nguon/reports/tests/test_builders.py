"""The catalogue's reports: figures from hand-made roll-up rows and from real devices, bulletins, alerts, feedback."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from django.utils import timezone, translation

from nguon.alerts import actions as alert_actions
from nguon.alerts.models import AlertDispatch, DispatchState
from nguon.alerts.tests.helpers import device_at, make_alert
from nguon.broadcast.tests.device_helpers import make_device
from nguon.content.models import Category
from nguon.feedback.tests.helpers import street_lights
from nguon.feedback.tests.test_figures import at, handled, submit
from nguon.reports import catalogue, periods
from nguon.reports.models import ContentMonth, DeviceDay, UnitDay

pytestmark = pytest.mark.django_db

NOVEMBER = periods.parse("month", "2026-11", today=date(2026, 12, 3))
CUTOFF = timezone.make_aware(datetime(2026, 12, 1, 9, 0))


def build(*args, **kwargs):
    """A report in English, so labels can be compared whatever the translations say."""
    with translation.override("en"):
        return catalogue.build(*args, **kwargs)


def rows_by(section, key="code"):
    return {row[key]: row for row in section.rows}


def test_availability_per_area_and_device(cast):
    on = make_device(cast, "BH-1")
    off = make_device(cast, "BH-2")
    type(on).objects.filter(pk=on.pk).update(is_online=True)
    minutes = NOVEMBER.days * 1440
    DeviceDay.objects.create(device=on, unit=cast.commune, day=date(2026, 11, 3), online_minutes=minutes // 2, faults=1)
    DeviceDay.objects.create(device=off, unit=cast.commune, day=date(2026, 11, 4), online_minutes=600, faults=2)
    UnitDay.objects.create(unit=cast.commune, day=date(2026, 11, 3), online_minutes=minutes // 2, faults=1)
    UnitDay.objects.create(unit=cast.commune, day=date(2026, 11, 4), online_minutes=600, faults=2)
    UnitDay.objects.create(unit=cast.commune, day=date(2026, 10, 31), online_minutes=999, faults=9)  # not November

    report = build("availability", cast.province, NOVEMBER, cutoff=CUTOFF)
    areas, devices = report.sections
    mine = rows_by(areas)[cast.commune.code]
    assert (mine["devices"], mine["faults"], mine["offline_now"]) == (2, 3, 1)
    assert mine["online_share"] == round((minutes // 2 + 600) / (2 * minutes), 4)
    assert mine["online_hours"] == round((minutes // 2 + 600) / 60, 1)
    assert rows_by(areas)[cast.other_commune.code]["devices"] == 0
    assert (areas.total["devices"], areas.total["faults"], areas.total["offline_now"]) == (2, 3, 1)
    by_device = rows_by(devices, "device_code")
    assert by_device["BH-1"]["online_share"] == 0.5
    assert (by_device["BH-1"]["state"], by_device["BH-2"]["faults"]) == ("Online", 2)
    assert report.summary[0][1] == "2"


def test_proof_of_play_per_commune_and_device(cast):
    device = make_device(cast, "BH-1")
    day = date(2026, 11, 10)
    figures = {"planned_items": 40, "planned_seconds": 7200, "played_items": 30, "played_seconds": 5400,
               "partial_items": 4, "failed_items": 2, "skipped_items": 4}  # fmt: skip
    DeviceDay.objects.create(device=device, unit=cast.commune, day=day, **figures)
    UnitDay.objects.create(unit=cast.commune, day=day, **figures)
    UnitDay.objects.create(unit=cast.other_commune, day=day, planned_items=10, planned_seconds=600)

    report = build("proof_of_play", cast.province, NOVEMBER, cutoff=CUTOFF)
    communes, devices = report.sections
    mine = rows_by(communes)[cast.commune.code]
    assert (mine["planned_items"], mine["played_items"], mine["failed_items"]) == (40, 30, 2)
    assert (mine["planned_minutes"], mine["played_minutes"], mine["played_share"]) == (120, 90, 0.75)
    other = rows_by(communes)[cast.other_commune.code]
    assert (other["planned_items"], other["played_items"], other["played_share"]) == (10, 0, 0.0)
    assert communes.total["played_share"] == round(30 / 50, 4)
    assert communes.total["planned_minutes"] == 130
    assert rows_by(devices, "device_code")["BH-1"]["played_share"] == 0.75
    # A commune sees only itself.
    own = build("proof_of_play", cast.commune, NOVEMBER, cutoff=CUTOFF)
    assert [row["code"] for row in own.sections[0].rows] == [cast.commune.code]


def test_alert_delivery_counts_the_subtrees_devices_per_alert(cast):
    mine = [device_at(cast, f"S{i}") for i in range(3)]
    theirs = device_at(cast, "T1", unit=cast.other_commune)
    alert = make_alert(cast, area_units=[cast.commune, cast.other_commune])
    alert_actions.do_approve(alert, acting_user=cast.approver)
    AlertDispatch.objects.filter(alert=alert, device=mine[0]).update(state=DispatchState.PLAYED)
    AlertDispatch.objects.filter(alert=alert, device=mine[1]).update(state=DispatchState.ACKNOWLEDGED)
    AlertDispatch.objects.filter(alert=alert, device=theirs).update(state=DispatchState.FAILED)
    today = timezone.localdate()
    UnitDay.objects.create(unit=cast.commune, day=today, alerts_acknowledged=2, alerts_played=1)
    period = periods.current("month", today)

    report = build("alert_delivery", cast.province, period)
    alerts, areas = report.sections
    (row,) = alerts.rows
    assert row["headline"] == alert.headline
    assert (row["targeted"], row["acknowledged"], row["played"], row["failed"], row["pending"]) == (4, 2, 1, 1, 1)
    assert row["delivered_share"] == 0.5
    assert rows_by(areas)[cast.commune.code]["alerts_acknowledged"] == 2
    assert areas.total["alerts_played"] == 1
    # The commune's report counts its own devices only.
    (own,) = build("alert_delivery", cast.commune, period).sections[0].rows
    assert (own["targeted"], own["acknowledged"], own["failed"]) == (3, 2, 0)
    # Outside the period: nothing.
    assert build("alert_delivery", cast.province, NOVEMBER).sections[0].rows == []


def test_content_production_by_unit_category_author_class_and_level(cast):
    news = Category.objects.create(slug="tin-tuc", name="Tin tức")
    month = date(2026, 11, 1)
    rows = [
        (cast.commune, "normal", news, "commune", cast.commune_editor, 5),
        (cast.commune, "emergency", None, "commune", cast.commune_editor, 1),
        (cast.province, "priority", news, "province", cast.province_editor, 3),
        (cast.other_commune, "normal", news, "central", None, 2),
    ]
    for unit, priority, category, level, author, n in rows:
        ContentMonth.objects.create(unit=unit, month=month, priority=priority, category=category,
                                    source_level=level, author=author, bulletins=n)  # fmt: skip
    ContentMonth.objects.create(unit=cast.commune, month=date(2026, 10, 1), priority="normal", source_level="commune",
                                bulletins=50)  # fmt: skip

    report = build("production", cast.province, NOVEMBER, cutoff=CUTOFF)
    units, categories, authors, classes, levels = report.sections
    by_unit = rows_by(units)
    assert (by_unit[cast.commune.code]["bulletins"], by_unit[cast.commune.code]["bulletins_emergency"]) == (6, 1)
    assert by_unit[cast.province.code]["bulletins_priority"] == 3  # the province's own row
    assert units.total["bulletins"] == 11
    assert {r["label"]: r["bulletins"] for r in categories.rows} == {"Tin tức": 10, "No category": 1}
    assert {r["label"]: r["bulletins"] for r in authors.rows} == {
        str(cast.commune_editor): 6,
        str(cast.province_editor): 3,
        "Unknown author": 2,
    }
    assert [r["bulletins"] for r in classes.rows] == [7, 3, 1]
    assert {r["label"]: r["share"] for r in levels.rows}["Commune"] == round(6 / 11, 4)
    assert categories.total["bulletins"] == 11
    # A commune's report: its own bulletins only.
    own = build("production", cast.commune, NOVEMBER, cutoff=CUTOFF)
    assert own.sections[0].total["bulletins"] == 6


def test_feedback_handling_per_area_and_topic(cast):
    editor = cast.commune_editor
    handled(cast, editor, received=at(2), answered=at(3), rating=5)
    handled(cast, editor, received=at(2), answered=at(20), rating=2)
    handled(cast, editor, received=at(5))  # still open, past its deadline on 1 December
    submit(cast, now=at(6))  # received, never accepted: overdue too once its deadline passed
    report = build("feedback", cast.province, NOVEMBER, cutoff=CUTOFF)
    areas, topics = report.sections
    mine = rows_by(areas)[cast.commune.code]
    assert (mine["received"], mine["answered"], mine["on_time"]) == (4, 2, 1)
    assert mine["on_time_share"] == 0.5
    assert mine["average_days"] == round((1 + 18) / 2, 1)
    assert mine["satisfaction"] == 3.5
    assert mine["overdue"] >= 1
    assert rows_by(areas)[cast.other_commune.code]["received"] == 0
    (lights,) = topics.rows
    assert (lights["topic_code"], lights["received"]) == (street_lights().code, 4)
    assert areas.total["received"] == topics.total["received"] == 4
    # The other commune's report has none of it.
    other = build("feedback", cast.other_commune, NOVEMBER, cutoff=CUTOFF)
    assert other.sections[0].total["received"] == 0
