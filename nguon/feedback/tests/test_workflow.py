from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from nguon.audit.models import AuditEvent
from nguon.core.errors import Conflict, Forbidden, Invalid
from nguon.feedback.actions import (
    FeedbackData,
    close_answered,
    do_accept_feedback,
    do_add_note,
    do_assign_feedback,
    do_draft_answer,
    do_rate_answer,
    do_refuse_feedback,
    do_reopen_by_citizen,
    do_return_answer,
    do_submit_feedback,
    do_transfer_feedback,
    find_by_code,
    find_by_token,
    route,
    tracking_token,
)
from nguon.feedback.models import RoutingRule, Status
from nguon.feedback.tests.helpers import answered, street_lights, submit
from nguon.notifications.models import Kind, Notification
from nguon.units.models import Organisation, OrganisationKind

pytestmark = pytest.mark.django_db

VN = timezone.get_fixed_timezone(7 * 60)


def test_submit_gives_a_code_that_only_the_hash_of_is_kept(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        feedback, code = submit(cast)
    assert feedback.number.startswith("PA-")
    assert code not in feedback.code_hash and len(code) == 14
    assert find_by_code(code) == feedback
    assert find_by_code(code.lower().replace("-", "")) == feedback
    assert find_by_code("0000-0000-0000") is None
    assert find_by_token(tracking_token(feedback)) == feedback
    assert find_by_token(tracking_token(feedback) + "x") is None
    assert feedback.handler_unit == cast.commune and feedback.status == Status.RECEIVED
    # The commune's handlers are told; the citizen gets the code by e-mail.
    assert Notification.objects.filter(recipient=cast.commune_editor, kind=Kind.FEEDBACK_RECEIVED).exists()
    assert len(mail.outbox) == 1 and code in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="feedback.submitted", object_id=str(feedback.pk)).exists()


def test_bad_input_is_refused_with_every_problem(cast):
    with pytest.raises(Invalid) as caught:
        do_submit_feedback(
            FeedbackData(topic=None, unit=None, text="<script>alert(1)</script>", phone="abc", email="not-mail")
        )
    assert set(caught.value.fields) == {"topic", "unit", "text", "phone", "email"}
    with pytest.raises(Invalid) as caught:
        do_submit_feedback(FeedbackData(topic=street_lights(), unit=cast.commune, text="x" * 5001))
    assert "text" in caught.value.fields
    with pytest.raises(Invalid):
        do_submit_feedback(FeedbackData(topic=street_lights(), unit=cast.commune, text="ok\x00"))


def test_deadline_counts_working_days_across_a_holiday(cast):
    feedback, _code = submit(cast)  # street lights: 5 working days
    # Accepted on Friday 28 August 2026: 31/8 (moved day off), 1/9 and 2/9 (National Day) do not count.
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor, now=datetime(2026, 8, 28, 9, 0, tzinfo=VN))
    due = timezone.localtime(feedback.due_at)
    assert (due.date().isoformat(), due.hour) == ("2026-09-09", 17)  # 3, 4, 7, 8, 9 September


def test_routing_by_topic_and_commune(cast):
    topic = street_lights()
    assert route(topic, cast.commune) == (cast.commune, None)
    power = Organisation.objects.create(unit=cast.province, name="Sở Xây dựng", kind=OrganisationKind.DEPARTMENT)
    topic.organisation = power
    topic.save()
    assert route(topic, cast.commune) == (cast.province, power)
    ward = Organisation.objects.create(
        unit=cast.commune, name="UBND phường Biên Hòa", kind=OrganisationKind.PEOPLES_COMMITTEE
    )
    RoutingRule.objects.create(topic=topic, unit=cast.commune, organisation=ward)
    assert route(topic, cast.commune) == (cast.commune, ward)
    assert route(topic, cast.other_commune) == (cast.province, power)


def test_the_whole_chain_with_history_and_on_time(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        feedback, _code = answered(cast)
    assert feedback.status == Status.ANSWERED and feedback.on_time is True
    actions = list(feedback.events.values_list("action", flat=True))
    assert actions == ["submit", "accept", "draft", "approve", "answer"]
    audited = set(AuditEvent.objects.filter(object_id=str(feedback.pk)).values_list("action", flat=True))
    assert {"feedback.accepted", "feedback.answer_approved", "feedback.answered"} <= audited
    # The approver was told of the draft; the citizen received the answer by e-mail.
    assert Notification.objects.filter(recipient=cast.approver, kind=Kind.FEEDBACK_DRAFTED).exists()
    assert any("Đã thay bóng đèn" in m.body for m in mail.outbox)
    feedback = do_rate_answer(feedback, rating=5, comment="Cảm ơn")
    assert feedback.rating == 5


def test_steps_need_the_right_role_and_status(cast):
    feedback, _code = submit(cast)
    with pytest.raises(Forbidden):
        do_accept_feedback(feedback, acting_user=cast.outsider)
    with pytest.raises(Conflict):
        do_draft_answer(feedback, acting_user=cast.commune_editor, answer="x")  # not accepted yet
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor)
    feedback = do_draft_answer(feedback, acting_user=cast.commune_editor, answer="Trả lời")
    from nguon.feedback.actions import do_approve_answer

    with pytest.raises(Forbidden):
        do_approve_answer(feedback, acting_user=cast.commune_editor)
    feedback = do_return_answer(feedback, acting_user=cast.approver, comment="Ghi rõ ngày sửa")
    assert feedback.status == Status.IN_PROGRESS


def test_refuse_duplicate_needs_the_original(cast):
    first, _ = submit(cast)
    second, _ = submit(cast)
    with pytest.raises(Invalid):
        do_refuse_feedback(second, acting_user=cast.commune_editor, reason="duplicate")
    second = do_refuse_feedback(second, acting_user=cast.commune_editor, reason="duplicate", duplicate_of=first)
    assert second.status == Status.REFUSED and second.duplicate_of == first


def test_assign_transfer_and_notes(cast):
    feedback, _ = submit(cast)
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor)
    with pytest.raises(Invalid):
        do_assign_feedback(feedback, acting_user=cast.commune_editor, assignee=cast.outsider)
    feedback = do_assign_feedback(feedback, acting_user=cast.commune_editor, assignee=cast.commune_editor)
    assert feedback.status == Status.ASSIGNED
    feedback = do_add_note(feedback, acting_user=cast.commune_editor, text="Đã gọi điện cho điện lực")
    assert feedback.events.filter(action="note", public=False).exists()
    department = Organisation.objects.create(unit=cast.province, name="Sở Xây dựng", kind=OrganisationKind.DEPARTMENT)
    feedback = do_transfer_feedback(
        feedback, acting_user=cast.commune_editor, organisation=department, reason="Thuộc thẩm quyền của Sở"
    )
    assert (feedback.status, feedback.handler_unit, feedback.assignee) == (Status.RECEIVED, cast.province, None)
    # The commune no longer handles it, but still sees it: it is about a place in its subtree.
    with pytest.raises(Forbidden):
        do_accept_feedback(feedback, acting_user=cast.commune_editor)


def test_reopen_within_the_period_then_closing(cast):
    feedback, _ = answered(cast)
    feedback = do_reopen_by_citizen(feedback, reason="Đèn lại hỏng")
    assert feedback.status == Status.IN_PROGRESS and feedback.reopen_count == 1
    feedback = do_draft_answer(feedback, acting_user=cast.commune_editor, answer="Đã thay lần hai.")
    from nguon.feedback.actions import do_approve_answer

    feedback = do_approve_answer(feedback, acting_user=cast.approver)
    later = feedback.answered_at + timedelta(days=60)
    with pytest.raises(Conflict):
        do_reopen_by_citizen(feedback, reason="Again", now=later)
    assert close_answered(now=later) == 1
    feedback.refresh_from_db()
    assert feedback.status == Status.CLOSED


def test_the_same_photo_sent_twice_is_stored_once(cast, tmp_path, settings):
    import hashlib

    from nguon.feedback.attachments import PreparedFile

    settings.MEDIA_ROOT = str(tmp_path / "media")
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"\xff\xd8\xff same bytes")
    sha = hashlib.sha256(photo.read_bytes()).hexdigest()

    def prepared():
        return PreparedFile("image", photo, "image/jpeg", photo.stat().st_size, sha, 1, 1, None, "p.jpg", "jpg")

    first, _ = submit(cast, attachments=[prepared()])
    second, _ = submit(cast, attachments=[prepared()], text="Một phản ánh khác về cùng bức ảnh.")
    names = {first.attachments.get().file.name, second.attachments.get().file.name}
    assert len(names) == 1 and names.pop().endswith(f"{sha}.jpg")
