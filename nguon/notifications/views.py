"""The bell (badge), the list, mark read, and the person's choice of channels."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.core.errors import NotFound
from nguon.notifications import actions
from nguon.notifications.forms import ChannelChoicesForm
from nguon.notifications.queries import badge_state, notifications_for

# htmx stops polling on this status: the session has ended, the page should stop asking.
STOP_POLLING = 286


def badge(request):
    """The bell, polled every few seconds by every open back-office page: 204 when nothing changed."""
    user = request.user
    if not user.is_authenticated:
        return HttpResponse(status=STOP_POLLING)
    state = badge_state(user)
    if request.GET.get("since") == state["version"]:
        return HttpResponse(status=204)
    return render(request, "notifications/_badge_link.html", {"badge": state})


@login_required
def notification_list(request):
    unread_only = request.GET.get("unread") == "1"
    rows = notifications_for(request.user).select_related("unit").prefetch_related("deliveries")
    if unread_only:
        rows = rows.unread()
    page = Paginator(rows, 30).get_page(request.GET.get("page"))
    context = {"page": page, "unread_only": unread_only, "badge": badge_state(request.user)}
    template = "notifications/_rows.html" if request.htmx else "notifications/list.html"
    return render(request, template, context)


def _back(request):
    target = request.POST.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(target)
    return redirect("notifications:list")


@login_required
@require_POST
def read(request, notification_id: int):
    if not notifications_for(request.user).filter(pk=notification_id).exists():
        raise NotFound()
    actions.mark_read(request.user, [notification_id])
    return _back(request)


@login_required
@require_POST
def read_all(request):
    count = actions.mark_all_read(request.user)
    if count:
        messages.success(request, _("All notifications are marked read."))
    return _back(request)


@login_required
def open_link(request, notification_id: int):
    """Mark one read and go where it points (always a path inside the back office)."""
    notification = notifications_for(request.user).filter(pk=notification_id).first()
    if notification is None:
        raise NotFound()
    actions.mark_read(request.user, [notification.pk])
    link = notification.link
    if not link.startswith("/") or link.startswith("//"):
        return redirect("notifications:list")
    return redirect(link)


@login_required
def preferences(request):
    form = ChannelChoicesForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        actions.set_channel_choices(request.user, form.choices(), acting_user=request.user)
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notifications:preferences")
    reachable = {channel.name: bool(channel.address(request.user)) for channel in form.channels}
    return render(request, "notifications/preferences.html", {"form": form, "reachable": reachable})
