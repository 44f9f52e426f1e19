from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone

from nguon.audit.display import event_rows
from nguon.audit.forms import AuditFilterForm
from nguon.audit.labels import known_actions
from nguon.audit.models import AuditCheck
from nguon.audit.queries import events_for_user
from nguon.core.errors import Forbidden
from nguon.lib.folding import fold

PAGE_SIZE = 50


@login_required
def event_list(request):
    events = events_for_user(request.user)
    if events is None:
        raise Forbidden()
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            events = events.filter(Q(action__icontains=data["action"]) | Q(action__in=_actions_named(data["action"])))
        if data["actor"]:
            events = events.filter(actor_label__icontains=data["actor"])
        if data["unit"]:
            events = events.filter(unit__code=data["unit"])
        tz = timezone.get_current_timezone()
        if data["date_from"]:
            events = events.filter(at__gte=datetime.combine(data["date_from"], time.min, tzinfo=tz))
        if data["date_to"]:
            events = events.filter(at__lte=datetime.combine(data["date_to"], time.max, tzinfo=tz))
    page = Paginator(events.select_related("unit"), PAGE_SIZE).get_page(request.GET.get("page"))
    latest_check = AuditCheck.objects.order_by("-id").first()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/event_list.html",
        {
            "page": page,
            "rows": event_rows(page.object_list),
            "form": form,
            "latest_check": latest_check,
            "query": query.urlencode(),
        },
    )


def _actions_named(text: str) -> list[str]:
    """Action codes whose Vietnamese label contains `text` (with or without diacritics)."""
    wanted = fold(text)
    return [code for code, label in known_actions().items() if wanted in fold(label)]
