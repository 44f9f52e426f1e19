"""Deadline reminders: told once per deadline, to the people who can still act on it."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone

from nguon.alerts.tests.helpers import make_alert
from nguon.broadcast.actions import SlotData, do_save_slot
from nguon.content import actions as content_actions
from nguon.content.tests.conftest import make_bulletin, publish
from nguon.notifications.models import Kind
from nguon.notifications.reminders import send_reminders
from nguon.notifications.tasks import send_deadline_reminders
from nguon.notifications.tests.helpers import kinds_of, office  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_bulletin_near_its_publish_time_reminds_its_approvers_once(cast, office):  # noqa: F811
    now = timezone.now()
    in_40_minutes = now + timedelta(minutes=40)
    soon = make_bulletin(cast.commune, cast.commune_editor, title="Lịch cắt điện", publish_at=in_40_minutes)
    content_actions.do_submit_bulletin(soon, acting_user=cast.commune_editor)
    later = make_bulletin(cast.commune, cast.commune_editor, title="Tin tuần sau", publish_at=now + timedelta(days=7))
    content_actions.do_submit_bulletin(later, acting_user=cast.commune_editor)
    draft = make_bulletin(cast.commune, cast.commune_editor, title="Nháp", publish_at=now + timedelta(minutes=30))

    assert send_reminders(now) == 3  # two approvers for the submitted one, the author of the draft
    note = office.commune_approver.notifications.get(kind=Kind.DEADLINE)
    assert note.title.startswith("Cần phê duyệt trước ") and note.title.endswith(": Lịch cắt điện")
    assert note.link == f"/bulletins/{soon.pk}/"
    assert kinds_of(office.other_approver) == []
    assert cast.commune_editor.notifications.get(kind=Kind.DEADLINE).link == f"/bulletins/{draft.pk}/"
    # The next runs tell nobody again about the same deadline.
    assert send_reminders(now + timedelta(minutes=5)) == 0
    assert send_reminders(now + timedelta(minutes=45)) == 0


def test_pending_alert_about_to_expire_reminds_its_approvers(cast, office):  # noqa: F811
    now = timezone.now()
    alert = make_alert(cast, unit=cast.commune, user=cast.commune_editor, expires=now + timedelta(minutes=20))
    assert send_reminders(now) == 2
    note = office.commune_approver.notifications.get(kind=Kind.DEADLINE)
    assert note.link == f"/alerts/{alert.pk}/" and "vẫn đang chờ phê duyệt" in note.title
    assert kinds_of(office.other_approver) == []


def test_slot_holding_a_withdrawn_bulletin_warns_its_operators(cast, office):  # noqa: F811
    bulletin = publish(make_bulletin(cast.commune, cast.commune_editor, title="Tin đã rút"),
                       editor=cast.commune_editor, approver=cast.approver)  # fmt: skip
    now = timezone.localtime().replace(second=0, microsecond=0)
    start = max((now + timedelta(minutes=30)).time(), time(0, 1)) if now.hour < 23 else None
    if start is None:  # the slot could not start today within the hour without crossing midnight
        pytest.skip("too close to midnight for a same-day slot")
    slot = do_save_slot(
        None,
        unit=cast.commune,
        data=SlotData(
            name="Bản tin tối",
            start_date=now.date(),
            start_time=start,
            end_time=time(23, 59),
            items=[{"kind": "bulletin", "bulletin": bulletin}],
        ),
        acting_user=cast.approver,
    )
    assert send_reminders(now) == 0  # in use: nothing to say
    content_actions.do_withdraw_bulletin(bulletin, acting_user=cast.approver, comment="Sai số liệu.")

    assert send_reminders(now) >= 1
    note = office.commune_operator.notifications.get(kind=Kind.DEADLINE)
    assert note.link == f"/schedules/slot/{slot.pk}/"
    assert "Tin đã rút" in note.body
    assert kinds_of(office.other_operator) == []


def test_the_periodic_job_runs(cast):
    assert send_deadline_reminders.call_local() == 0
