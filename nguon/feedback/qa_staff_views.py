"""Back-office steps of the questions and answers: check and publish an answer, take it down, draft a bulletin."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from nguon.accounts.access import can
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.core.errors import DomainError, Invalid
from nguon.core.forms import Form
from nguon.feedback.access import get_feedback_for_user
from nguon.feedback.loop import do_make_bulletin
from nguon.feedback.models import Feedback
from nguon.feedback.publishing import do_publish_answer, do_unpublish_answer, publish_problem, suggest_masked
from nguon.lib.pii import MARK


class PublishForm(Form):
    question = forms.CharField(label=gettext_lazy("Question as published"), widget=forms.Textarea(attrs={"rows": 8}))
    answer = forms.CharField(label=gettext_lazy("Answer as published"), widget=forms.Textarea(attrs={"rows": 8}))


def feedback_for_staff(user, pk: int) -> Feedback:
    """The feedback when it lies in the user's feedback units (handled or about a place there), else 404."""
    return get_feedback_for_user(user, pk, Capability.HANDLE_FEEDBACK)


def _back(feedback: Feedback):
    return redirect("feedback:detail", pk=feedback.pk)


@login_required
def publish(request, pk: int):
    """GET: the masked texts to check; POST: publish what the person confirmed."""
    feedback = feedback_for_staff(request.user, pk)
    problem = publish_problem(feedback)
    may_publish = can(request.user, Capability.APPROVE_FEEDBACK, feedback.handler_unit)
    status = 200
    if request.method == "POST" and not problem and may_publish:
        form = PublishForm(request.POST)
        if form.is_valid():
            try:
                do_publish_answer(
                    feedback,
                    acting_user=request.user,
                    question=form.cleaned_data["question"],
                    answer=form.cleaned_data["answer"],
                )
            except Invalid as exc:
                add_domain_error(form, exc)
                status = 400
            except DomainError as exc:
                if exc.status in (403, 404):
                    raise
                messages.error(request, exc.message)
                return _back(feedback)
            else:
                messages.success(request, _("The answer is published in the questions and answers."))
                return _back(feedback)
        else:
            status = 400
    else:
        question, answer = suggest_masked(feedback)
        form = PublishForm(initial={"question": question, "answer": answer})
    context = {
        "feedback": feedback,
        "form": form,
        "problem": problem,
        "may_publish": may_publish,
        "mark": MARK,
    }
    return render(request, "feedback/qa/publish.html", context, status=status)


@login_required
@require_POST
def unpublish(request, pk: int):
    feedback = feedback_for_staff(request.user, pk)
    try:
        do_unpublish_answer(feedback, acting_user=request.user, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The answer is no longer public."))
    return _back(feedback)


@login_required
@require_POST
def make_bulletin(request, pk: int):
    feedback = feedback_for_staff(request.user, pk)
    try:
        bulletin = do_make_bulletin(feedback, acting_user=request.user)
    except DomainError as exc:
        if exc.status == 404:
            raise
        messages.error(request, exc.message)
        return _back(feedback)
    messages.success(request, _("A draft bulletin was made from the answer: rework it and send it for approval."))
    return redirect("content:detail", bulletin_id=bulletin.pk)
