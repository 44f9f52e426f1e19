"""Personal data: erased after the retention period, exported (and erased) on a person's request, all audited."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from nguon.audit.models import AuditEvent
from nguon.feedback.actions import do_close_feedback, do_refuse_feedback
from nguon.feedback.models import Feedback
from nguon.feedback.privacy import erase_expired, normalise_phone
from nguon.feedback.tasks import erase_expired_personal_data
from nguon.feedback.tests.helpers import answered, submit

pytestmark = pytest.mark.django_db


def test_contact_details_are_erased_after_the_retention_period(cast, settings, client_for):
    settings.FEEDBACK_RETENTION_DAYS = 365
    closed, _code = answered(cast)
    closed = do_close_feedback(closed, acting_user=cast.commune_editor)
    refused, _code = submit(cast)
    Feedback.objects.filter(pk=refused.pk).update(source_ip="203.0.113.9")
    refused = do_refuse_feedback(refused, acting_user=cast.commune_editor, reason="spam")
    still_open, _code = submit(cast)
    assert erase_expired() == 0
    later = timezone.now() + timedelta(days=366)
    with time_machine.travel(later, tick=False):
        assert erase_expired_personal_data.call_local() == 2
        assert erase_expired() == 0  # once
    for feedback in (closed, refused):
        feedback.refresh_from_db()
        assert (feedback.name, feedback.phone, feedback.email, feedback.source_ip) == ("", "", "", None)
        assert feedback.personal_data_erased_at is not None and feedback.text
    still_open.refresh_from_db()
    assert still_open.phone == "0912 345 678"
    rows = AuditEvent.objects.filter(action="feedback.personal_data_erased")
    assert rows.count() == 2 and rows.first().changes["trigger"] == "retention"
    # The page says so, and there is nothing to reveal.
    page = client_for(cast.commune_editor).get(f"/feedback/{closed.pk}/").content.decode()
    assert "/contact/" not in page
    assert client_for(cast.commune_editor).post(f"/feedback/{closed.pk}/contact/").status_code == 403


def test_the_export_command_prints_a_persons_feedback_and_can_erase(cast):
    first, _code = answered(cast)
    second, _code = submit(cast, phone="+84 912-345-678", email="")
    other, _code = submit(cast, phone="0988 000 111", email="b@example.org")
    out = StringIO()
    call_command("feedback_personal_data", "--phone", "0912345678", stdout=out)
    records = json.loads(out.getvalue())
    assert [r["number"] for r in records] == [first.number, second.number]
    assert records[0]["answer"] == "Đã thay bóng đèn ngày 4/12." and records[0]["status"] == "answered"
    assert records[0]["text"] and records[0]["history"]
    assert AuditEvent.objects.filter(action="feedback.personal_data_exported").count() == 1

    out = StringIO()
    call_command("feedback_personal_data", "--email", "AN@example.org", "--erase", stdout=out)
    assert [r["number"] for r in json.loads(out.getvalue())] == [first.number]
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.email == "" and first.phone == "" and first.personal_data_erased_at
    assert second.phone  # found by phone only, not asked to erase
    erased = AuditEvent.objects.get(action="feedback.personal_data_erased")
    assert erased.changes["trigger"] == "request"
    assert Feedback.objects.get(pk=other.pk).email == "b@example.org"
    with pytest.raises(CommandError):
        call_command("feedback_personal_data", "--phone", "12", stdout=StringIO())


def test_phone_numbers_compare_by_their_digits():
    assert normalise_phone("+84 912-345-678") == normalise_phone("0912 345 678") == "0912345678"
