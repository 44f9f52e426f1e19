from datetime import datetime, time

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from nguon.audit.forms import AuditFilterForm
from nguon.audit.models import AuditCheck
from nguon.audit.queries import events_for_user
from nguon.core.errors import Forbidden


@login_required
def event_list(request):
    events = events_for_user(request.user)
    if events is None:
        raise Forbidden()
    form = AuditFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            events = events.filter(action__icontains=data["action"])
        if data["actor"]:
            events = events.filter(actor_label__icontains=data["actor"])
        if data["unit"]:
            events = events.filter(unit__code=data["unit"])
        tz = timezone.get_current_timezone()
        if data["date_from"]:
            events = events.filter(at__gte=datetime.combine(data["date_from"], time.min, tzinfo=tz))
        if data["date_to"]:
            events = events.filter(at__lte=datetime.combine(data["date_to"], time.max, tzinfo=tz))
    page = Paginator(events.select_related("unit"), 50).get_page(request.GET.get("page"))
    latest_check = AuditCheck.objects.order_by("-id").first()
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/event_list.html",
        {"page": page, "form": form, "latest_check": latest_check, "query": query.urlencode()},
    )
