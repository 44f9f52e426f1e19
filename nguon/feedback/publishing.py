"""Publishing answers in the public questions and answers (hỏi đáp), after a person has checked the masking.

The masker (nguon/lib/pii.py) suggests the question and the answer with personal data hidden; the staff member reads
them, may edit them, and confirms. What they confirm is masked again: if the masker still finds personal data the
publication is refused, saying what kind it found. Only answered items whose sender agreed to publication go public.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.roles import Capability
from nguon.content.text import plain
from nguon.core.errors import Conflict, Invalid
from nguon.core.validators import xml_text_problem
from nguon.feedback.actions import MAX_ANSWER, MAX_TEXT, _step
from nguon.feedback.models import DONE_STATUSES, Feedback
from nguon.lib.folding import fold
from nguon.lib.pii import MARK, mask

KIND_LABELS = {
    "phone": _("a phone number"),
    "email": _("an e-mail address"),
    "id_number": _("an ID card number"),
    "account": _("an account or card number"),
    "plate": _("a licence plate"),
    "name": _("a person's name"),
}


def _names(feedback: Feedback) -> list[str]:
    return [feedback.name] if feedback.name else []


def question_text(feedback: Feedback) -> str:
    """What the citizen asked: the title (when given) above the text."""
    if feedback.title and feedback.title not in feedback.text:
        return f"{feedback.title}\n\n{feedback.text}"
    return feedback.text


def suggest_masked(feedback: Feedback) -> tuple[str, str]:
    """The question and the answer with the personal data the masker finds hidden (already published texts first)."""
    if feedback.published_question and feedback.published_answer:
        return feedback.published_question, feedback.published_answer
    names = _names(feedback)
    return (
        mask(question_text(feedback), names=names).text,
        mask(feedback.answer, names=names).text,
    )


def publish_problem(feedback: Feedback):
    """Why the answer cannot be published now (a message), or None."""
    if feedback.status not in DONE_STATUSES:
        return _("Only answered feedback can be published.")
    if not feedback.consent_publish:
        return _("The sender did not agree to the publication of the answer.")
    if feedback.personal_data_erased_at is not None and not feedback.text:
        return _("The text of this feedback has been erased.")
    return None


def found_message(kinds) -> str:
    labels = ", ".join(str(KIND_LABELS[k]) for k in kinds)
    return str(
        _("It still contains personal data (%(kinds)s): remove it or replace it with %(mark)s.")
        % {"kinds": labels, "mark": MARK}
    )


def _clean(name: str, value: str, limit: int, names, errors: dict) -> str:
    problem = xml_text_problem(value or "")
    if problem:
        errors[name] = [problem]
        return ""
    value = plain(value)
    if not value:
        errors[name] = [_("This text may not be empty.")]
    elif len(value) > limit:
        errors[name] = [_("The text is too long (at most %(n)s characters).") % {"n": f"{limit:,}".replace(",", ".")}]
    else:
        result = mask(value, names=names)
        if result.found:
            errors[name] = [found_message(result.found)]
    return value


def do_publish_answer(
    feedback: Feedback, *, acting_user, question: str, answer: str, now: datetime | None = None
) -> Feedback:
    """Publish (or correct the published) question and answer as the person checked them."""
    problem = publish_problem(feedback)
    if problem:
        raise Conflict(problem, code="not_publishable")
    names = _names(feedback)
    errors: dict[str, list] = {}
    question = _clean("question", question, MAX_TEXT + 300, names, errors)
    answer = _clean("answer", answer, MAX_ANSWER, names, errors)
    if errors:
        raise Invalid(_("The answer was not published."), fields=errors)
    now = now or timezone.now()
    suggested = suggest_masked(feedback)
    extra = {
        "published_question": question,
        "published_answer": answer,
        "published_folded": fold(f"{question} {answer}"),
        "published_by": acting_user,
        "unpublished_at": None,
    }
    if not feedback.is_published:
        extra["published_at"] = now
    feedback = _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.APPROVE_FEEDBACK,
        allowed_from=set(DONE_STATUSES),
        to=None,
        action="publish",
        audit_action="feedback.published",
        public=False,
        extra=extra,
        audit_changes={"edited": (question, answer) != suggested},
        now=now,
    )
    return feedback


def do_unpublish_answer(feedback: Feedback, *, acting_user, reason: str = "", now: datetime | None = None) -> Feedback:
    """Take the item out of the public questions and answers (whoever handles feedback may: it is the safe way)."""
    if not feedback.is_published:
        raise Conflict(_("The answer is not published."), code="not_published")
    now = now or timezone.now()
    return _step(
        feedback,
        acting_user=acting_user,
        capability=Capability.HANDLE_FEEDBACK,
        allowed_from=None,
        to=None,
        action="unpublish",
        audit_action="feedback.unpublished",
        note=plain(reason)[:2000],
        public=False,
        extra={"unpublished_at": now},
        now=now,
    )
