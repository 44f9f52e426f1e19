"""The feedback dashboard: figures and charts for the user's units, by period, topic, commune and channel."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nguon.accounts.access import units_for_user
from nguon.accounts.forms import add_domain_error
from nguon.core.errors import DomainError
from nguon.core.forms import Form
from nguon.feedback import figures
from nguon.lib.plot import bar_chart

# Charts with more bars than this show the largest ones (the table below lists all).
MAX_BARS = 25


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DashboardForm(Form):
    date_from = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput())
    date_to = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput())
    unit = forms.ChoiceField(label=gettext_lazy("Unit"), required=False)
    period = forms.ChoiceField(
        label=gettext_lazy("Per"),
        required=False,
        choices=[("day", gettext_lazy("day")), ("week", gettext_lazy("week")), ("month", gettext_lazy("month"))],
    )

    def __init__(self, data=None, *, user, **kwargs):
        super().__init__(data, **kwargs)
        self.units = {u.code: u for u in units_for_user(user).order_by("path")}
        self.fields["unit"].choices = [("", _("All my units")), *((c, u.name) for c, u in self.units.items())]

    def clean(self):
        data = super().clean()
        try:
            data["first_day"], data["last_day"] = figures.date_range(data.get("date_from"), data.get("date_to"))
        except DomainError as exc:
            add_domain_error(self, exc)
        data["unit_obj"] = self.units.get(data.get("unit") or "")
        data["period"] = data.get("period") or "day"
        return data


def _chart(rows, first: str, second: str):
    rows = rows[:MAX_BARS]
    names = {"received": _("Received"), "answered": _("Answered"), "on_time": _("Answered on time")}
    return bar_chart(
        [r.label for r in rows],
        {names[first]: [getattr(r, first) for r in rows], names[second]: [getattr(r, second) for r in rows]},
    )


@login_required
def dashboard(request):
    form = DashboardForm(request.GET, user=request.user)
    context = {"form": form, "report": None, "query": request.GET.urlencode()}
    if not form.is_valid():
        return render(request, "feedback/figures/dashboard.html", context, status=400)
    data = form.cleaned_data
    report = figures.compute(
        request.user, data["first_day"], data["last_day"], unit=data["unit_obj"], period=data["period"]
    )
    context.update(
        report=report,
        period_chart=_chart(report.by_period, "received", "answered"),
        topic_chart=_chart(report.by_topic, "received", "on_time"),
        unit_chart=_chart(report.by_unit, "received", "on_time"),
        api_query=f"from={data['first_day']}&to={data['last_day']}"
        + (f"&unit={data['unit_obj'].code}" if data["unit_obj"] else "")
        + f"&period={data['period']}",
    )
    return render(request, "feedback/figures/dashboard.html", context)
