"""The public questions and answers (/phan-anh/hoi-dap/): answers a person checked and published, no sign-in.

Only `published_question` and `published_answer` (masked, checked) are shown, with the commune, the topic, the
dates and whether the answer came on time: never the sender's name, contacts or address. Plain links and a GET
form: it all works without JavaScript.
"""

from __future__ import annotations

import re

from django import forms
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from nguon.core.forms import Form
from nguon.feedback.models import Feedback, Topic
from nguon.lib.folding import fold
from nguon.units.models import Unit

PAGE_SIZE = 20
MAX_QUERY = 200


class QAFilterForm(Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=MAX_QUERY)
    unit = forms.ChoiceField(label=_("Commune or ward"), required=False)
    topic = forms.ChoiceField(label=_("Topic"), required=False)

    def __init__(self, *args, units=(), topics=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("All communes and wards")), *((u.code, u.name) for u in units)]
        self.fields["topic"].choices = [("", _("All topics")), *((t.code, t.name) for t in topics)]


def _published():
    return Feedback.objects.published()


def search(queryset, text: str):
    """Every word of the query, folded, must appear in the folded question and answer ("den duong" = "đèn đường")."""
    for word in re.findall(r"\w+", fold(text))[:10]:
        queryset = queryset.filter(published_folded__contains=word)
    return queryset


def qa_list(request):
    published = _published()
    units = Unit.objects.filter(pk__in=published.values("unit_id")).order_by("path")
    topics = Topic.objects.filter(pk__in=published.values("topic_id"))
    form = QAFilterForm(request.GET or None, units=units, topics=topics)
    items = published.select_related("unit", "topic", "handler_unit", "handler_organisation")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            items = search(items, data["q"])
        if data["unit"]:
            items = items.filter(unit__code=data["unit"])
        if data["topic"]:
            items = items.filter(topic__code=data["topic"])
    page = Paginator(items.order_by("-published_at", "-pk"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "filtered": form.is_valid() and any(form.cleaned_data.values()),
    }
    # Not cached publicly: the shared public layout carries a CSRF token (its language buttons).
    return render(request, "feedback/qa/list.html", context)


def qa_item(request, number: str):
    item = (
        _published()
        .select_related("unit", "topic", "handler_unit", "handler_organisation")
        .filter(number=number)
        .first()
    )
    if item is None:
        raise Http404()
    return render(request, "feedback/qa/item.html", {"item": item})
