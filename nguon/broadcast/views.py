"""Back office for devices: the fleet, one device, enrolment, groups, the map and proof of play."""

import json
from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import can, grant_paths, units_for_user
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.broadcast import actions, monitoring, titles
from nguon.broadcast.access import (
    GROUP_CAPABILITIES,
    can_edit_groups,
    devices_for_user,
    get_device_for_user,
    get_group_for_user,
    groups_for_user,
    require_group_editor,
)
from nguon.broadcast.forms import DeviceForm, FleetFilterForm, GroupForm, StatsFilterForm
from nguon.broadcast.models import CompiledManifest, DeviceToken, EnrolmentCode
from nguon.core.collation import vi
from nguon.core.errors import DomainError, Forbidden
from nguon.lib.plot import bar_chart

RECENT = 20
PAGE_SIZE = 100


def _unit_from(user, code: str):
    return units_for_user(user).filter(code=code).first() if code else None


def _fleet_filters(request, form: FleetFilterForm) -> dict:
    """The filters of a valid form as keyword arguments of monitoring.filter_fleet (none for an invalid form)."""
    if not form.is_valid():
        return {}
    data = form.cleaned_data
    return {
        "q": data["q"],
        "unit": _unit_from(request.user, data["unit"]),
        "kind": data["kind"],
        "technology": data["technology"],
        "status": data["status"],
    }


def _query_string(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
def fleet(request):
    """Devices of the user's units with their monitoring state; the rows refresh themselves through htmx."""
    form = FleetFilterForm(request.GET, user=request.user)
    filters = _fleet_filters(request, form)
    status = filters.pop("status", "")
    # The header counts cover the filtered fleet in every state, so the status filter does not zero them out.
    scoped = monitoring.filter_fleet(devices_for_user(request.user), **filters)
    devices = monitoring.with_monitoring(monitoring.filter_fleet(scoped, status=status))
    page = Paginator(devices.order_by("unit__path", vi("name"), "pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = titles.label_now_playing(page.object_list)
    context = {
        "form": form,
        "page": page,
        "counts": monitoring.fleet_counts(scoped),
        "by_unit": monitoring.fleet_by_unit(scoped),
        "query": _query_string(request),
        "now": timezone.now(),
        "skew_warning_ms": monitoring.SKEW_WARNING_MS,
        "can_manage": bool(grant_paths(request.user, Capability.MANAGE_DEVICES)),
        "tab": "fleet",
    }
    template = "broadcast/_fleet_rows.html" if request.htmx else "broadcast/fleet.html"
    return render(request, template, context)


@login_required
def fleet_map(request):
    """Where the devices are, drawn as inline SVG (no tile service): green online, red offline."""
    form = FleetFilterForm(request.GET, user=request.user)
    devices = monitoring.filter_fleet(devices_for_user(request.user), **_fleet_filters(request, form))
    context = {"form": form, "map": monitoring.fleet_map(devices), "query": _query_string(request), "tab": "map"}
    return render(request, "broadcast/map.html", context)


def _form_page(request, form, device, status=200):
    return render(request, "broadcast/device_form.html", {"form": form, "device": device}, status=status)


@login_required
def device_create(request):
    if not grant_paths(request.user, Capability.MANAGE_DEVICES):
        raise Forbidden()
    form = DeviceForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                device = actions.do_create_device(
                    unit=form.cleaned_data["unit"], data=form.to_data(), acting_user=request.user
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Device registered. Issue an enrolment code to connect it."))
                return redirect("broadcast:detail", device_id=device.pk)
        return _form_page(request, form, None, status=400)
    return _form_page(request, form, None)


@login_required
def device_edit(request, device_id: int):
    device = get_device_for_user(request.user, device_id, Capability.MANAGE_DEVICES)
    initial = DeviceForm.initial_from(device)
    if request.method == "POST":
        form = DeviceForm(request.POST, initial=initial, user=request.user, device=device)
        if form.is_valid():
            try:
                actions.do_update_device(device, data=form.to_data(device), acting_user=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Device saved."))
                return redirect("broadcast:detail", device_id=device.pk)
        device.refresh_from_db()
        return _form_page(request, form, device, status=400)
    return _form_page(request, DeviceForm(initial=initial, user=request.user, device=device), device)


def _upcoming(manifest) -> tuple[int, list[dict]]:
    """Slot count and the next few slots of the device's signed manifest, as the device will play them."""
    if manifest is None:
        return 0, []
    try:
        slots = json.loads(bytes(manifest.body)).get("slots", [])
    except (ValueError, AttributeError):
        return 0, []
    now = timezone.now()
    upcoming = []
    for entry in slots:
        try:
            start = datetime.fromisoformat(entry["start"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(entry["end"].replace("Z", "+00:00"))
        except (KeyError, TypeError, ValueError):
            continue
        if end > now:
            upcoming.append({"name": entry.get("name", ""), "start": start, "end": end,
                             "items": len(entry.get("items", []))})  # fmt: skip
    return len(slots), upcoming[:5]


def _detail_context(request, device, **extra) -> dict:
    now = timezone.now()
    manifest = CompiledManifest.objects.filter(device=device).first()
    slot_count, upcoming = _upcoming(manifest)
    tokens = DeviceToken.objects.filter(device=device, revoked_at__isnull=True)
    heartbeats = list(device.heartbeats.order_by("-seq")[:RECENT])
    plays = list(device.plays.order_by("-seq")[:RECENT])
    titles.label_device(device, plays, heartbeats)
    return {
        "device": device,
        "now": now,
        "overdue": device.is_overdue(now),
        "skew_warning_ms": monitoring.SKEW_WARNING_MS,
        "status_changes": device.status_changes.all()[:RECENT],
        "faults": device.faults.all()[:RECENT],
        "heartbeats": heartbeats,
        "plays": plays,
        "groups": device.groups.select_related("unit"),
        "manifest": manifest,
        "manifest_slots": slot_count,
        "upcoming": upcoming,
        "active_tokens": tokens.count(),
        "enrolled_at": tokens.order_by("-created_at").values_list("created_at", flat=True).first(),
        "pending_codes": EnrolmentCode.objects.filter(device=device, used_at__isnull=True, expires_at__gt=now).count(),
        "can_manage": can(request.user, Capability.MANAGE_DEVICES, device.unit),
        **extra,
    }


@login_required
def device_detail(request, device_id: int):
    device = get_device_for_user(request.user, device_id)
    return render(request, "broadcast/device_detail.html", _detail_context(request, device))


@login_required
@require_POST
def device_enrolment_code(request, device_id: int):
    """Issue a one-time enrolment code and show it in this response only: it is stored hashed, never again."""
    device = get_device_for_user(request.user, device_id, Capability.MANAGE_DEVICES)
    code = actions.do_issue_enrolment_code(device, acting_user=request.user)
    response = render(request, "broadcast/device_detail.html", _detail_context(request, device, enrolment_code=code))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def device_revoke(request, device_id: int):
    device = get_device_for_user(request.user, device_id, Capability.MANAGE_DEVICES)
    count = actions.do_revoke_tokens(device, acting_user=request.user)
    messages.success(request, _("Tokens revoked: %(n)d. The device must be enrolled again.") % {"n": count})
    return redirect("broadcast:detail", device_id=device.pk)


@login_required
def group_list(request):
    groups = groups_for_user(request.user).annotate(n_devices=Count("devices")).order_by("unit__path", vi("name"))
    can_create = any(grant_paths(request.user, capability) for capability in GROUP_CAPABILITIES)
    context = {"groups": groups, "can_create": can_create, "tab": "groups"}
    return render(request, "broadcast/group_list.html", context)


def _group_page(request, form, group, status=200):
    members = group.devices.select_related("unit").order_by("unit__path", vi("name")) if group is not None else []
    context = {"form": form, "group": group, "members": members, "tab": "groups",
               "can_edit": group is None or can_edit_groups(request.user, group.unit)}  # fmt: skip
    return render(request, "broadcast/group_form.html", context, status=status)


@login_required
def group_create(request):
    if not any(grant_paths(request.user, capability) for capability in GROUP_CAPABILITIES):
        raise Forbidden()
    form = GroupForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                group = actions.do_save_group(
                    None, unit=form.cleaned_data["unit"], data=form.to_data(), acting_user=request.user
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Group saved."))
                return redirect("broadcast:group_edit", group_id=group.pk)
        return _group_page(request, form, None, status=400)
    return _group_page(request, form, None)


@login_required
def group_edit(request, group_id: int):
    group = get_group_for_user(request.user, group_id)
    initial = {"name": group.name, "description": group.description, "devices": list(group.devices.all())}
    if request.method == "POST":
        require_group_editor(request.user, group.unit)
        form = GroupForm(request.POST, user=request.user, group=group)
        if form.is_valid():
            try:
                actions.do_save_group(group, unit=group.unit, data=form.to_data(), acting_user=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Group saved."))
                return redirect("broadcast:group_edit", group_id=group.pk)
        group.refresh_from_db()
        return _group_page(request, form, group, status=400)
    return _group_page(request, GroupForm(initial=initial, user=request.user, group=group), group)


def _chart(rows, label) -> dict:
    return bar_chart(
        [label(r) for r in rows],
        {_("Planned"): [r.planned for r in rows], _("Played"): [r.played for r in rows]},
    )


@login_required
def play_stats(request):
    """Proof of play: planned against played per day, per commune and per slot occurrence."""
    form = StatsFilterForm(request.GET, user=request.user)
    context = {"form": form, "stats": None, "query": request.GET.urlencode(), "tab": "stats"}
    if not form.is_valid():
        return render(request, "broadcast/stats.html", context, status=400)
    data = form.cleaned_data
    devices = monitoring.filter_fleet(
        devices_for_user(request.user), unit=_unit_from(request.user, data["unit"]), kind=data["kind"]
    )
    stats = monitoring.proof_of_play(devices, data["first_day"], data["last_day"])
    context.update(
        stats=stats,
        day_chart=_chart(stats.days, lambda r: formats.date_format(r.day, "d/m")),
        unit_chart=_chart(stats.units, lambda r: r.unit.name),
    )
    return render(request, "broadcast/stats.html", context)
