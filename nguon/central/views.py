"""The central link's page: links with their state and lag; pairing codes, pairing, suspend and resume."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Min, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import is_root_admin
from nguon.central import actions
from nguon.central.federation import identity
from nguon.central.forms import PairForm, PairingCodeForm
from nguon.central.link_models import Link
from nguon.core.errors import DomainError, Forbidden


def _require_root(request) -> None:
    if not is_root_admin(request.user):
        raise Forbidden(_("Only a system administrator may manage the link with the central system."))


def links_with_lag():
    """Links with their undelivered messages: how many, and the age of the oldest (the lag)."""
    pending = Q(outbox__delivered_at__isnull=True)
    links = Link.objects.annotate(
        pending_count=Count("outbox", filter=pending), oldest_pending=Min("outbox__created_at", filter=pending)
    ).order_by("role", "name")
    now = timezone.now()
    for link in links:
        link.lag = (now - link.oldest_pending) if link.oldest_pending else None
    return links


def _page(request, *, code_form=None, pair_form=None, new_code="", new_link=None, status=200):
    context = {
        "links": links_with_lag(),
        "code_form": code_form or PairingCodeForm(),
        "pair_form": pair_form or PairForm(),
        "has_parent": Link.objects.parents().exclude(state=Link.State.PENDING).exists(),
        "instance_id": identity.instance_id(),
        "unit_code": identity.unit_code(),
        "new_code": new_code,
        "new_link": new_link,
    }
    response = render(request, "central/links.html", context, status=status)
    response["Cache-Control"] = "no-store"  # a pairing code is shown only now
    return response


def _errors_to(form, exc: DomainError) -> None:
    for field, problems in exc.fields.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)
    if not exc.fields:
        form.add_error(None, exc.message)


@login_required
def links(request):
    _require_root(request)
    return _page(request)


@login_required
@require_POST
def create_code(request):
    _require_root(request)
    form = PairingCodeForm(request.POST)
    if not form.is_valid():
        return _page(request, code_form=form, status=400)
    try:
        link, code = actions.do_create_pairing_code(form.cleaned_data["name"], acting_user=request.user)
    except DomainError as exc:
        _errors_to(form, exc)
        return _page(request, code_form=form, status=400)
    return _page(request, new_code=code, new_link=link)


@login_required
@require_POST
def pair(request):
    _require_root(request)
    form = PairForm(request.POST)
    if not form.is_valid():
        return _page(request, pair_form=form, status=400)
    try:
        link = actions.do_pair_with_parent(
            form.cleaned_data["base_url"], form.cleaned_data["code"], acting_user=request.user
        )
    except DomainError as exc:
        _errors_to(form, exc)
        return _page(request, pair_form=form, status=400)
    messages.success(request, _("Paired with %(name)s.") % {"name": link.name})
    return redirect("central:links")


@login_required
@require_POST
def set_state(request, pk: int, state: str):
    _require_root(request)
    link = get_object_or_404(Link, pk=pk)
    if state == "suspend":
        actions.do_suspend_link(link, acting_user=request.user)
        messages.success(request, _("The link with %(name)s is suspended.") % {"name": link.name})
    else:
        actions.do_resume_link(link, acting_user=request.user)
        messages.success(request, _("The link with %(name)s is resumed.") % {"name": link.name})
    return redirect("central:links")
