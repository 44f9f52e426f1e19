"""Closing the loop: an answer of general interest becomes a draft bulletin of the handling unit in one click.

The bulletin carries the masked question and answer (what was published, else the masker's suggestion) and then
follows the normal editorial workflow: an editor reworks it, an approver approves it, and only then does it reach
loudspeakers and e-boards. When the sender did not agree to publication, only the answer goes into the bulletin.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.content.actions import MAX_BOARD, MAX_TITLE, BulletinData, do_create_bulletin
from nguon.content.models import Bulletin, Category
from nguon.core.errors import Conflict
from nguon.feedback.actions import _audit, _history, _lock
from nguon.feedback.models import DONE_STATUSES, Feedback
from nguon.feedback.publishing import suggest_masked

# Which content category fits a feedback topic (by code); topics not listed get none (the editor chooses).
TOPIC_CATEGORIES = {
    "rac-thai": "van-hoa-xa-hoi-moi-truong",
    "ngap-nuoc": "phong-chong-thien-tai",
    "dat-dai": "quy-hoach-tinh",
    "thu-tuc": "chinh-quyen-cai-cach-hanh-chinh",
    "y-te": "y-te-giao-duc",
}


def _shorten(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis when longer than `limit` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",.;:")
    return f"{cut}…"


def _handler_name(feedback: Feedback) -> str:
    if feedback.handler_organisation_id:
        return feedback.handler_organisation.name
    return feedback.handler_unit.name


def bulletin_data(feedback: Feedback) -> BulletinData:
    """The draft bulletin's texts, in Vietnamese (the bulletin's language)."""
    question, answer = suggest_masked(feedback)
    with_question = feedback.consent_publish
    with translation.override("vi"):
        topic = feedback.topic.name
        place = feedback.unit.name
        handler = _handler_name(feedback)
        title = _shorten(_("Answer to citizens' feedback: %(topic)s") % {"topic": topic}, MAX_TITLE)
        parts = []
        if with_question:
            parts.append(_("A citizen in %(place)s asked:") % {"place": place})
            parts.append(question)
        parts.append(_("%(handler)s answers:") % {"handler": handler})
        parts.append(answer)
        body = "\n\n".join(parts)
        if with_question:
            spoken = _(
                "Dear residents, a citizen in %(place)s sent feedback about %(topic)s: %(question)s "
                "%(handler)s answers as follows: %(answer)s"
            ) % {"place": place, "topic": topic.lower(), "question": question, "handler": handler, "answer": answer}
        else:
            spoken = _("Dear residents, about %(topic)s in %(place)s, %(handler)s informs as follows: %(answer)s") % {
                "place": place,
                "topic": topic.lower(),
                "handler": handler,
                "answer": answer,
            }
        board = _shorten(f"{topic}: {answer}", MAX_BOARD)
    slug = TOPIC_CATEGORIES.get(feedback.topic.code)
    category = Category.objects.filter(slug=slug, is_active=True).first() if slug else None
    targets = [feedback.unit] if feedback.handler_unit.contains(feedback.unit) else []
    return BulletinData(
        title=title,
        body=body,
        summary=_shorten(answer, 300),
        category=category,
        spoken_text=spoken,
        board_text=board,
        targets=targets,
    )


def do_make_bulletin(feedback: Feedback, *, acting_user) -> Bulletin:
    """Make a draft bulletin of the handling unit from the answer and link it to the feedback."""
    require(acting_user, Capability.HANDLE_FEEDBACK, feedback.handler_unit)
    if feedback.status not in DONE_STATUSES:
        raise Conflict(gettext_lazy("Only answered feedback can become a bulletin."), code="not_answered")
    if feedback.bulletin_id is not None:
        raise Conflict(gettext_lazy("A bulletin has already been made from this answer."), code="bulletin_exists")
    data = bulletin_data(feedback)
    with transaction.atomic():
        feedback = _lock(feedback)
        # Checked again under the lock: two clicks at once make one bulletin.
        if feedback.bulletin_id is not None:
            raise Conflict(gettext_lazy("A bulletin has already been made from this answer."), code="bulletin_exists")
        bulletin = do_create_bulletin(owner_unit=feedback.handler_unit, data=data, acting_user=acting_user)
        feedback.bulletin = bulletin
        feedback.save(update_fields=["bulletin"])
        _history(feedback, "bulletin", feedback.status, actor=acting_user, public=False, data={"bulletin": bulletin.pk})
        _audit(
            feedback,
            audit_action="feedback.bulletin_made",
            actor=acting_user,
            changes={"bulletin": bulletin.title},
        )
    return bulletin
