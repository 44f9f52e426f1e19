"""Back-office pages for partner API keys (Open311): list, issue (the key is shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import is_root_admin
from nguon.core.errors import DomainError, Forbidden
from nguon.feedback.models import PartnerKey
from nguon.feedback.open311.forms import IssueKeyForm
from nguon.feedback.open311.keys import issue_key, revoke_key


def _require_root(request) -> None:
    if not is_root_admin(request.user):
        raise Forbidden(_("Only a system administrator may manage partner API keys."))


def _page(request, form, *, new_key=None, plain_key="", status=200):
    keys = PartnerKey.objects.select_related("unit", "created_by").order_by("revoked_at", "name")
    context = {"form": form, "keys": keys, "new_key": new_key, "plain_key": plain_key}
    response = render(request, "feedback/open311/keys.html", context, status=status)
    if plain_key:
        response["Cache-Control"] = "no-store"  # the page holds a secret shown only now
    return response


@login_required
def key_list(request):
    _require_root(request)
    if request.method != "POST":
        return _page(request, IssueKeyForm())
    form = IssueKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        key, plain = issue_key(
            form.cleaned_data["name"],
            unit=form.cleaned_data["unit"],
            can_submit=form.cleaned_data["can_submit"],
            contact=form.cleaned_data["contact"],
            acting_user=request.user,
        )
    except DomainError as exc:
        for field, problems in exc.fields.items():
            for problem in problems:
                form.add_error(field if field in form.fields else None, problem)
        if not exc.fields:
            form.add_error(None, exc.message)
        return _page(request, form, status=400)
    return _page(request, IssueKeyForm(), new_key=key, plain_key=plain)


@login_required
@require_POST
def key_revoke(request, pk: int):
    _require_root(request)
    key = revoke_key(get_object_or_404(PartnerKey, pk=pk), acting_user=request.user)
    messages.success(request, _("The key of %(name)s no longer works.") % {"name": key.name})
    return redirect("feedback:keys")
