"""Who is told what: by role and unit subtree, never outside it; the actor is never told of their own step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from nguon.alerts import actions as alert_actions
from nguon.alerts.signals import alert_withdrawn
from nguon.alerts.tests.helpers import device_at, make_alert
from nguon.broadcast.models import Device
from nguon.broadcast.monitoring import mark_overdue_offline
from nguon.content import actions as content_actions
from nguon.content.tests.conftest import make_bulletin
from nguon.notifications.models import Kind, Notification
from nguon.notifications.tests.helpers import kinds_of, office  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_submitted_bulletin_tells_approvers_of_its_unit_and_above_only(
    cast,
    office,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    bulletin = make_bulletin(cast.commune, cast.commune_editor, title="Lịch tiêm chủng")
    with django_capture_on_commit_callbacks(execute=True):
        content_actions.do_submit_bulletin(bulletin, acting_user=cast.commune_editor)

    assert kinds_of(office.commune_approver) == [Kind.BULLETIN_SUBMITTED]
    assert kinds_of(cast.approver) == [Kind.BULLETIN_SUBMITTED]  # the province's approver covers the commune
    assert kinds_of(office.other_approver) == []  # another commune's approver never hears of it
    assert kinds_of(cast.commune_editor) == []  # the author is not told of their own step
    assert kinds_of(cast.province_editor) == []
    note = office.commune_approver.notifications.get()
    assert note.title == "Bản tin chờ phê duyệt: Lịch tiêm chủng"
    assert note.link == f"/bulletins/{bulletin.pk}/"
    assert note.unit == cast.commune
    assert not note.sound
    # Approvers get it by e-mail by default (tests run the worker's task inline).
    assert sorted(m.to[0].split("<")[1].rstrip(">") for m in mail.outbox) == [
        "approver.bienhoa@example.vn",
        "approver.tinh@example.vn",
    ]
    assert mail.outbox[0].subject == "[Nguồn] Bản tin chờ phê duyệt: Lịch tiêm chủng"
    assert f"http://127.0.0.1:8000/bulletins/{bulletin.pk}/" in mail.outbox[0].body


def test_return_tells_the_author_and_clears_the_approvers_badge(
    cast,
    office,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    bulletin = make_bulletin(cast.commune, cast.commune_editor)
    with django_capture_on_commit_callbacks(execute=True):
        content_actions.do_submit_bulletin(bulletin, acting_user=cast.commune_editor)
    bulletin.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        content_actions.do_return_bulletin(bulletin, acting_user=office.commune_approver, comment="Thiếu ngày giờ.")

    returned = cast.commune_editor.notifications.get()
    assert returned.kind == Kind.BULLETIN_RETURNED
    assert "Thiếu ngày giờ." in returned.body
    # Somebody dealt with it: the other approvers' "awaiting approval" is read now.
    assert not Notification.objects.filter(kind=Kind.BULLETIN_SUBMITTED, read_at__isnull=True).exists()
    assert kinds_of(office.commune_approver) == [Kind.BULLETIN_SUBMITTED]

    # Submitted again (no edit): a new step, so approvers are told again.
    bulletin.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        content_actions.do_submit_bulletin(bulletin, acting_user=cast.commune_editor)
    assert kinds_of(office.commune_approver) == [Kind.BULLETIN_SUBMITTED, Kind.BULLETIN_SUBMITTED]
    bulletin.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        content_actions.do_approve_bulletin(
            bulletin, acting_user=cast.approver, revision_number=bulletin.current_revision.number
        )
    assert kinds_of(cast.commune_editor) == [Kind.BULLETIN_RETURNED, Kind.BULLETIN_APPROVED]
    assert not Notification.objects.filter(kind=Kind.BULLETIN_SUBMITTED, read_at__isnull=True).exists()


def test_pending_alert_sounds_for_its_approvers_only(
    cast,
    office,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        alert = make_alert(cast, unit=cast.commune, user=cast.commune_editor)

    assert alert.state == "pending"
    for approver in (office.commune_approver, cast.approver):
        note = approver.notifications.get()
        assert (note.kind, note.sound, note.link) == (Kind.ALERT_PENDING, True, f"/alerts/{alert.pk}/")
        assert note.title == f"Cảnh báo chờ phê duyệt: {alert.headline}"
        assert "editor.bienhoa" in note.body
    assert kinds_of(office.other_approver) == []
    assert kinds_of(cast.commune_editor) == []
    assert kinds_of(office.commune_operator) == []

    with django_capture_on_commit_callbacks(execute=True):
        alert_actions.do_approve(alert, acting_user=office.commune_approver)
    # Issued: the pending notifications are resolved for everyone; the author learns it went out.
    assert not Notification.objects.filter(kind=Kind.ALERT_PENDING, read_at__isnull=True).exists()
    assert kinds_of(cast.commune_editor) == [Kind.ALERT_ISSUED]


def test_rejected_and_withdrawn_alerts_tell_why(
    cast,
    office,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        first = make_alert(cast, unit=cast.commune, user=cast.commune_editor)
        second = make_alert(cast, unit=cast.commune, user=cast.commune_editor, headline="Cảnh báo sạt lở")
    with django_capture_on_commit_callbacks(execute=True):
        alert_actions.do_reject(first, acting_user=cast.approver, comment="Trùng tin.")
    rejected = cast.commune_editor.notifications.get(kind=Kind.ALERT_REJECTED)
    assert "Trùng tin." in rejected.body

    # The alerts app sends this when a Cancel arrives for an alert still awaiting approval.
    alert_withdrawn.send(sender=type(second), alert=second, reason="Bên gửi đã hủy tin.", by=None)
    for person in (office.commune_approver, cast.approver, cast.commune_editor):
        withdrawn = person.notifications.get(kind=Kind.ALERT_WITHDRAWN)
        assert withdrawn.body.startswith("Bên gửi đã hủy tin.")
    assert kinds_of(office.other_approver) == []
    assert not Notification.objects.filter(kind=Kind.ALERT_PENDING, read_at__isnull=True).exists()


def test_devices_offline_tell_operators_of_their_units(
    cast,
    office,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    mine = device_at(cast, "BH-001")
    theirs = device_at(cast, "TB-001", unit=cast.other_commune)
    past = timezone.now() - timedelta(minutes=30)
    Device.objects.filter(pk__in=[mine.pk, theirs.pk]).update(is_online=True, last_seen_at=past, silent_after=past)

    with django_capture_on_commit_callbacks(execute=True):
        assert mark_overdue_offline() == 2

    note = office.commune_operator.notifications.get()
    assert note.kind == Kind.DEVICES_OFFLINE
    assert note.title == "1 thiết bị mất kết nối"
    assert mine.name in note.body and theirs.name not in note.body
    assert note.link == f"/devices/?status=offline&unit={cast.commune.code}"
    other = office.other_operator.notifications.get()
    assert theirs.name in other.body and mine.name not in other.body
    # The province's technician covers both communes: one notification listing both.
    province = office.province_technician.notifications.get()
    assert province.title == "2 thiết bị mất kết nối"
    assert province.link == "/devices/?status=offline"
    assert kinds_of(cast.commune_editor) == []
    assert kinds_of(office.commune_approver) == []


def test_a_failing_receiver_never_breaks_the_action(cast, monkeypatch, django_capture_on_commit_callbacks):
    from nguon.notifications import receivers

    def boom(*args, **kwargs):
        raise RuntimeError("notifications are down")

    monkeypatch.setattr(receivers, "notify", boom)
    bulletin = make_bulletin(cast.commune, cast.commune_editor)
    with django_capture_on_commit_callbacks(execute=True):
        content_actions.do_submit_bulletin(bulletin, acting_user=cast.commune_editor)
    bulletin.refresh_from_db()
    assert bulletin.status == "submitted"
    assert not Notification.objects.exists()


def test_later_outages_join_the_unread_notification_without_a_new_email(
    cast,
    office,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    first, second = device_at(cast, "BH-001"), device_at(cast, "BH-002")
    past = timezone.now() - timedelta(minutes=30)
    Device.objects.filter(pk=first.pk).update(is_online=True, last_seen_at=past, silent_after=past)
    with django_capture_on_commit_callbacks(execute=True):
        mark_overdue_offline()
    Device.objects.filter(pk=second.pk).update(is_online=True, last_seen_at=past, silent_after=past)
    with django_capture_on_commit_callbacks(execute=True):
        mark_overdue_offline()

    note = office.commune_operator.notifications.get()
    assert note.title == "2 thiết bị mất kết nối"
    assert first.name in note.body and second.name in note.body
    assert note.data == {"device_ids": sorted([first.pk, second.pk])}
    assert sum("operator.bienhoa@example.vn" in m.to[0] for m in mail.outbox) == 1

    # Once read, the next outage is a new notification (and a new e-mail).
    note.read_at = timezone.now()
    note.save(update_fields=["read_at"])
    Device.objects.filter(pk=first.pk).update(is_online=True, silent_after=past)
    with django_capture_on_commit_callbacks(execute=True):
        mark_overdue_offline()
    assert office.commune_operator.notifications.count() == 2
