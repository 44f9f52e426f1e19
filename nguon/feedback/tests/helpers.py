"""Shared pieces for the feedback tests: topics, a submitted feedback, the handling chain up to the answer."""

from __future__ import annotations

from nguon.feedback.actions import (
    FeedbackData,
    do_accept_feedback,
    do_approve_answer,
    do_draft_answer,
    do_submit_feedback,
)
from nguon.feedback.models import Topic
from nguon.feedback.topics import ensure_topics


def street_lights() -> Topic:
    ensure_topics()
    return Topic.objects.get(code="den-duong")


def submit(cast, *, text="Đèn đường trước số 12 Phan Trung bị hỏng ba ngày nay.", unit=None, topic=None, **extra):
    data = FeedbackData(
        topic=topic or street_lights(),
        unit=unit or cast.commune,
        text=text,
        name=extra.pop("name", "Nguyễn Văn An"),
        phone=extra.pop("phone", "0912 345 678"),
        email=extra.pop("email", "an@example.org"),
        consent_publish=extra.pop("consent_publish", True),
        **extra,
    )
    return do_submit_feedback(data)


def answered(cast, **kwargs):
    """A feedback taken through acceptance, a drafted answer and its approval (so answered)."""
    feedback, code = submit(cast, **kwargs)
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor)
    feedback = do_draft_answer(feedback, acting_user=cast.commune_editor, answer="Đã thay bóng đèn ngày 4/12.")
    feedback = do_approve_answer(feedback, acting_user=cast.approver)
    return feedback, code
