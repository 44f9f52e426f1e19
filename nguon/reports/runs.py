"""Generating archived reports: build, export each format, store the files named by their SHA-256, e-mail them.

The worker calls `generate(run_id)` (see `run_tasks.py`). A run is claimed atomically (queued → running), so two
workers never both make it; its `files` are written only when every format is stored, so a run is either done
with all its files or failed with none (files stored before the failure are removed unless another run uses them).
The SHA-256 of every file is written to the run and to the audit chain, and checked again before each download.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from nguon.audit.actions import record_event
from nguon.core.errors import Conflict, NotFound
from nguon.reports import catalogue, exports
from nguon.reports.models import ReportRun, ReportSchedule
from nguon.reports.periods import Period

log = logging.getLogger(__name__)

# Scheduled reports run at this local time on the first day of the next period (after the night's inventory
# snapshot at 23:50 and the planning of the last day at 00:15).
RUN_AT = time(6, 0)
# Progress written to the run as it goes, so the archive page can show a bar: built, then each format stored.
BUILT = 20
STORED = 95
# A worker that was down for months makes at most this many missed runs of one schedule at once.
MAX_CATCH_UP = 24
MAX_ERROR = 2_000
# A run still "running" this long after it was asked for lost its worker (a report takes seconds to minutes).
STALLED_AFTER = timedelta(hours=6)


def storage_name(sha256: str, fmt: str) -> str:
    """Where a file is stored: named by its content, so the same bytes are stored once."""
    return f"reports/{sha256[:2]}/{sha256}.{fmt}"


def digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def period_of(run: ReportRun) -> Period:
    return Period(run.period_kind, run.first_day, run.last_day)


# --- Generation ---------------------------------------------------------------------------------------------------


def generate(run_id: int) -> ReportRun | None:
    """Make one queued run (called by the worker); None when another worker has it or it is not queued."""
    claimed = ReportRun.objects.filter(pk=run_id, state=ReportRun.State.QUEUED).update(
        state=ReportRun.State.RUNNING, progress=1, error=""
    )
    if not claimed:
        return None
    run = ReportRun.objects.select_related("unit", "schedule").get(pk=run_id)
    created: list[str] = []  # storage names this run wrote (removed again if it fails)
    try:
        # Files and e-mail read in the installation's language (Vietnamese), whoever asked.
        with translation.override(settings.LANGUAGE_CODE):
            cutoff = timezone.now()
            report = catalogue.build(run.kind, run.unit, period_of(run), cutoff=cutoff)
            _progress(run_id, BUILT)
            files = {}
            for index, fmt in enumerate(run.formats, start=1):
                exported = exports.export(report, fmt)
                files[fmt] = _store(exported.content, fmt, created)
                files[fmt]["filename"] = exported.filename
                files[fmt]["content_type"] = exported.content_type
                _progress(run_id, BUILT + (STORED - BUILT) * index // len(run.formats))
        with transaction.atomic():
            ReportRun.objects.filter(pk=run_id).update(
                state=ReportRun.State.DONE, progress=100, files=files, cutoff_at=cutoff, finished_at=timezone.now()
            )
            run.refresh_from_db()
            record_event(
                "reports.run_done",
                obj=run,
                unit=run.unit,
                object_repr=_run_repr(run),
                changes={"files": {fmt: f["sha256"] for fmt, f in files.items()}, "cutoff_at": cutoff},
            )
    except Exception as exc:
        log.exception("report run %s failed", run_id)
        _remove_unused(created, run_id)
        message = (str(exc) or exc.__class__.__name__)[:MAX_ERROR]
        with transaction.atomic():
            ReportRun.objects.filter(pk=run_id).update(
                state=ReportRun.State.FAILED, files={}, error=message, finished_at=timezone.now()
            )
            run.refresh_from_db()
            record_event(
                "reports.run_failed", obj=run, unit=run.unit, object_repr=_run_repr(run), changes={"error": message}
            )
        return run
    if run.schedule_id and run.schedule and run.schedule.recipients:
        transaction.on_commit(lambda: _enqueue_mail(run.pk))
    return run


def _progress(run_id: int, percent: int) -> None:
    ReportRun.objects.filter(pk=run_id, state=ReportRun.State.RUNNING).update(progress=percent)


def _store(content: bytes, fmt: str, created: list[str]) -> dict:
    sha256 = digest(content)
    name = storage_name(sha256, fmt)
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as handle:
            intact = digest(handle.read()) == sha256
        if intact:
            return {"path": name, "sha256": sha256, "size": len(content)}
        # A damaged copy under this content's name: replace it (the name is the content, so nothing else differs).
        default_storage.delete(name)
    saved = default_storage.save(name, ContentFile(content))
    if saved != name:  # a storage that renames instead of overwriting would break naming by content
        raise RuntimeError(f"storage renamed {name} to {saved}")
    created.append(name)
    return {"path": name, "sha256": sha256, "size": len(content)}


def _remove_unused(names: list[str], run_id: int) -> None:
    for name in names:
        # Two runs can make identical bytes; the other run's copy stays.
        if not ReportRun.objects.exclude(pk=run_id).filter(files__icontains=name).exists():
            default_storage.delete(name)


def _run_repr(run: ReportRun) -> str:
    return f"{run.kind} {run.unit.code} {period_of(run).value}"


# --- Downloads ----------------------------------------------------------------------------------------------------


def verified_file(run: ReportRun, fmt: str) -> tuple[bytes, dict]:
    """The stored bytes of one file of a done run, after checking them against the SHA-256 recorded at generation."""
    entry = (run.files or {}).get(fmt)
    if run.state != ReportRun.State.DONE or not entry:
        raise NotFound(_("This report has no file in that format."), code="no_file")
    try:
        with default_storage.open(entry["path"], "rb") as handle:
            content = handle.read()
    except FileNotFoundError:
        content = None
    if content is None or digest(content) != entry["sha256"]:
        log.error("report run %s: stored %s file %s does not match its SHA-256", run.pk, fmt, entry["path"])
        raise Conflict(
            _("The stored file no longer matches the SHA-256 recorded when it was made; it was not sent. "
              "Generate the report again and tell the system administrator."),
            code="file_altered",
        )  # fmt: skip
    return content, entry


# --- E-mail -------------------------------------------------------------------------------------------------------


def email_run(run_id: int) -> list[str]:
    """Send a done scheduled run's files to its schedule's recipients; return who it was sent to."""
    run = ReportRun.objects.select_related("unit", "schedule").filter(pk=run_id).first()
    if run is None or run.state != ReportRun.State.DONE or run.emailed_to or run.schedule is None:
        return []
    recipients = list(run.schedule.recipients)
    if not recipients:
        return []
    with translation.override(settings.LANGUAGE_CODE):
        message = _message(run, recipients)
        for fmt in run.formats:
            content, entry = verified_file(run, fmt)
            message.attach(
                entry.get("filename") or entry["path"].rsplit("/", 1)[-1], content, entry.get("content_type")
            )
    message.send()
    ReportRun.objects.filter(pk=run_id).update(emailed_to=recipients)
    return recipients


def _message(run: ReportRun, recipients: list[str]) -> EmailMessage:
    title = catalogue.get_type(run.kind).title()
    period = period_of(run)
    subject = _("%(report)s, %(unit)s, %(period)s") % {"report": title, "unit": run.unit.name, "period": period.label}
    lines = [
        _("Dear colleagues,"),
        "",
        _("Attached is the %(report)s of %(unit)s for %(period)s, generated automatically by Nguồn.")
        % {"report": title, "unit": run.unit.name, "period": period.label},
        _("Figures up to: %(at)s.") % {"at": local_text(run.cutoff_at)},
        "",
        _("SHA-256 of the files (to check that they were not altered):"),
    ]
    for fmt in run.formats:
        entry = run.files[fmt]
        lines.append(f"  {entry.get('filename', fmt)}: {entry['sha256']}")
    lines += ["", _("This message was sent by a schedule; do not reply to it."), "", "Nguồn"]
    return EmailMessage(subject=subject, body="\n".join(lines), to=recipients)


def local_text(moment: datetime | None) -> str:
    """A moment as Vietnamese offices write it: 14:05 ngày 03/12/2026 (local time)."""
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(settings.TIME_ZONE))
    return _("%(time)s on %(date)s") % {"time": f"{local:%H:%M}", "date": f"{local:%d/%m/%Y}"}


def _enqueue_mail(run_id: int) -> None:
    from nguon.reports.run_tasks import email_report_run

    email_report_run(run_id)


# --- Schedules ----------------------------------------------------------------------------------------------------


def next_start(kind: str, after: date) -> date:
    """The first day of the next month, quarter or year after `after`'s."""
    if kind == "month":
        step = 1
    elif kind == "quarter":
        step = 3 - (after.month - 1) % 3
    else:
        step = 13 - after.month
    months = after.year * 12 + after.month - 1 + step
    return date(months // 12, months % 12 + 1, 1)


def next_run_at(kind: str, now: datetime | None = None) -> datetime:
    """When a schedule of this kind next runs: RUN_AT local time on the first day of the next period."""
    zone = ZoneInfo(settings.TIME_ZONE)
    local = (now or timezone.now()).astimezone(zone)
    start = local.date().replace(day=1)
    if kind == "quarter":
        start = start.replace(month=(start.month - 1) // 3 * 3 + 1)
    elif kind == "year":
        start = start.replace(month=1)
    at = datetime.combine(start, RUN_AT, tzinfo=zone)
    if at <= local:
        at = datetime.combine(next_start(kind, start), RUN_AT, tzinfo=zone)
    return at


def fail_interrupted(now: datetime | None = None) -> int:
    """Mark runs failed that have been "running" far longer than any report takes: their worker stopped mid-way
    (the queue hands a task out once), so nothing would ever finish them. Their files were never recorded."""
    stale = (now or timezone.now()) - STALLED_AFTER
    interrupted = list(
        ReportRun.objects.filter(state=ReportRun.State.RUNNING, created_at__lt=stale).select_related("unit")
    )
    with translation.override(settings.LANGUAGE_CODE):
        message = _("Interrupted: the worker stopped while generating the report. Generate it again.")
    for run in interrupted:
        with transaction.atomic():
            if not ReportRun.objects.filter(pk=run.pk, state=ReportRun.State.RUNNING).update(
                state=ReportRun.State.FAILED, files={}, error=message, finished_at=timezone.now()
            ):
                continue
            record_event(
                "reports.run_failed", obj=run, unit=run.unit, object_repr=_run_repr(run), changes={"error": message}
            )
    return len(interrupted)


def start_due_schedules(now: datetime | None = None) -> list[ReportRun]:
    """Queue a run of every active schedule that is due, one per missed period; move each to its next time."""
    from nguon.reports import actions
    from nguon.reports.periods import previous

    now = now or timezone.now()
    zone = ZoneInfo(settings.TIME_ZONE)
    started = []
    due = ReportSchedule.objects.filter(is_active=True, next_run_at__lte=now).select_related("unit")
    for schedule in due.order_by("next_run_at", "pk"):
        for _step in range(MAX_CATCH_UP):
            schedule.refresh_from_db(fields=["next_run_at", "is_active"])
            due_at = schedule.next_run_at
            if not schedule.is_active or due_at is None or due_at > now:
                break
            day = due_at.astimezone(zone).date()
            following = datetime.combine(next_start(schedule.period_kind, day), RUN_AT, tzinfo=zone)
            run = actions.start_scheduled_run(
                schedule, previous(schedule.period_kind, day), due_at=due_at, following=following
            )
            if run is not None:
                started.append(run)
    return started
