"""Report runs and schedules: each change is an action that owns its transaction and its audit row.

A run is queued here and made by the worker (`nguon.reports.runs.generate`), after commit, so a rolled-back request
never starts one. Schedules queue one run per period (a unique constraint and a claim on `next_run_at` make sure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.audit.actions import record_event
from nguon.core.errors import Invalid
from nguon.reports import catalogue, runs
from nguon.reports.exports import FORMATS
from nguon.reports.models import ReportRun, ReportSchedule
from nguon.reports.periods import Period
from nguon.units.models import Unit

SCHEDULE_PERIODS = ("month", "quarter", "year")
MAX_RECIPIENTS = 20


def clean_formats(formats) -> list[str]:
    """The formats asked for, in the catalogue's order; Invalid when none or an unknown one."""
    chosen = [fmt for fmt in FORMATS if fmt in set(formats or ())]
    unknown = sorted(set(formats or ()) - set(FORMATS))
    if unknown or not chosen:
        message = _("Choose one or more formats: %(formats)s.") % {"formats": ", ".join(FORMATS)}
        raise Invalid(message, fields={"formats": [message]}, code="invalid_format")
    return chosen


def _queue(run_id: int) -> None:
    from nguon.reports.run_tasks import generate_report_run

    generate_report_run(run_id)


def do_request_report_run(*, kind: str, unit: Unit, period: Period, formats, acting_user) -> ReportRun:
    """Queue a report for a unit the user may see, in the formats asked for; the worker makes the files."""
    require(acting_user, Capability.VIEW, unit)
    report_type = catalogue.get_type(kind)
    formats = clean_formats(formats)
    if period.kind not in report_type.periods:
        message = _("This report is not made for that kind of period.")
        raise Invalid(message, fields={"period": [message]}, code="invalid_period")
    with transaction.atomic():
        run = ReportRun.objects.create(
            kind=kind,
            unit=unit,
            period_kind=period.kind,
            first_day=period.first,
            last_day=period.last,
            formats=formats,
            requested_by=acting_user,
        )
        record_event(
            "reports.run_requested",
            actor=acting_user,
            obj=run,
            unit=unit,
            object_repr=f"{kind} {unit.code} {period.value}",
            changes={"report": kind, "period": period.value, "formats": formats},
        )
        transaction.on_commit(lambda: _queue(run.pk))
    return run


def start_scheduled_run(
    schedule: ReportSchedule, period: Period, *, due_at: datetime, following: datetime
) -> ReportRun | None:
    """Queue a schedule's run for `period` and move the schedule on (None when nothing new was queued).

    The schedule is claimed by its `next_run_at`: of two workers that saw it due, only one moves it; a run already
    made for the period (the unique constraint) is not made again.
    """
    with transaction.atomic():
        moved = ReportSchedule.objects.filter(pk=schedule.pk, is_active=True, next_run_at=due_at).update(
            next_run_at=following
        )
        if (
            not moved
            or ReportRun.objects.filter(schedule=schedule, first_day=period.first, last_day=period.last).exists()
        ):
            return None
        try:
            with transaction.atomic():
                run = ReportRun.objects.create(
                    kind=schedule.kind,
                    unit=schedule.unit,
                    period_kind=period.kind,
                    first_day=period.first,
                    last_day=period.last,
                    formats=list(schedule.formats),
                    schedule=schedule,
                )
        except IntegrityError:  # made by another worker meanwhile
            return None
        record_event(
            "reports.run_scheduled",
            obj=run,
            unit=schedule.unit,
            object_repr=f"{schedule.kind} {schedule.unit.code} {period.value}",
            changes={"report": schedule.kind, "period": period.value, "formats": run.formats},
        )
        transaction.on_commit(lambda: _queue(run.pk))
    return run


@dataclass
class ScheduleData:
    """What a user submits for a schedule; checked by `clean_schedule_data`."""

    kind: str
    unit: Unit | None
    period_kind: str
    formats: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    is_active: bool = True


def clean_schedule_data(data: ScheduleData) -> ScheduleData:
    """Check every field; raise Invalid with every problem at once."""
    errors: dict[str, list] = {}
    try:
        report_type = catalogue.get_type(data.kind)
    except Exception:
        report_type = None
        errors["kind"] = [_("Choose a report from the list.")]
    if data.unit is None:
        errors["unit"] = [_("Choose the unit the report is about.")]
    if data.period_kind not in SCHEDULE_PERIODS or (report_type and data.period_kind not in report_type.periods):
        errors["period_kind"] = [_("This report cannot be made for that kind of period.")]
    try:
        data.formats = clean_formats(data.formats)
    except Invalid as exc:
        errors.update(exc.fields)
    recipients: list[str] = []
    bad = []
    for address in data.recipients:
        address = address.strip().lower()
        if not address or address in recipients:
            continue
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
        recipients.append(address)
    if bad:
        errors["recipients"] = [_("These are not e-mail addresses: %(list)s.") % {"list": ", ".join(bad)}]
    elif len(recipients) > MAX_RECIPIENTS:
        errors["recipients"] = [_("At most %(n)d recipients.") % {"n": MAX_RECIPIENTS}]
    data.recipients = recipients
    if errors:
        raise Invalid(_("The schedule has errors; nothing was saved."), fields=errors)
    return data


def _schedule_fields(schedule: ReportSchedule) -> dict:
    return {
        "report": schedule.kind,
        "unit": schedule.unit.code,
        "period_kind": schedule.period_kind,
        "formats": list(schedule.formats),
        "recipients": list(schedule.recipients),
        "is_active": schedule.is_active,
    }


def do_save_schedule(schedule: ReportSchedule | None, *, data: ScheduleData, acting_user) -> ReportSchedule:
    """Create a schedule, or change one; its next run is the start of the next period of its kind."""
    if schedule is not None:
        require(acting_user, Capability.SCHEDULE_REPORTS, schedule.unit)
    data = clean_schedule_data(data)
    require(acting_user, Capability.SCHEDULE_REPORTS, data.unit)
    with transaction.atomic():
        if schedule is None:
            schedule = ReportSchedule(created_by=acting_user)
            before = {}
        else:
            schedule = ReportSchedule.objects.select_for_update().select_related("unit").get(pk=schedule.pk)
            before = _schedule_fields(schedule)
        timing_changed = schedule.period_kind != data.period_kind or (data.is_active and not schedule.is_active)
        schedule.kind, schedule.unit, schedule.period_kind = data.kind, data.unit, data.period_kind
        schedule.formats, schedule.recipients, schedule.is_active = data.formats, data.recipients, data.is_active
        if schedule.next_run_at is None or timing_changed:
            schedule.next_run_at = runs.next_run_at(data.period_kind)
        schedule.save()
        after = _schedule_fields(schedule)
        if before:
            # The new values of what changed (the old ones are in the row that set them).
            changes = {k: v for k, v in after.items() if before[k] != v}
            record_event(
                "reports.schedule_changed", actor=acting_user, obj=schedule, unit=schedule.unit, changes=changes
            )
        else:
            record_event("reports.schedule_created", actor=acting_user, obj=schedule, unit=schedule.unit, changes=after)
    return schedule


def do_delete_schedule(schedule: ReportSchedule, *, acting_user) -> None:
    """Delete a schedule; the reports it made stay in the archive."""
    require(acting_user, Capability.SCHEDULE_REPORTS, schedule.unit)
    with transaction.atomic():
        record_event(
            "reports.schedule_deleted",
            actor=acting_user,
            obj=schedule,
            unit=schedule.unit,
            changes=_schedule_fields(schedule),
        )
        schedule.delete()
