"""Schedule pages: each unit's slots, week calendars per commune and per device, slot editing with conflicts shown
before saving, the TT 39 ordering of priority items, programme templates and live broadcasts."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Prefetch, Q, prefetch_related_objects
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import can, get_unit_for_user, require, scope_to_user, units_for_user
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.broadcast import actions, live, tt39
from nguon.broadcast.access import get_device_for_user
from nguon.broadcast.models import (
    Device,
    ItemKind,
    LiveBroadcast,
    ProgrammeTemplate,
    Recurrence,
    Slot,
    SlotItem,
)
from nguon.broadcast.receivers import audience
from nguon.broadcast.schedule import local_zone, occurrences, slots_for_device
from nguon.broadcast.schedule_forms import (
    LiveForm,
    SlotForm,
    TemplateForm,
    item_formset,
    item_initial,
)
from nguon.content.models import Bulletin, MediaAsset
from nguon.core.errors import DomainError, Forbidden, NotFound

# --- access -------------------------------------------------------------------------------------------------------


def slots_for_user(user, capability: Capability = Capability.VIEW):
    return scope_to_user(Slot.objects.active().select_related("unit", "group"), user, capability)


def get_slot_for_user(user, slot_id: int, capability: Capability = Capability.VIEW) -> Slot:
    """Return the active slot, 404 when the user cannot see it, 403 when they see it but lack `capability`."""
    slot = slots_for_user(user).filter(pk=slot_id).first()
    if slot is None:
        raise NotFound()
    require(user, capability, slot.unit)
    return slot


def get_template_for_user(user, template_id: int, capability: Capability = Capability.VIEW) -> ProgrammeTemplate:
    template = scope_to_user(ProgrammeTemplate.objects.select_related("unit"), user).filter(pk=template_id).first()
    if template is None:
        raise NotFound()
    require(user, capability, template.unit)
    return template


def get_live_for_user(user, live_id: int, capability: Capability = Capability.VIEW) -> LiveBroadcast:
    broadcast = scope_to_user(LiveBroadcast.objects.select_related("unit"), user).filter(pk=live_id).first()
    if broadcast is None:
        raise NotFound()
    require(user, capability, broadcast.unit)
    return broadcast


def _items_prefetch():
    return Prefetch(
        "items",
        queryset=SlotItem.objects.order_by("position", "pk").select_related("bulletin__owner_unit", "media"),
    )


def _live_bulletin_ids(slots) -> set[int]:
    ids = {i.bulletin_id for s in slots for i in s.items.all() if i.bulletin_id}
    return set(Bulletin.objects.live().filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()


def _slots_reaching_unit(unit):
    """Active slots that play on the unit's devices: the unit's own and those of the units above it."""
    codes = unit.path.strip("/").split("/")
    reaching = Slot.objects.active().filter(unit__code__in=codes).select_related("unit", "group")
    above = [s for s in reaching if s.unit_id != unit.pk]
    if not above:
        return list(reaching)
    # A slot from above aimed at a group plays here only if the group holds one of the unit's devices.
    groups_here = set(
        Device.objects.in_unit(unit).filter(groups__isnull=False).values_list("groups", flat=True).distinct()
    )
    return [s for s in reaching if s.unit_id == unit.pk or s.group_id is None or s.group_id in groups_here]


def describe_days(slot: Slot) -> str:
    """When a slot plays, in words: "Once, 23/11/2026", "Every day, from 23/11/2026", "Mon, Wed; 1/12 – 31/12"."""
    first = formats.date_format(slot.start_date, "SHORT_DATE_FORMAT")
    if slot.recurrence == Recurrence.ONCE:
        return _("Once, %(day)s") % {"day": first}
    if slot.recurrence == Recurrence.WEEKDAYS:
        pattern = ", ".join(str(WEEKDAYS[d - 1]) for d in sorted(slot.weekday_set()) if 1 <= d <= 7)
    else:
        pattern = str(Recurrence(slot.recurrence).label)
    if slot.end_date:
        last = formats.date_format(slot.end_date, "SHORT_DATE_FORMAT")
        return _("%(pattern)s, %(first)s – %(last)s") % {"pattern": pattern, "first": first, "last": last}
    return _("%(pattern)s, from %(first)s") % {"pattern": pattern, "first": first}


def _described(slots):
    for slot in slots:
        slot.when = describe_days(slot)
    return slots


# --- lists and calendars ------------------------------------------------------------------------------------------


@login_required
def index(request):
    """The units whose programmes the user may see, with their slot counts."""
    units = units_for_user(request.user).current().annotate(
        slot_count=Count("slots", filter=Q(slots__is_active=True))
    )  # fmt: skip
    units = list(units[:500])
    if len(units) == 1:
        return redirect("schedules:unit", code=units[0].code)
    return render(request, "broadcast/schedule_index.html", {"units": units})


@login_required
def unit_slots(request, code: str):
    unit = get_unit_for_user(request.user, code)
    own = _described(
        list(Slot.objects.active().filter(unit=unit).select_related("group").prefetch_related(_items_prefetch()))
    )
    above = _described([s for s in _slots_reaching_unit(unit) if s.unit_id != unit.pk])
    can_operate = can(request.user, Capability.OPERATE_DEVICES, unit)
    context = {
        "unit": unit,
        "slots": own,
        "above": above,
        "live_ids": _live_bulletin_ids(own),
        "collisions": {s.pk for s in own if tt39.priority_collision(s, s.items.all())},
        "templates": ProgrammeTemplate.objects.filter(unit=unit),
        "devices": Device.objects.in_unit(unit).active().select_related("unit")[:200],
        "on_air": LiveBroadcast.objects.on_air().filter(unit=unit),
        "can_operate": can_operate,
    }
    return render(request, "broadcast/schedule_unit.html", context)


@dataclass
class CalendarEntry:
    slot: Slot
    start: datetime  # local
    end: datetime
    style: str
    pushed: bool
    lane: int = 0


def _parse_week(value: str | None) -> date:
    today = timezone.localdate()
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        day = today
    return day - timedelta(days=day.weekday())


def _week_context(slots, monday: date, *, title: str, base_url: str) -> dict:
    """Occurrences of `slots` in the week from `monday`, laid out for a CSS grid of seven day columns."""
    zone = local_zone()
    days: list[list[CalendarEntry]] = [[] for _ in range(7)]
    first_hour, last_hour = 5, 22
    for slot in slots:
        pushed = any(i.pushed for i in slot.items.all())
        for occ in occurrences(slot, monday, 7):
            start, end = occ.start.astimezone(zone), occ.end.astimezone(zone)
            days[(occ.day - monday).days].append(CalendarEntry(slot, start, end, "", pushed))
            first_hour = min(first_hour, start.hour)
            last_hour = max(last_hour, end.hour + (1 if end.minute else 0))
    span = (last_hour - first_hour) * 60
    for entries in days:
        entries.sort(key=lambda e: (e.start, e.slot.pk))
        # Slots of different groups may share a time: give overlapping entries side-by-side lanes.
        lane_ends: list[datetime] = []
        for entry in entries:
            for lane, busy_until in enumerate(lane_ends):
                if busy_until <= entry.start:
                    entry.lane, lane_ends[lane] = lane, entry.end
                    break
            else:
                entry.lane = len(lane_ends)
                lane_ends.append(entry.end)
        lanes = max(1, len(lane_ends))
        for entry in entries:
            top = ((entry.start.hour - first_hour) * 60 + entry.start.minute) / span * 100
            height = max((entry.end - entry.start).total_seconds() / 60 / span * 100, 1.2)
            # Strings, not floats: templates would print a localised decimal comma into the CSS.
            entry.style = (
                f"top:{top:.3f}%;height:{height:.3f}%;left:{entry.lane / lanes * 100:.3f}%;width:{100 / lanes:.3f}%"
            )
    hours = [
        {"label": f"{hour:02d}:00", "style": f"top:{(hour - first_hour) * 60 / span * 100:.3f}%"}
        for hour in range(first_hour, last_hour)
    ]
    today = timezone.localdate()
    return {
        "title": title,
        "days": [
            {"date": monday + timedelta(days=n), "entries": days[n], "today": monday + timedelta(days=n) == today}
            for n in range(7)
        ],
        "hours": hours,
        "grid_height": f"{(last_hour - first_hour) * 3.5}rem",  # 3.5rem an hour, as in schedule.css
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "previous": f"{base_url}?week={(monday - timedelta(days=7)).isoformat()}",
        "next": f"{base_url}?week={(monday + timedelta(days=7)).isoformat()}",
        "this_week": base_url,
        "timezone": str(zone),
    }


@login_required
def unit_week(request, code: str):
    unit = get_unit_for_user(request.user, code)
    slots = _slots_reaching_unit(unit)
    prefetch_related_objects(slots, _items_prefetch())
    context = _week_context(
        slots, _parse_week(request.GET.get("week")), title=unit.name, base_url=request.path
    )  # fmt: skip
    can_operate = can(request.user, Capability.OPERATE_DEVICES, unit)
    context.update(unit=unit, device=None, can_operate=can_operate)
    return render(request, "broadcast/schedule_week.html", context)


@login_required
def device_week(request, device_id: int):
    device = get_device_for_user(request.user, device_id)
    codes = device.unit.path.strip("/").split("/")
    candidates = list(Slot.objects.active().filter(unit__code__in=codes).select_related("unit", "group"))
    slots = slots_for_device(device, candidates)
    prefetch_related_objects(slots, _items_prefetch())
    context = _week_context(
        slots, _parse_week(request.GET.get("week")), title=device.name, base_url=request.path
    )  # fmt: skip
    can_operate = can(request.user, Capability.OPERATE_DEVICES, device.unit)
    context.update(unit=device.unit, device=device, can_operate=can_operate)
    return render(request, "broadcast/schedule_week.html", context)


# --- slot create / edit -------------------------------------------------------------------------------------------


def _stamp(unit, slot: Slot | None) -> str:
    """A fingerprint of what the item rows were built from: the slot's items, and the bulletins pushed to the unit.

    TT 39 can insert an item while an operator edits the slot; the rows would then no longer line up with the
    items, so a stale stamp sends the form back instead of saving.
    """
    rows = list(slot.items.order_by("position", "pk").values_list("pk", "pushed")) if slot is not None else []
    pushed = sorted(tt39.pushed_bulletins(unit).values_list("pk", flat=True))
    return hashlib.sha256(json.dumps([rows, pushed]).encode()).hexdigest()[:20]


def _initial_items(unit, slot: Slot | None, template: ProgrammeTemplate | None) -> tuple[list[dict], list[str]]:
    """Item rows for a new form: the slot's items; or the pushed bulletins, then the template's items."""
    if slot is not None:
        return item_initial(slot.items.order_by("position", "pk").select_related("bulletin", "media")), []
    rows = [{"bulletin": b, "pushed": True} for b in tt39.pushed_bulletins(unit)]
    dropped: list[str] = []
    if template is not None:
        playable = {b.pk: b for b in tt39.playable_bulletins(unit)}
        pushed_ids = {row["bulletin"].pk for row in rows}
        for entry in template.items:
            if entry.get("kind") == ItemKind.BULLETIN:
                bulletin = playable.get(entry.get("bulletin"))
                if bulletin is None:
                    dropped.append(_("a bulletin that is no longer published or no longer in your programme"))
                elif bulletin.pk not in pushed_ids:
                    rows.append({"bulletin": bulletin})
            elif entry.get("kind") == ItemKind.MEDIA:
                media = MediaAsset.objects.usable_in(unit).filter(pk=entry.get("media")).first()
                if media is None:
                    dropped.append(_("a media file that was removed"))
                else:
                    rows.append({"media": media})
            elif entry.get("kind") == ItemKind.RELAY:
                rows.append({"stream_url": entry.get("stream_url", ""), "stream_name": entry.get("stream_name", "")})
    return item_initial(rows), dropped


def _warn_unanswered_streams(request, items: list[dict]) -> None:
    """Warn, never refuse: a stream may be down while the slot is prepared, and devices try it at play time.

    Each address is asked once, and the whole page waits at most twice NGUON_STREAM_CHECK_SECONDS however many
    relays the slot holds (a slot of sixty silent relays must not hold a server worker for minutes).
    """
    per_check = settings.STREAM_CHECK_SECONDS
    deadline = time.monotonic() + 2 * per_check
    asked = set()
    for item in items:
        if item.get("kind") != ItemKind.RELAY or item["stream_url"] in asked or per_check <= 0:
            continue
        asked.add(item["stream_url"])
        left = deadline - time.monotonic()
        if left <= 0.05:
            messages.info(request, _("Some streams were not checked: checking stops after a few seconds."))
            return
        result = live.check_stream(item["stream_url"], timeout=min(per_check, left))
        if result.ok is False:
            messages.warning(
                request,
                _(
                    "The stream “%(name)s” did not answer (%(reason)s). The slot is saved and devices will try it "
                    "when the slot plays: check the address, or that the station is on air."
                )
                % {"name": item.get("stream_name") or item["stream_url"], "reason": result.reason},
            )


def _slot_form_page(request, unit, slot: Slot | None, template: ProgrammeTemplate | None = None):
    user = request.user
    if request.method == "POST":
        form = SlotForm(request.POST, unit=unit)
        initial, _dropped = _initial_items(unit, slot, None)
        if request.POST.get("stamp") != _stamp(unit, slot):
            form.is_valid()
            form.add_error(
                None,
                _(
                    "The programme changed while you were editing it (a priority bulletin was added or the slot was "
                    "changed). The items below are up to date: check them and save again."
                ),
            )
            formset = item_formset(unit=unit, user=user, initial=initial)
        else:
            formset = item_formset(unit=unit, user=user, data=request.POST, initial=initial)
            if form.is_valid() and formset.is_valid():
                items = formset.items()
                try:
                    saved = actions.do_save_slot(slot, unit=unit, data=form.slot_data(items), acting_user=user)
                except DomainError as exc:
                    if exc.status in (403, 404):
                        raise
                    add_domain_error(form, exc)
                    if exc.code == "slot_overlap":
                        form.add_error(None, exc.message)
                else:
                    messages.success(request, _("Slot saved.") if slot else _("Slot created."))
                    _warn_unanswered_streams(request, items)
                    return redirect("schedules:slot", slot_id=saved.pk)
        status = 400
    else:
        form = SlotForm(
            initial=SlotForm.initial_from(slot)
            if slot is not None
            else {
                "name": template.name if template else "",
                "start_time": template.start_time if template else None,
                "end_time": template.end_time if template else None,
                "start_date": timezone.localdate(),
                "recurrence": Recurrence.DAILY,
            },
            unit=unit,
        )
        initial, dropped = _initial_items(unit, slot, template)
        if dropped:
            messages.warning(
                request, _("Left out of the template: %(items)s.") % {"items": "; ".join(sorted(set(dropped)))}
            )
        formset = item_formset(unit=unit, user=user, initial=initial)
        status = 200
    context = {
        "unit": unit,
        "slot": slot,
        "form": form,
        "formset": formset,
        "stamp": _stamp(unit, slot),
        "template": template,
    }
    return render(request, "broadcast/schedule_form.html", context, status=status)


@login_required
def slot_create(request, code: str):
    unit = get_unit_for_user(request.user, code, Capability.OPERATE_DEVICES)
    template = None
    if request.GET.get("template", "").isdigit():
        template = get_template_for_user(request.user, int(request.GET["template"]), Capability.OPERATE_DEVICES)
        if template.unit_id != unit.pk:
            raise NotFound()
    return _slot_form_page(request, unit, None, template)


@login_required
def slot_edit(request, slot_id: int):
    slot = get_slot_for_user(request.user, slot_id, Capability.OPERATE_DEVICES)
    return _slot_form_page(request, slot.unit, slot)


@login_required
@require_POST
def slot_check(request, code: str):
    """htmx: the slots the form's slot would overlap, checked before anything is saved."""
    unit = get_unit_for_user(request.user, code, Capability.OPERATE_DEVICES)
    slot = None
    if request.POST.get("slot_id", "").isdigit():
        slot = get_slot_for_user(request.user, int(request.POST["slot_id"]), Capability.OPERATE_DEVICES)
        if slot.unit_id != unit.pk:
            raise NotFound()
    form = SlotForm(request.POST, unit=unit)
    context = {"form": form, "checked": False, "conflicts": [], "reach": 0}
    if form.is_valid():
        data = form.slot_data()
        # An unsaved slot with the form's values (and the edited slot's id, so that it never clashes with itself).
        candidate = Slot(pk=slot.pk if slot else None, unit=unit, is_active=True)
        for name in ("name", "start_time", "end_time", "start_date", "end_date", "recurrence", "weekdays", "group",
                     "device_kind", "volume"):  # fmt: skip
            setattr(candidate, name, getattr(data, name))
        conflicts = _described(actions.conflicts_for(candidate))
        # A slot of a unit above plays on these devices too; link it only where the user may open it.
        visible = set(
            slots_for_user(request.user).filter(pk__in=[c.pk for c in conflicts]).values_list("pk", flat=True)
        )
        for conflict in conflicts:
            conflict.openable = conflict.pk in visible
        context.update(checked=True, conflicts=conflicts, reach=len(audience(candidate)))
    return render(request, "broadcast/schedule_conflicts.html", context)


@login_required
def slot_detail(request, slot_id: int):
    slot = get_slot_for_user(request.user, slot_id)
    return render(request, "broadcast/schedule_detail.html", _detail_context(request, slot))


def _detail_context(request, slot: Slot, **extra) -> dict:
    items = list(slot.items.order_by("position", "pk").select_related("bulletin__owner_unit", "media"))
    bulletin_ids = [i.bulletin_id for i in items if i.bulletin_id]
    live_ids = set(Bulletin.objects.live().filter(pk__in=bulletin_ids).values_list("pk", flat=True))
    today = timezone.localdate()
    slot.when = describe_days(slot)
    return {
        "slot": slot,
        "unit": slot.unit,
        "items": items,
        "live_ids": live_ids,
        "collision": tt39.priority_collision(slot, items),
        # UTC spelled out as the manifest carries it (the date filter would show local time).
        "upcoming": [
            {"day": o.day, "utc": o.start.strftime("%Y-%m-%dT%H:%M:%SZ")} for o in occurrences(slot, today, 7)
        ],
        "reach": len(audience(slot)),
        "can_operate": can(request.user, Capability.OPERATE_DEVICES, slot.unit),
        "template_form": extra.pop("template_form", None) or TemplateForm(),
        **extra,
    }


@login_required
@require_POST
def slot_item_move(request, slot_id: int, item_id: int):
    """Move one item up or down (TT 39: the commune operator orders its own priority items and pushed ones)."""
    slot = get_slot_for_user(request.user, slot_id, Capability.OPERATE_DEVICES)
    order = list(slot.items.order_by("position", "pk").values_list("pk", flat=True))
    if item_id not in order:
        raise NotFound()
    index = order.index(item_id)
    target = index - 1 if request.POST.get("direction") == "up" else index + 1
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
        try:
            actions.do_reorder_slot_items(slot, order, acting_user=request.user)
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            messages.error(request, exc.message)
    if request.htmx:
        return render(request, "broadcast/schedule_items.html", _detail_context(request, slot))
    return redirect("schedules:slot", slot_id=slot.pk)


@login_required
@require_POST
def slot_delete(request, slot_id: int):
    slot = get_slot_for_user(request.user, slot_id, Capability.OPERATE_DEVICES)
    actions.do_delete_slot(slot, acting_user=request.user)
    messages.success(request, _("Slot removed from the programme."))
    return redirect("schedules:unit", code=slot.unit.code)


@login_required
@require_POST
def slot_save_template(request, slot_id: int):
    slot = get_slot_for_user(request.user, slot_id, Capability.OPERATE_DEVICES)
    form = TemplateForm(request.POST)
    if form.is_valid():
        try:
            template = actions.do_save_programme_template(
                slot=slot, name=form.cleaned_data["name"], acting_user=request.user
            )
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Saved as the template “%(name)s”.") % {"name": template.name})
            return redirect("schedules:unit", code=slot.unit.code)
    context = _detail_context(request, slot, template_form=form)
    return render(request, "broadcast/schedule_detail.html", context, status=400)


@login_required
@require_POST
def template_delete(request, template_id: int):
    template = get_template_for_user(request.user, template_id, Capability.OPERATE_DEVICES)
    actions.do_delete_programme_template(template, acting_user=request.user)
    messages.success(request, _("Template deleted."))
    return redirect("schedules:unit", code=template.unit.code)


# --- live broadcasts ----------------------------------------------------------------------------------------------


def _live_context(request, unit, form) -> dict:
    history = LiveBroadcast.objects.filter(unit=unit).select_related("started_by", "stopped_by")
    history = history.annotate(device_count=Count("devices"))[:50]
    return {
        "unit": unit,
        "form": form,
        "history": history,
        "now": timezone.now(),
        "icecast_url": settings.ICECAST_URL,
        "source_ready": bool(live.source_password()),
    }


@login_required
def live_page(request, code: str):
    unit = get_unit_for_user(request.user, code)
    if not can(request.user, Capability.OPERATE_DEVICES, unit):
        raise Forbidden()
    form = LiveForm(request.POST or None, unit=unit, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                broadcast = live.do_start_live(
                    unit=unit,
                    mount=form.cleaned_data["mount"],
                    title=form.cleaned_data["title"],
                    until=form.cleaned_data["until"],
                    devices=form.chosen_devices(),
                    acting_user=request.user,
                )
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                add_domain_error(form, exc)
            else:
                count = broadcast.devices.count()
                messages.success(
                    request,
                    _("Live broadcast sent to %(n)d device(s): they play %(url)s.")
                    % {"n": count, "url": broadcast.url},
                )
                result = live.check_stream(broadcast.url)
                if result.ok is False:
                    messages.warning(
                        request,
                        _(
                            "The stream does not answer yet (%(reason)s). Start the encoder now: devices keep trying "
                            "until the end time."
                        )
                        % {"reason": result.reason},
                    )
                return redirect("schedules:live", code=unit.code)
        status = 400
    return render(request, "broadcast/live_page.html", _live_context(request, unit, form), status=status)


@login_required
@require_POST
def live_stop(request, live_id: int):
    broadcast = get_live_for_user(request.user, live_id, Capability.OPERATE_DEVICES)
    try:
        live.do_stop_live(broadcast, acting_user=request.user)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Live broadcast stopped; the devices go back to their programme."))
    return redirect("schedules:live", code=broadcast.unit.code)
