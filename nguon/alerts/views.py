"""The alerts back office: list, compose (or update), decide, import a CAP file, download CAP, watch delivery.

Views parse input and check access; every change goes through `nguon.alerts.actions` (or the importer).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Max, Min
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import can, grant_paths
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.alerts import actions, delivery, export, importer, reach
from nguon.alerts.access import alerts_for_user, get_alert_for_user
from nguon.alerts.forms import AlertFilterForm, AlertForm, DecisionForm, ImportForm, circles_text, polygons_text
from nguon.alerts.models import (
    DELIVERED_STATES,
    Alert,
    AlertDispatch,
    AlertState,
    AudioState,
    Category,
    DispatchState,
    MsgType,
    ResponseType,
)
from nguon.broadcast.access import devices_for_user
from nguon.broadcast.models import Device
from nguon.core.errors import DomainError, Forbidden, Invalid, NotFound

CAP_CONTENT_TYPE = "application/cap+xml"
BAR_WIDTH = 240  # px of the per-commune stacked bar on the delivery page


# --- List -------------------------------------------------------------------------------------------------------


@login_required
def alert_list(request):
    form = AlertFilterForm(request.GET or None)
    alerts = form.filter(alerts_for_user(request.user)).order_by("-created_at", "-id")
    page = Paginator(alerts, 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "form": form,
        "query": query.urlencode(),
        "can_issue": bool(grant_paths(request.user, Capability.ISSUE_ALERTS)),
        "now": timezone.now(),
    }
    template = "alerts/_alert_rows.html" if request.htmx else "alerts/alert_list.html"
    return render(request, template, context)


# --- Compose --------------------------------------------------------------------------------------------------


def _add_rule_problems(form: AlertForm, replaces: Alert | None) -> None:
    """On a form that could not be fully read, also show what the alert's rules find in the rest, so that every
    problem is listed at once (not the parse errors now and the expired time after the next submit)."""
    unit = form.cleaned_data.get("unit")
    if unit is None:
        return
    try:
        actions.validate(form.alert_data(replaces=replaces), unit=unit, now=timezone.now())
    except Invalid as exc:
        shapes_unread = "polygons" in form.errors or "circles" in form.errors
        for name, problems in exc.fields.items():
            # A field that failed to parse was left out of the data: its own error already says why.
            if name in form.errors or (name == "area_units" and shapes_unread):
                continue
            for problem in problems:
                form.add_error(name if name in form.fields else None, problem)


def _created_message(request, alert: Alert, issue_now: bool) -> None:
    if alert.state == AlertState.ISSUED:
        messages.success(request, _("Alert issued: it is being sent to the devices."))
    elif issue_now and alert.approvals.filter(user=request.user).exists():
        messages.success(request, _("Saved and approved. The rule of this unit asks for a second approver."))
    else:
        messages.success(request, _("Alert saved; it awaits approval."))


@login_required
def alert_create(request):
    if not grant_paths(request.user, Capability.ISSUE_ALERTS):
        raise Forbidden()
    replaces = None
    if "update" in request.GET:
        try:
            replaces = get_alert_for_user(request.user, int(request.GET["update"]), Capability.ISSUE_ALERTS)
        except ValueError:
            raise NotFound() from None
        if not _may_update(request.user, replaces):
            messages.error(request, _("Only an alert awaiting approval, or issued and still current, can be updated."))
            return redirect("alerts:detail", alert_id=replaces.pk)
    can_approve = bool(grant_paths(request.user, Capability.APPROVE_ALERTS))
    checked = None
    if request.method == "POST" and "check_reach" in request.POST:
        form = AlertForm(request.POST, user=request.user)
        checked = _check_reach(form, replaces)
        status = 200 if checked is not None else 400
    elif request.method == "POST":
        form = AlertForm(request.POST, user=request.user)
        issue_now = can_approve and "issue_now" in request.POST
        if form.is_valid():
            try:
                alert = actions.do_create_alert(
                    form.alert_data(replaces=replaces),
                    unit=form.cleaned_data["unit"],
                    acting_user=request.user,
                    issue_now=issue_now,
                )
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                add_domain_error(form, exc)
            else:
                _created_message(request, alert, issue_now)
                return redirect("alerts:detail", alert_id=alert.pk)
        else:
            _add_rule_problems(form, replaces)
        status = 400
    else:
        form = AlertForm(initial=AlertForm.initial_from(replaces) if replaces else None, user=request.user)
        status = 200
    context = {
        "form": form,
        "replaces": replaces,
        "can_approve": can_approve,
        "map": map_context(request.user),
        "reach": checked,
    }
    return render(request, "alerts/alert_form.html", context, status=status)


def _check_reach(form: AlertForm, replaces: Alert | None):
    """What the alert on the form would reach if issued now, without saving anything (None: the form has errors,
    now shown next to the fields)."""
    if not form.is_valid():
        _add_rule_problems(form, replaces)
        return None
    data, unit = form.alert_data(replaces=replaces), form.cleaned_data["unit"]
    try:
        actions.validate(data, unit=unit, now=timezone.now())
    except Invalid as exc:
        add_domain_error(form, exc)
        return None
    draft = Alert(unit=unit, status=data["status"], polygons=data["polygons"], circles=data["circles"])
    return reach.assess(draft, area_units=data["area_units"])


MAP_DEVICES = 5000  # device dots on the compose map; beyond this the map shows the first ones


def map_context(user) -> dict | None:
    """What the area map needs: tiles from settings, the user's devices as dots, and where to start. None: no map
    (no tile URL), the polygon and circle text fields alone."""
    if not settings.MAP_TILE_URL:
        return None
    placed = devices_for_user(user).active().filter(latitude__isnull=False, longitude__isnull=False)
    box = placed.aggregate(s=Min("latitude"), w=Min("longitude"), n=Max("latitude"), e=Max("longitude"))
    bounds = ",".join(str(box[k]) for k in "swne") if box["s"] is not None else ""
    devices = [[lat, lon] for lat, lon in placed.order_by("pk").values_list("latitude", "longitude")[:MAP_DEVICES]]
    return {
        "tile_url": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "bounds": bounds,
        "devices": devices,
    }


# --- Detail and decisions -------------------------------------------------------------------------------------


def _may_update(user, alert: Alert) -> bool:
    """An issued, current alert; or one awaiting approval that the user may take out of the queue (the update
    then waits for approval in its place)."""
    if not can(user, Capability.ISSUE_ALERTS, alert.unit):
        return False
    if alert.state == AlertState.PENDING:
        return actions.may_withdraw(alert, acting_user=user, sender=actions.default_sender())
    return alert.is_current()


def _may_cancel(user, alert: Alert) -> bool:
    if alert.state == AlertState.PENDING:
        return can(user, Capability.ISSUE_ALERTS, alert.unit) and actions.may_withdraw(alert, acting_user=user)
    return alert.is_current() and can(user, Capability.APPROVE_ALERTS, alert.unit)


def area_map_context(alert: Alert, reached: set[int] | None) -> dict | None:
    """The read-only map of an alert's page: its shapes, and the devices of the issuing unit (those it would reach
    before approval, or was sent to after, marked). None without tiles or without shapes."""
    if not settings.MAP_TILE_URL or not (alert.polygons or alert.circles):
        return None
    if reached is None:
        reached = set(AlertDispatch.objects.filter(alert=alert).values_list("device_id", flat=True))
    placed = (
        Device.objects.active()
        .filter(unit__path__startswith=alert.unit.path, latitude__isnull=False, longitude__isnull=False)
        .order_by("pk")
        .values_list("pk", "latitude", "longitude")[:MAP_DEVICES]
    )
    return {
        "tile_url": settings.MAP_TILE_URL,
        "attribution": settings.MAP_TILE_ATTRIBUTION,
        "polygons": polygons_text(alert.polygons),
        "circles": circles_text(alert.circles),
        "devices": [[lat, lon, int(pk in reached)] for pk, lat, lon in placed],
    }


def _labels(choices, values) -> list[str]:
    labels = dict(choices.choices)
    return [str(labels.get(v, v)) for v in values]


def detail_context(request, alert: Alert, **extra) -> dict:
    user, now = request.user, timezone.now()
    approvals = list(alert.approvals.select_related("user"))
    approver = can(user, Capability.APPROVE_ALERTS, alert.unit)
    pending = alert.state == AlertState.PENDING
    current = alert.is_current(now)
    mine = any(a.user_id == user.pk for a in approvals)
    assessed = reach.assess(alert) if pending else None
    withdrawn_by = None
    if alert.state == AlertState.WITHDRAWN:
        withdrawn_by = alert.replaced_by.order_by("created_at", "id").first()
    return {
        "alert": alert,
        "approvals": approvals,
        "required": actions.approvals_required(alert.unit),
        "approved_by_me": mine,
        "can_approve": pending and approver and not mine and not alert.is_expired(now),
        "can_reject": pending and approver,
        "can_cancel": _may_cancel(user, alert),
        "can_update": _may_update(user, alert),
        "withdrawn_by": withdrawn_by,
        "reach": assessed,
        "area_map": area_map_context(alert, assessed.device_ids if assessed else None),
        "withdrawal_text": actions.withdrawal_text(withdrawn_by, alert.withdrawn_reason) if withdrawn_by else "",
        "is_current": current,
        "is_expired": alert.is_expired(now),
        "audio_ready": alert.audio_state == AudioState.READY and alert.audio_id is not None,
        "area_units": alert.area_units.order_by("path"),
        "polygons": [polygons_text([ring]) for ring in alert.polygons],
        "circles": [circles_text([circle]) for circle in alert.circles],
        "categories": _labels(Category, alert.categories),
        "response_types": _labels(ResponseType, alert.response_types),
        "replaced_by": alert.replaced_by.select_related("unit").order_by("-created_at"),
        "dispatched": alert.issued_at is not None and alert.msg_type != MsgType.CANCEL,
        # A received alert's main text may be in another language than the page's: marked for screen readers.
        "text_lang": "" if (alert.language or "vi").lower().startswith("vi") else alert.language,
        "other_infos": export.other_infos(alert),
        "reject_form": extra.pop("reject_form", None) or DecisionForm(prefix="reject"),
        **extra,
    }


@login_required
def alert_detail(request, alert_id: int):
    alert = get_alert_for_user(request.user, alert_id)
    alert = Alert.objects.select_related("unit", "audio", "replaces", "created_by").get(pk=alert.pk)
    return render(request, "alerts/alert_detail.html", detail_context(request, alert))


def _decide(request, alert_id: int, step, *, form: DecisionForm | None = None, form_name: str = ""):
    """Run one decision on the alert: 404/403 as pages, a refused step as a message on the detail page."""
    alert = get_alert_for_user(request.user, alert_id, Capability.APPROVE_ALERTS)
    if form is not None and not form.is_valid():
        context = detail_context(request, alert, **{form_name: form})
        return render(request, "alerts/alert_detail.html", context, status=400)
    try:
        step(alert)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    return redirect("alerts:detail", alert_id=alert.pk)


@login_required
@require_POST
def alert_approve(request, alert_id: int):
    def step(alert):
        alert = actions.do_approve(alert, acting_user=request.user)
        if alert.state == AlertState.ISSUED:
            messages.success(request, _("Approved and issued: the alert is being sent to the devices."))
        else:
            messages.success(request, _("Approved. The rule of this unit asks for a second approver."))

    return _decide(request, alert_id, step)


@login_required
@require_POST
def alert_reject(request, alert_id: int):
    form = DecisionForm(request.POST, prefix="reject")

    def step(alert):
        actions.do_reject(alert, acting_user=request.user, comment=form.cleaned_data["comment"])
        messages.success(request, _("Alert rejected; nothing was sent."))

    return _decide(request, alert_id, step, form=form, form_name="reject_form")


@login_required
def alert_cancel(request, alert_id: int):
    """A page that asks for confirmation (and an optional reason) before cancelling; only its own button cancels."""
    alert = get_alert_for_user(request.user, alert_id)
    if not _may_cancel(request.user, alert):
        if alert.state == AlertState.PENDING or alert.is_current():
            raise Forbidden()
        messages.error(request, _("This alert is no longer current: there is nothing to cancel."))
        return redirect("alerts:detail", alert_id=alert.pk)
    form = DecisionForm(request.POST or None, prefix="cancel", required=False)
    status = 200
    if request.method == "POST" and "confirm" in request.POST:
        if form.is_valid():
            try:
                cancel = actions.do_cancel(alert, acting_user=request.user, note=form.cleaned_data["comment"])
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                messages.error(request, exc.message)
                return redirect("alerts:detail", alert_id=alert.pk)
            if alert.state == AlertState.PENDING:
                messages.success(request, _("Alert withdrawn: it will never be approved or sent."))
            elif cancel.state == AlertState.ISSUED:
                messages.success(request, _("Alert cancelled: the devices are told to stop it."))
            else:
                messages.success(request, _("The cancellation awaits approval."))
            return redirect("alerts:detail", alert_id=alert.pk)
        status = 400
    context = {
        "alert": alert,
        "form": form,
        "pending": alert.state == AlertState.PENDING,
        "on_air": actions.live_predecessor(alert) if alert.state == AlertState.PENDING else None,
    }
    return render(request, "alerts/cancel_confirm.html", context, status=status)


@login_required
def alert_cap(request, alert_id: int):
    alert = get_alert_for_user(request.user, alert_id)
    response = HttpResponse(export.cap_xml(alert), content_type=CAP_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="canh-bao-{alert.pk}.xml"'
    return response


# --- Delivery ---------------------------------------------------------------------------------------------------


def _percent(n: int, total: int) -> float:
    return 100.0 * n / total if total else 0.0


def stacked_bar(counts: dict[str, int], *, width: int = BAR_WIDTH) -> list[dict]:
    """Segments of a horizontal 100% bar, one per state with devices, in the order of DispatchState."""
    total = sum(counts.values())
    segments, x = [], 0.0
    for state in DispatchState.values:
        n = counts.get(state, 0)
        if not n:
            continue
        w = width * n / total
        segments.append({"state": state, "n": n, "x": round(x, 1), "width": round(w, 1)})
        x += w
    return segments


def elapsed_text(start, now) -> str:
    """ "2 min 05 s" or "3 h 20 min": Django's timesince rounds to minutes, and seconds matter right after issue."""
    seconds = max(0, int((now - start).total_seconds()))
    hours, rest = divmod(seconds, 3600)
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": rest // 60}
    return _("%(m)d min %(s)02d s") % {"m": rest // 60, "s": rest % 60}


def delivery_context(alert: Alert) -> dict:
    found = delivery.counts(alert)
    total = found["total"]
    labels = dict(DispatchState.choices)
    rows = []
    for (code, name), by_state in found["by_unit"].items():
        unit_total = sum(by_state.values())
        rows.append({
            "code": code,
            "name": name,
            "total": unit_total,
            "cells": [{"state": s, "n": by_state[s], "percent": _percent(by_state[s], unit_total)}
                      for s in DispatchState.values],
            "delivered_percent": _percent(delivery.delivered(by_state), unit_total),
            "bar": stacked_bar(by_state),
        })  # fmt: skip
    latest = AlertDispatch.objects.filter(alert=alert).aggregate(ack=Max("acknowledged_at"), played=Max("played_at"))
    now = timezone.now()
    n_delivered = delivery.delivered(found["by_state"])
    return {
        "alert": alert,
        "total": total,
        "delivered": n_delivered,
        "delivered_percent": _percent(n_delivered, total),
        "delivered_labels": [labels[s] for s in DELIVERED_STATES],
        "states": [
            {"state": s, "label": labels[s], "n": n, "percent": _percent(n, total)}
            for s, n in found["by_state"].items()
        ],
        "rows": rows,
        "bar_width": BAR_WIDTH,
        "latest_ack": latest["ack"],
        "latest_played": latest["played"],
        "live": alert.is_current(now),
        "since_issue": elapsed_text(alert.issued_at, now) if alert.issued_at else "",
    }


DEVICES_PER_PAGE = 100


@login_required
def alert_delivery(request, alert_id: int):
    """Counts per state and per commune; with `?state=` (and `&unit=`) also the devices in that state."""
    alert = get_alert_for_user(request.user, alert_id)
    context = delivery_context(alert)
    state = request.GET.get("state", "")
    if state in DispatchState.values:
        unit_code = request.GET.get("unit", "")[:20]
        rows = delivery.dispatches_in_state(alert, state, unit_code)
        page = Paginator(rows, DEVICES_PER_PAGE).get_page(request.GET.get("page"))
        for row in page:
            row.state_at = getattr(row, delivery.STATE_TIME.get(row.state, "queued_at"), None)
        query = request.GET.copy()
        query.pop("page", None)
        context.update({
            "selected_state": state,
            "selected_label": dict(DispatchState.choices)[state],
            "selected_unit": next((r["name"] for r in context["rows"] if r["code"] == unit_code), ""),
            "device_page": page,
            "query": query.urlencode(),
        })  # fmt: skip
    return render(request, "alerts/delivery.html", context)


@login_required
def alert_delivery_counts(request, alert_id: int):
    """The counts part of the delivery page, which htmx fetches again every 2 s while the alert is current."""
    alert = get_alert_for_user(request.user, alert_id)
    return render(request, "alerts/_delivery_counts.html", delivery_context(alert))


# --- Import -----------------------------------------------------------------------------------------------------


def _add_import_error(form: ImportForm, exc: DomainError) -> None:
    """The importer's problems are keyed by place in the document (info[0].expires), not by form field: show them
    under the file, with the place, unless the summary message already says the same."""
    message = str(exc.message)
    form.add_error(None, message)
    for name, problems in exc.fields.items():
        for problem in problems:
            problem = str(problem)
            if problem.split(": ", 1)[-1] in message:
                continue
            form.add_error("file", problem if name in form.fields else f"{name}: {problem}")


@login_required
def alert_import(request):
    if not grant_paths(request.user, Capability.ISSUE_ALERTS):
        raise Forbidden()
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    status = 200
    if request.method == "POST":
        if getattr(request, "upload_too_large", False):
            form.is_valid()
            form.add_error("file", _("The file is too large: at most %(mb)s MB.") % {"mb": settings.MAX_UPLOAD_MB})
        elif form.is_valid():
            try:
                alert = importer.import_cap(
                    form.cleaned_data["file"].read(), unit=form.cleaned_data["unit"], acting_user=request.user
                )
            except DomainError as exc:
                if exc.status == 404:
                    raise
                _add_import_error(form, exc)
            else:
                if alert.import_warnings:
                    messages.warning(
                        request, _("Alert imported with warnings; read them before approving. It awaits approval.")
                    )
                else:
                    messages.success(request, _("Alert imported; it awaits approval."))
                return redirect("alerts:detail", alert_id=alert.pk)
        status = 400
    return render(request, "alerts/import.html", {"form": form}, status=status)
