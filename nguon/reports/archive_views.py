"""The report archive (generated reports with their SHA-256, checked again at download) and the schedules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import get_unit_for_user, grant_paths, scope_to_user
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.core.errors import DomainError, Forbidden, NotFound
from nguon.reports import actions, catalogue, periods, runs
from nguon.reports.archive_forms import RunForm, ScheduleForm
from nguon.reports.models import ReportRun, ReportSchedule

PAGE_SIZE = 30
LIVE = (ReportRun.State.QUEUED, ReportRun.State.RUNNING)


def runs_for_user(user):
    return scope_to_user(ReportRun.objects.select_related("unit", "requested_by", "schedule"), user)


def get_run_for_user(user, pk: int) -> ReportRun:
    """The run, or 404 when it does not exist or its unit is outside the user's units."""
    run = runs_for_user(user).filter(pk=pk).first()
    if run is None:
        raise NotFound()
    return run


def get_schedule_for_user(user, pk: int) -> ReportSchedule:
    schedule = (
        scope_to_user(ReportSchedule.objects.select_related("unit"), user, Capability.SCHEDULE_REPORTS)
        .filter(pk=pk)
        .first()
    )
    if schedule is None:
        raise NotFound()
    return schedule


def _titles() -> dict[str, str]:
    return {t.key: t.title() for t in catalogue.types()}


def _decorate(items, titles):
    for run in items:
        run.title = titles.get(run.kind, run.kind)
        run.period_label = runs.period_of(run).label
        run.cutoff_text = runs.local_text(run.cutoff_at)
    return items


def _archive_page(request, form, status=200):
    queryset = runs_for_user(request.user)
    if request.GET.get("unit"):
        queryset = queryset.filter(unit__code=request.GET["unit"])
    if request.GET.get("kind"):
        queryset = queryset.filter(kind=request.GET["kind"])
    page = Paginator(queryset.order_by("-created_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    _decorate(page.object_list, _titles())
    context = {
        "page": page,
        "live": any(run.state in LIVE for run in page.object_list),
        "query": request.GET.urlencode(),
        "form": form,
        "may_schedule": bool(grant_paths(request.user, Capability.SCHEDULE_REPORTS)),
    }
    template = "reports/archive_rows.html" if request.htmx and form is None else "reports/archive.html"
    return render(request, template, context, status=status)


@login_required
def archive(request):
    if request.htmx:
        return _archive_page(request, None)
    initial = {"period_kind": "month", "period": periods.previous("month").value}
    return _archive_page(request, RunForm(initial=initial, user=request.user))


@login_required
@require_POST
def run_create(request):
    """The "generate this report" button (on a report's page and on the archive page)."""
    unit = get_unit_for_user(request.user, request.POST.get("unit", ""))  # 404 outside the user's units
    form = RunForm(request.POST, user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            period = periods.parse(data["period_kind"], data["period"])
            run = actions.do_request_report_run(
                kind=data["kind"], unit=unit, period=period, formats=data["formats"], acting_user=request.user
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The report is being generated; this page shows its progress."))
            return redirect("reports:run", run.pk)
    return _archive_page(request, form, status=400)


@login_required
def run_detail(request, pk: int):
    run = get_run_for_user(request.user, pk)
    _decorate([run], _titles())
    files = [{"fmt": fmt, **entry} for fmt, entry in (run.files or {}).items()]
    context = {"run": run, "files": files, "live": run.state in LIVE}
    if request.htmx:
        return render(request, "reports/archive_run_state.html", context)
    return render(request, "reports/archive_run.html", context)


@login_required
def run_file(request, pk: int, fmt: str):
    """Send a stored file after checking it still has the SHA-256 recorded when it was made (409 otherwise)."""
    run = get_run_for_user(request.user, pk)
    content, entry = runs.verified_file(run, fmt)
    response = HttpResponse(content, content_type=entry.get("content_type") or "application/octet-stream")
    name = entry.get("filename") or entry["path"].rsplit("/", 1)[-1]
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Digest"] = f"sha-256={entry['sha256']}"
    return response


# --- Schedules ----------------------------------------------------------------------------------------------------


def _require_scheduler(user) -> None:
    if not grant_paths(user, Capability.SCHEDULE_REPORTS):
        raise Forbidden(_("Only administrators and approvers schedule reports."))


@login_required
def schedule_list(request):
    _require_scheduler(request.user)
    schedules = list(
        scope_to_user(
            ReportSchedule.objects.select_related("unit"), request.user, Capability.SCHEDULE_REPORTS
        ).order_by("unit__path", "kind", "period_kind", "pk")
    )
    titles = _titles()
    for schedule in schedules:
        schedule.title = titles.get(schedule.kind, schedule.kind)
        schedule.next_text = runs.local_text(schedule.next_run_at) if schedule.is_active else ""
    return render(request, "reports/schedule_list.html", {"schedules": schedules})


def _schedule_data(form) -> actions.ScheduleData:
    data = form.cleaned_data
    return actions.ScheduleData(
        kind=data["kind"], unit=data["unit"], period_kind=data["period_kind"], formats=data["formats"],
        recipients=data["recipients"], is_active=data["is_active"],
    )  # fmt: skip


def _schedule_form_page(request, schedule):
    if schedule is None:
        _require_scheduler(request.user)
        initial = {"period_kind": "month", "is_active": True}
    else:
        initial = {
            "kind": schedule.kind, "unit": schedule.unit, "period_kind": schedule.period_kind,
            "formats": schedule.formats, "recipients": "\n".join(schedule.recipients), "is_active": schedule.is_active,
        }  # fmt: skip
    form = ScheduleForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = actions.do_save_schedule(schedule, data=_schedule_data(form), acting_user=request.user)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(
                request,
                _("Saved. The next report is made %(at)s.") % {"at": runs.local_text(saved.next_run_at)}
                if saved.is_active
                else _("Saved. The schedule is paused."),
            )
            return redirect("reports:schedules")
    status = 400 if request.method == "POST" else 200
    return render(request, "reports/schedule_form.html", {"form": form, "schedule": schedule}, status=status)


@login_required
def schedule_create(request):
    return _schedule_form_page(request, None)


@login_required
def schedule_edit(request, pk: int):
    schedule = get_schedule_for_user(request.user, pk)
    return _schedule_form_page(request, schedule)


@login_required
@require_POST
def schedule_delete(request, pk: int):
    schedule = get_schedule_for_user(request.user, pk)
    actions.do_delete_schedule(schedule, acting_user=request.user)
    messages.success(request, _("The schedule was deleted; the reports it made stay in the archive."))
    return redirect("reports:schedules")
