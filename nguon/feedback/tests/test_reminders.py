"""Deadline reminders: one working day before the deadline and once it has passed, each told once."""

from __future__ import annotations

from datetime import datetime

import pytest
import time_machine
from django.utils import timezone

from nguon.feedback.actions import do_accept_feedback, do_approve_answer, do_assign_feedback, do_draft_answer
from nguon.feedback.reminders import send_reminders
from nguon.feedback.tasks import remind_feedback_deadlines
from nguon.feedback.tests.helpers import submit
from nguon.notifications.models import Kind, Notification

pytestmark = pytest.mark.django_db

VN = timezone.get_fixed_timezone(7 * 60)


def at(*args):
    return datetime(*args, tzinfo=VN)


def due_notes(user=None):
    notes = Notification.objects.filter(kind=Kind.FEEDBACK_DUE)
    return notes.filter(recipient=user) if user else notes


def run(moment) -> int:
    with time_machine.travel(moment, tick=False):
        return send_reminders()


def test_reminded_on_the_friday_before_a_monday_deadline_then_when_overdue(cast):
    feedback, _code = submit(cast)  # street lights: 5 working days
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor, now=at(2026, 11, 2, 9, 0))
    assert timezone.localtime(feedback.due_at) == at(2026, 11, 9, 17, 0)  # Monday
    assert run(at(2026, 11, 5, 10, 0)) == 0  # Thursday: two working days left
    assert run(at(2026, 11, 6, 8, 0)) > 0  # Friday: the next working day is the deadline
    first = due_notes().count()
    # Unassigned: the commune's handlers (and those above it) are told, each once.
    assert due_notes(cast.commune_editor).count() == 1 and due_notes(cast.province_editor).count() == 1
    assert not due_notes(cast.outsider).exists()
    for moment in (at(2026, 11, 6, 16, 0), at(2026, 11, 7, 9, 0), at(2026, 11, 8, 9, 0), at(2026, 11, 9, 16, 59)):
        assert run(moment) == 0  # the weekend and the deadline day itself: nothing new
    assert due_notes().count() == first
    assert run(at(2026, 11, 9, 17, 15)) > 0  # passed
    note = due_notes(cast.commune_editor).order_by("-pk").first()
    assert ":overdue:" in note.key and note.link == f"/feedback/{feedback.pk}/"
    assert run(at(2026, 11, 10, 9, 0)) == 0 and run(at(2026, 11, 16, 9, 0)) == 0
    assert due_notes(cast.commune_editor).count() == 2


def test_reminded_before_a_holiday_and_only_the_assignee(cast):
    feedback, _code = submit(cast)
    # Accepted Monday 24 August 2026: due Thursday 3 September (31/8, 1/9 and 2/9 are days off).
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor, now=at(2026, 8, 24, 9, 0))
    assert timezone.localtime(feedback.due_at).date().isoformat() == "2026-09-03"
    do_assign_feedback(feedback, acting_user=cast.commune_editor, assignee=cast.commune_editor)
    assert run(at(2026, 8, 27, 9, 0)) == 0
    with time_machine.travel(at(2026, 8, 28, 9, 0), tick=False):
        assert remind_feedback_deadlines.call_local() == 1  # the periodic task: Friday before the holiday
    for day in (29, 30, 31):
        assert run(at(2026, 8, day, 9, 0)) == 0
    assert run(at(2026, 9, 2, 9, 0)) == 0
    assert list(due_notes().values_list("recipient", flat=True)) == [cast.commune_editor.pk]


def test_answered_items_are_not_reminded(cast):
    feedback, _code = submit(cast)
    feedback = do_accept_feedback(feedback, acting_user=cast.commune_editor, now=at(2026, 11, 2, 9, 0))
    feedback = do_draft_answer(feedback, acting_user=cast.commune_editor, answer="Đã sửa.")
    do_approve_answer(feedback, acting_user=cast.approver)
    assert run(at(2026, 11, 20, 9, 0)) == 0 and not due_notes().exists()
