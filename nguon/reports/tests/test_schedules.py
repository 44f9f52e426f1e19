"""Schedules: one run per period however often the due task runs, the next time moved on, pages by capability."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from nguon.audit.models import AuditEvent
from nguon.reports import actions
from nguon.reports.models import ReportRun, ReportSchedule
from nguon.reports.run_tasks import start_due_report_schedules
from nguon.reports.runs import next_run_at

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def at(*args) -> datetime:
    return datetime(*args, tzinfo=HCM)


def schedule(cast, period_kind="month", **kwargs):
    data = actions.ScheduleData(
        kind="ttcs", unit=cast.province, period_kind=period_kind, formats=["xlsx"], recipients=["vp@dongnai.gov.vn"]
    )
    for name, value in kwargs.items():
        setattr(data, name, value)
    return actions.do_save_schedule(None, data=data, acting_user=cast.approver)


@pytest.mark.parametrize(
    ("kind", "now", "expected"),
    [
        ("month", at(2026, 11, 15, 10), at(2026, 12, 1, 6)),
        ("month", at(2026, 12, 1, 5, 59), at(2026, 12, 1, 6)),
        ("month", at(2026, 12, 1, 6), at(2027, 1, 1, 6)),
        ("quarter", at(2026, 11, 15), at(2027, 1, 1, 6)),
        ("quarter", at(2026, 2, 3), at(2026, 4, 1, 6)),
        ("year", at(2026, 11, 15), at(2027, 1, 1, 6)),
    ],
)
def test_a_schedule_runs_at_six_on_the_first_day_of_the_next_period(kind, now, expected):
    assert next_run_at(kind, now) == expected


def test_the_due_task_makes_exactly_one_run_per_period_even_when_run_twice(cast, django_capture_on_commit_callbacks):
    with time_machine.travel(at(2026, 11, 15, 10), tick=False):
        monthly, quarterly, yearly = schedule(cast), schedule(cast, "quarter"), schedule(cast, "year")
    with time_machine.travel(at(2026, 12, 1, 5, 50), tick=False):
        assert start_due_report_schedules.call_local() == 0  # not yet
    with time_machine.travel(at(2026, 12, 1, 6, 15), tick=False), django_capture_on_commit_callbacks(execute=True):
        assert start_due_report_schedules.call_local() == 1
        assert start_due_report_schedules.call_local() == 0
    run = ReportRun.objects.get()
    assert (run.schedule, run.period_kind, run.first_day, run.last_day) == (
        monthly,
        "month",
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert run.state == ReportRun.State.DONE and run.emailed_to == ["vp@dongnai.gov.vn"]
    monthly.refresh_from_db()
    assert monthly.next_run_at == at(2027, 1, 1, 6)
    # The new year: December, the fourth quarter and the year 2026, once each.
    with time_machine.travel(at(2027, 1, 1, 6, 0), tick=False):
        assert start_due_report_schedules.call_local() == 3
        assert start_due_report_schedules.call_local() == 0
    made = {(r.schedule_id, r.first_day, r.last_day) for r in ReportRun.objects.all()}
    assert made == {
        (monthly.pk, date(2026, 11, 1), date(2026, 11, 30)),
        (monthly.pk, date(2026, 12, 1), date(2026, 12, 31)),
        (quarterly.pk, date(2026, 10, 1), date(2026, 12, 31)),
        (yearly.pk, date(2026, 1, 1), date(2026, 12, 31)),
    }
    assert AuditEvent.objects.filter(action="reports.run_scheduled").count() == 4


def test_a_worker_down_for_months_makes_each_missed_period_once(cast):
    with time_machine.travel(at(2026, 10, 20), tick=False):
        schedule(cast)
    with time_machine.travel(at(2027, 1, 10), tick=False):
        assert start_due_report_schedules.call_local() == 3
        assert start_due_report_schedules.call_local() == 0
    firsts = sorted(r.first_day for r in ReportRun.objects.all())
    assert firsts == [date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]
    assert ReportSchedule.objects.get().next_run_at == at(2027, 2, 1, 6)


def test_a_paused_schedule_makes_nothing(cast):
    with time_machine.travel(at(2026, 11, 15), tick=False):
        paused = schedule(cast, is_active=False)
    with time_machine.travel(at(2026, 12, 2), tick=False):
        assert start_due_report_schedules.call_local() == 0
        # Made active again: the next period start, not the missed one.
        actions.do_save_schedule(
            paused,
            data=actions.ScheduleData("ttcs", cast.province, "month", ["xlsx"], [], is_active=True),
            acting_user=cast.approver,
        )
    assert ReportSchedule.objects.get().next_run_at == at(2027, 1, 1, 6)


def test_bad_schedules_are_refused_with_every_problem(cast):
    from nguon.core.errors import Invalid

    with pytest.raises(Invalid) as caught:
        actions.do_save_schedule(
            None,
            data=actions.ScheduleData("ttcs", cast.province, "range", ["exe"], ["not-an-address", "ok@example.org"]),
            acting_user=cast.approver,
        )
    assert set(caught.value.fields) == {"period_kind", "formats", "recipients"}
    assert not ReportSchedule.objects.exists()


# --- Pages --------------------------------------------------------------------------------------------------------


def form(unit, **extra):
    return {
        "kind": "ttcs", "unit": unit.pk, "period_kind": "quarter", "formats": ["xlsx", "pdf"],
        "recipients": "so.vhtt@dongnai.gov.vn, VP@dongnai.gov.vn\nvp@dongnai.gov.vn", "is_active": "on", **extra,
    }  # fmt: skip


def test_an_approver_creates_changes_and_deletes_a_schedule(cast, client_for):
    with time_machine.travel(at(2026, 11, 15, 10), tick=False):
        client = client_for(cast.approver)
        assert client.get("/reports/schedules/new/").status_code == 200
        response = client.post("/reports/schedules/new/", form(cast.province))
        assert response.status_code == 302
        saved = ReportSchedule.objects.get()
        assert saved.recipients == ["so.vhtt@dongnai.gov.vn", "vp@dongnai.gov.vn"]
        assert saved.formats == ["xlsx", "pdf"] and saved.next_run_at == at(2027, 1, 1, 6)
        listing = client.get("/reports/schedules/").content.decode()
        assert "so.vhtt@dongnai.gov.vn" in listing and "06:00 ngày 01/01/2027" in listing
        response = client.post(f"/reports/schedules/{saved.pk}/", form(cast.province, period_kind="month"))
        assert response.status_code == 302
        saved.refresh_from_db()
        assert saved.period_kind == "month" and saved.next_run_at == at(2026, 12, 1, 6)
        changed = AuditEvent.objects.get(action="reports.schedule_changed")
        assert changed.changes == {"period_kind": "month"}
        assert client.post(f"/reports/schedules/{saved.pk}/delete/").status_code == 302
    assert not ReportSchedule.objects.exists()
    assert AuditEvent.objects.filter(action="reports.schedule_deleted").count() == 1


def test_schedules_belong_to_administrators_and_approvers_of_their_units(cast, client_for):
    province_schedule = schedule(cast)
    editor = client_for(cast.commune_editor)
    assert editor.get("/reports/schedules/").status_code == 403
    assert editor.get("/reports/schedules/new/").status_code == 403
    commune_admin = client_for(cast.commune_admin)
    assert "Đồng Nai" not in commune_admin.get("/reports/schedules/").content.decode()
    assert commune_admin.get(f"/reports/schedules/{province_schedule.pk}/").status_code == 404
    assert commune_admin.post(f"/reports/schedules/{province_schedule.pk}/delete/").status_code == 404
    # The province is not among the units they may choose.
    response = commune_admin.post("/reports/schedules/new/", form(cast.province))
    assert response.status_code == 400 and ReportSchedule.objects.count() == 1
    assert commune_admin.post("/reports/schedules/new/", form(cast.commune)).status_code == 302
