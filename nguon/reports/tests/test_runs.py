"""The archive: a run goes queued → running → done with its files' SHA-256 and cut-off; failures keep nothing."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.files.storage import default_storage

from nguon.audit.models import AuditEvent
from nguon.reports import actions, exports, periods
from nguon.reports.models import ReportRun, ReportSchedule
from nguon.reports.runs import email_run, generate

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=HCM)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def request_run(cast, user=None, unit=None, formats=("xlsx",)):
    return actions.do_request_report_run(
        kind="ttcs",
        unit=unit or cast.province,
        period=periods.parse("month", "2026-11"),
        formats=list(formats),
        acting_user=user or cast.province_editor,
    )


def test_a_requested_run_is_queued_then_generated_with_its_sha256_and_cut_off(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        run = request_run(cast)
    assert run.state == ReportRun.State.QUEUED and run.files == {} and run.formats == ["xlsx"]
    assert len(queued) == 1  # the worker is asked only after commit
    with django_capture_on_commit_callbacks(execute=True):
        queued[0]()  # immediate mode: the task runs now
    run.refresh_from_db()
    assert run.state == ReportRun.State.DONE and run.progress == 100
    assert run.cutoff_at == NOW
    entry = run.files["xlsx"]
    with default_storage.open(entry["path"], "rb") as handle:
        stored = handle.read()
    assert hashlib.sha256(stored).hexdigest() == entry["sha256"] and len(stored) == entry["size"]
    assert entry["path"] == f"reports/{entry['sha256'][:2]}/{entry['sha256']}.xlsx"
    assert stored[:2] == b"PK"  # a real .xlsx (zip)
    done = AuditEvent.objects.get(action="reports.run_done")
    assert done.changes["files"] == {"xlsx": entry["sha256"]}
    # A run is claimed once: a second delivery of the task does nothing.
    assert generate(run.pk) is None


def test_progress_is_written_between_formats(cast, monkeypatch):
    seen = []
    real = exports.export

    def export(report, fmt):
        seen.append(ReportRun.objects.get().progress)
        return real(report, "xlsx") if fmt == "xlsx" else exports.Exported(b"%PDF-1.7 fake", "application/pdf", "r.pdf")

    monkeypatch.setattr(exports, "export", export)
    run = request_run(cast, formats=("xlsx", "pdf"))
    generate(run.pk)
    run.refresh_from_db()
    assert seen == [20, 57] and run.state == ReportRun.State.DONE and set(run.files) == {"xlsx", "pdf"}


def test_a_failing_export_leaves_the_run_failed_with_no_files(cast, monkeypatch):
    first = f"a file made just before the failure {uuid.uuid4()}".encode()

    def export(report, fmt):
        if fmt == "pdf":
            raise RuntimeError("renderer crashed")
        return exports.Exported(first, exports.CONTENT_TYPES[fmt], f"r.{fmt}")

    monkeypatch.setattr(exports, "export", export)
    run = request_run(cast, formats=("xlsx", "pdf"))
    generate(run.pk)
    run.refresh_from_db()
    assert run.state == ReportRun.State.FAILED and run.files == {} and "renderer crashed" in run.error
    # The .xlsx stored before the failure is not left behind.
    sha = hashlib.sha256(first).hexdigest()
    assert not default_storage.exists(f"reports/{sha[:2]}/{sha}.xlsx")
    assert AuditEvent.objects.filter(action="reports.run_failed").count() == 1


def test_a_scheduled_run_is_emailed_to_the_recipients_with_its_files(cast, django_capture_on_commit_callbacks):
    schedule = actions.do_save_schedule(
        None,
        data=actions.ScheduleData(
            kind="ttcs", unit=cast.province, period_kind="month", formats=["xlsx"],
            recipients=["so.vhtt@dongnai.gov.vn", "VP.UBND@dongnai.gov.vn"],
        ),
        acting_user=cast.approver,
    )  # fmt: skip
    run = actions.start_scheduled_run(
        schedule, periods.parse("month", "2026-11"), due_at=schedule.next_run_at, following=schedule.next_run_at
    )
    with django_capture_on_commit_callbacks(execute=True):
        generate(run.pk)
    run.refresh_from_db()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["so.vhtt@dongnai.gov.vn", "vp.ubnd@dongnai.gov.vn"]
    assert "tháng 11/2026" in message.subject and "Đồng Nai" in message.subject
    assert run.files["xlsx"]["sha256"] in message.body
    [(name, content, content_type)] = message.attachments
    assert name == "bao-cao-ttcs-75-2026-11.xlsx" and content_type == exports.CONTENT_TYPES["xlsx"]
    assert hashlib.sha256(content).hexdigest() == run.files["xlsx"]["sha256"]
    assert run.emailed_to == message.to
    assert email_run(run.pk) == [] and len(mail.outbox) == 1  # sent once


def test_unknown_formats_and_periods_are_refused(cast):
    from nguon.core.errors import Invalid

    with pytest.raises(Invalid) as caught:
        request_run(cast, formats=("exe",))
    assert caught.value.code == "invalid_format"
    with pytest.raises(Invalid):
        actions.do_request_report_run(
            kind="ttcs", unit=cast.province, period=periods.parse("range", "2026-01-01..2026-01-31"),
            formats=["xlsx"], acting_user=cast.province_editor,
        )  # fmt: skip
    assert not ReportRun.objects.exists() and not ReportSchedule.objects.exists()


# --- Through the pages --------------------------------------------------------------------------------------------


def post_run(client, unit_code="75", formats=("xlsx",), period="2026-11"):
    body = {"kind": "ttcs", "unit": unit_code, "period_kind": "month", "period": period, "formats": list(formats)}
    return client.post("/reports/archive/new/", body)


def test_the_archive_page_generates_a_run_and_shows_its_sha256_and_cut_off(
    cast, client_for, django_capture_on_commit_callbacks
):
    client = client_for(cast.province_editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = post_run(client)
    run = ReportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/archive/{run.pk}/"
    assert run.state == ReportRun.State.DONE and run.requested_by == cast.province_editor
    page = client.get(f"/reports/archive/{run.pk}/").content.decode()
    assert run.files["xlsx"]["sha256"] in page
    assert "09:30 ngày 03/12/2026" in page  # the cut-off in local time, as offices write it
    listing = client.get("/reports/archive/").content.decode()
    assert f"/reports/archive/{run.pk}/xlsx/" in listing and "every 2s" not in listing  # nothing left to refresh
    download = client.get(f"/reports/archive/{run.pk}/xlsx/")
    assert download.status_code == 200 and download["Content-Type"] == exports.CONTENT_TYPES["xlsx"]
    assert hashlib.sha256(download.content).hexdigest() == run.files["xlsx"]["sha256"]
    assert 'filename="bao-cao-ttcs-75-2026-11.xlsx"' in download["Content-Disposition"]


def test_a_running_report_shows_a_progress_bar_that_refreshes(cast, client_for):
    run = request_run(cast)  # queued: the on-commit callback that would start the worker never runs here
    ReportRun.objects.filter(pk=run.pk).update(state=ReportRun.State.RUNNING, progress=57)
    client = client_for(cast.province_editor)
    for url in ("/reports/archive/", f"/reports/archive/{run.pk}/"):
        page = client.get(url, headers={"HX-Request": "true"}).content.decode()
        assert 'hx-trigger="every' in page and 'value="57"' in page and "<progress" in page


def test_a_tampered_file_is_refused_at_download(cast, client_for):
    run = request_run(cast)
    generate(run.pk)
    run.refresh_from_db()
    path = default_storage.path(run.files["xlsx"]["path"])
    with open(path, "r+b") as handle:  # one byte changed on disk, as a careless or hostile hand would
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))
    try:
        response = client_for(cast.province_editor).get(f"/reports/archive/{run.pk}/xlsx/")
        assert response.status_code == 409 and b"PK" not in response.content[:2]
        assert "SHA-256" in response.content.decode()
    finally:
        default_storage.delete(run.files["xlsx"]["path"])  # the next test may make the same bytes


def test_a_commune_user_cannot_request_or_download_a_province_run(cast, client_for):
    run = request_run(cast)
    generate(run.pk)
    client = client_for(cast.commune_editor)
    assert post_run(client, "75").status_code == 404
    assert client.get(f"/reports/archive/{run.pk}/").status_code == 404
    assert client.get(f"/reports/archive/{run.pk}/xlsx/").status_code == 404
    assert client_for(cast.province_editor).get(f"/reports/archive/{run.pk}/pdf/").status_code == 404  # not made
    assert f"/reports/archive/{run.pk}/" not in client.get("/reports/archive/").content.decode()
    assert ReportRun.objects.count() == 1
    # Their own commune is theirs to generate.
    assert post_run(client, "26068").status_code == 302


def test_a_bad_period_is_shown_on_the_form(cast, client_for):
    response = post_run(client_for(cast.province_editor), period="2026-13")
    assert response.status_code == 400 and "2026-11" in response.content.decode()
    assert not ReportRun.objects.exists()


def test_the_report_page_has_the_generate_button(cast, client_for, django_capture_on_commit_callbacks):
    client = client_for(cast.province_editor)
    page = client.get("/reports/ttcs/?unit=75&period=month&value=2026-11").content.decode()
    assert 'action="/reports/archive/new/"' in page and 'name="period" value="2026-11"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/reports/archive/new/",
            {"kind": "ttcs", "unit": "75", "period_kind": "month", "period": "2026-11", "formats": ["xlsx", "docx"]},
        )
    run = ReportRun.objects.get()
    assert response.status_code == 302 and run.state == ReportRun.State.DONE and set(run.files) == {"xlsx", "docx"}


def test_a_run_whose_worker_stopped_is_failed_after_hours_not_left_running(cast):
    from datetime import timedelta

    from nguon.reports.runs import fail_interrupted

    run = request_run(cast)
    ReportRun.objects.filter(pk=run.pk).update(state=ReportRun.State.RUNNING, progress=20)
    assert fail_interrupted(NOW + timedelta(hours=1)) == 0
    assert fail_interrupted(NOW + timedelta(hours=7)) == 1
    run.refresh_from_db()
    assert run.state == ReportRun.State.FAILED and "gián đoạn" in run.error and run.files == {}
