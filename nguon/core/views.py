from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from nguon.accounts.access import organisations_for_user, units_for_user, users_for_user
from nguon.content.views import dashboard_counts


@login_required
def dashboard(request):
    units = units_for_user(request.user).current()
    by_type = list(units.values("unit_type__name").annotate(n=Count("id")).order_by("unit_type__level"))
    visible = list(units.only("id", "code", "name", "path", "parent_id", "unit_type__name"))
    visible_ids = {u.id for u in visible}
    # The top of what this user sees: units whose parent is outside their reach.
    tops = [u for u in visible if u.parent_id not in visible_ids]
    children: dict[int, list] = {}
    for unit in visible:
        if unit.parent_id in visible_ids:
            children.setdefault(unit.parent_id, []).append(unit)
    tree = [{"unit": top, "children": sorted(children.get(top.id, []), key=lambda u: u.name)} for top in tops]
    context = {
        "counts": {
            "units": len(visible),
            "organisations": organisations_for_user(request.user).active().count(),
            "users": users_for_user(request.user).filter(is_active=True).count(),
        },
        "by_type": by_type,
        "bulletins": dashboard_counts(request.user),
        "tree": tree,
        "grants": request.user.active_grants(),
    }
    return render(request, "core/dashboard.html", context)
