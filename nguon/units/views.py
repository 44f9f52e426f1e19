from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import can, get_unit_for_user, units_for_user, users_for_user
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.core.collation import vi
from nguon.core.errors import DomainError
from nguon.units import actions
from nguon.units.forms import OrganisationForm, UnitForm
from nguon.units.models import UnitType


@login_required
def unit_list(request):
    units = units_for_user(request.user).annotate(
        n_orgs=Count("organisations", filter=Q(organisations__is_active=True))
    )
    query = request.GET.get("q", "").strip()
    kind = request.GET.get("type", "")
    show_retired = request.GET.get("retired") == "1"
    units = units.search(query)
    if kind:
        units = units.filter(unit_type__slug=kind)
    if not show_retired:
        units = units.current()
    page = Paginator(units.order_by("path"), 100).get_page(request.GET.get("page"))
    context = {"page": page, "q": query, "type": kind, "retired": show_retired, "types": UnitType.objects.all()}
    template = "units/_unit_rows.html" if request.htmx else "units/unit_list.html"
    return render(request, template, context)


def _detail_context(request, unit, *, unit_form=None, org_form=None):
    return {
        "unit": unit,
        "ancestors": [a for a in unit.ancestors() if can(request.user, Capability.VIEW, a)],
        "children": units_for_user(request.user).filter(parent=unit).order_by(vi("name")),
        "organisations": unit.organisations.all(),
        "users": users_for_user(request.user).filter(unit=unit).prefetch_related("grants"),
        "can_manage": can(request.user, Capability.MANAGE_UNITS, unit),
        "unit_form": unit_form or UnitForm(initial={"name": unit.name, "name_en": unit.name_en}),
        "org_form": org_form or OrganisationForm(),
    }


@login_required
def unit_detail(request, code: str):
    unit = get_unit_for_user(request.user, code)
    return render(request, "units/unit_detail.html", _detail_context(request, unit))


@login_required
@require_POST
def unit_update(request, code: str):
    unit = get_unit_for_user(request.user, code, Capability.MANAGE_UNITS)
    form = UnitForm(request.POST)
    if form.is_valid():
        try:
            actions.do_update_unit(unit, acting_user=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Unit saved."))
            return redirect("units:detail", code=unit.code)
    unit.refresh_from_db()
    return render(request, "units/unit_detail.html", _detail_context(request, unit, unit_form=form), status=400)


@login_required
@require_POST
def organisation_create(request, code: str):
    unit = get_unit_for_user(request.user, code, Capability.MANAGE_UNITS)
    form = OrganisationForm(request.POST)
    if form.is_valid():
        try:
            actions.do_create_organisation(unit, acting_user=request.user, **form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Organisation added."))
            return redirect("units:detail", code=unit.code)
    return render(request, "units/unit_detail.html", _detail_context(request, unit, org_form=form), status=400)
