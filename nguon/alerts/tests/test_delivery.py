"""Targeting by units and by shapes, drills only to drill devices, approval rules, dispatch rows and events."""

from __future__ import annotations

import pytest
from django.utils import timezone

from nguon.accounts.roles import Role
from nguon.alerts import actions, delivery
from nguon.alerts.models import AlertDispatch, AlertRule, AlertState, DispatchState
from nguon.alerts.tests.helpers import device_at, make_alert
from nguon.broadcast.models import PushEvent
from nguon.conftest import make_user
from nguon.core.errors import Conflict, Forbidden, Invalid

pytestmark = pytest.mark.django_db

# A square around central Biên Hòa, and points inside and outside it.
SQUARE = [[10.90, 106.80], [10.90, 106.90], [11.00, 106.90], [11.00, 106.80], [10.90, 106.80]]


def ids(devices):
    return sorted(d.pk for d in devices)


def test_units_reach_every_device_below_them_and_nothing_else(cast):
    inside = [device_at(cast, "A1"), device_at(cast, "A2", kind="board")]
    device_at(cast, "B1", unit=cast.other_commune)
    alert = make_alert(cast, area_units=[cast.commune])
    assert [pk for pk, _ in delivery.target_devices(alert)] == ids(inside)


def test_polygon_and_circle_reach_devices_inside_them(cast):
    in_square = device_at(cast, "P1", unit=cast.other_commune, lat=10.95, lon=106.85)
    device_at(cast, "P2", unit=cast.other_commune, lat=10.95, lon=106.95)  # east of the square
    device_at(cast, "P3", unit=cast.other_commune)  # no coordinates
    in_circle = device_at(cast, "C1", unit=cast.other_commune, lat=11.20, lon=107.20)
    device_at(cast, "C2", unit=cast.other_commune, lat=11.20, lon=107.40)  # ~22 km away
    alert = make_alert(cast, area_units=[], polygons=[SQUARE], circles=[[11.21, 107.21, 5.0]])
    assert [pk for pk, _ in delivery.target_devices(alert)] == ids([in_square, in_circle])


def test_shapes_never_reach_beyond_the_issuing_units_subtree(cast):
    device_at(cast, "P1", unit=cast.other_commune, lat=10.95, lon=106.85)
    mine = device_at(cast, "P2", lat=10.95, lon=106.86)
    commune_approver = make_user("approver.bienhoa", cast.commune, Role.APPROVER)
    alert = make_alert(cast, unit=cast.commune, user=commune_approver, area_units=[], polygons=[SQUARE])
    assert [pk for pk, _ in delivery.target_devices(alert)] == [mine.pk]


@pytest.mark.parametrize("status", ["Exercise", "Test"])
def test_drills_reach_only_drill_devices(cast, status):
    drill = device_at(cast, "D1", is_drill=True)
    device_at(cast, "D2")
    alert = make_alert(cast, status=status)
    actions.do_approve(alert, acting_user=cast.approver)
    sent = set(AlertDispatch.objects.filter(alert=alert).values_list("device_id", flat=True))
    assert sent == {drill.pk}
    for event in PushEvent.objects.filter(type="alert"):
        assert event.device_ids == [drill.pk]


def test_issuing_creates_rows_and_one_event_per_kind(cast):
    speaker, board = device_at(cast, "S1"), device_at(cast, "E1", kind="board")
    alert = make_alert(cast)
    assert alert.state == AlertState.PENDING
    assert not PushEvent.objects.filter(type="alert").exists()
    actions.do_approve(alert, acting_user=cast.approver)
    alert.refresh_from_db()
    assert alert.state == AlertState.ISSUED
    rows = dict(AlertDispatch.objects.filter(alert=alert).values_list("device_id", "state"))
    assert rows == {speaker.pk: DispatchState.QUEUED, board.pk: DispatchState.QUEUED}
    # No audio yet: the e-board is told at once, the loudspeaker when its sound is ready.
    (event,) = PushEvent.objects.filter(type="alert")
    assert event.device_ids == [board.pk]
    assert event.body["alert"]["headline"] == alert.headline
    assert event.body["item"] is None
    # Dispatching again sends nothing new.
    assert delivery.dispatch(alert) == []


def test_one_person_rule_issues_at_once_two_person_rule_needs_another(cast):
    device_at(cast, "S1", kind="board")
    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)
    assert alert.__class__.objects.get(pk=alert.pk).state == AlertState.ISSUED

    AlertRule.objects.create(unit=cast.province, approvals_required=2)
    second = make_alert(cast, headline="Cảnh báo thứ hai")
    second = actions.do_approve(second, acting_user=cast.approver)
    assert second.state == AlertState.PENDING
    assert not AlertDispatch.objects.filter(alert=second).exists()
    with pytest.raises(Conflict):
        actions.do_approve(second, acting_user=cast.approver)  # the same person twice is not two people
    other = make_user("approver2.tinh", cast.province, Role.APPROVER)
    second = actions.do_approve(second, acting_user=other)
    assert second.state == AlertState.ISSUED
    assert AlertDispatch.objects.filter(alert=second).count() == 1


def test_rule_of_a_unit_above_applies_below(cast):
    AlertRule.objects.create(unit=cast.province, approvals_required=2)
    assert actions.approvals_required(cast.commune) == 2
    AlertRule.objects.create(unit=cast.commune, approvals_required=1)
    assert actions.approvals_required(cast.commune) == 1


def test_editors_compose_but_cannot_approve(cast):
    alert = make_alert(cast, user=cast.province_editor)
    with pytest.raises(Forbidden):
        actions.do_approve(alert, acting_user=cast.province_editor)
    with pytest.raises(Forbidden):
        make_alert(cast, unit=cast.province, user=cast.commune_editor)


def test_expired_or_shapeless_alerts_are_refused_with_reasons(cast):
    past = timezone.now() - timezone.timedelta(minutes=1)
    with pytest.raises(Invalid) as caught:
        make_alert(cast, expires=past, onset=None)
    assert "expires" in caught.value.fields
    with pytest.raises(Invalid) as caught:
        make_alert(cast, area_units=[])
    assert "area_units" in caught.value.fields
    open_ring = SQUARE[:-1]
    with pytest.raises(Invalid) as caught:
        make_alert(cast, area_units=[], polygons=[open_ring])
    assert "polygons" in caught.value.fields
    huge = [[5.0, 100.0], [5.0, 115.0], [25.0, 115.0], [25.0, 100.0], [5.0, 100.0]]
    with pytest.raises(Invalid) as caught:
        make_alert(cast, area_units=[], polygons=[huge])
    assert "polygons" in caught.value.fields
    assert not alert_rows()


def alert_rows():
    from nguon.alerts.models import Alert

    return list(Alert.objects.all())


def test_cancel_retracts_from_every_device_that_got_it(cast):
    board = device_at(cast, "E1", kind="board")
    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)
    cancel = actions.do_cancel(alert, acting_user=cast.approver, note="Nước đã rút")
    alert.refresh_from_db()
    assert alert.state == AlertState.CANCELLED
    assert cancel.msg_type == "Cancel" and cancel.replaces_id == alert.pk
    assert cancel.references == [alert.reference()]
    (event,) = PushEvent.objects.filter(type="alert_cancel")
    assert event.device_ids == [board.pk] and event.body == {"alert": {"id": alert.pk}}
    with pytest.raises(Conflict):
        actions.do_cancel(alert, acting_user=cast.approver)


def test_rules_change_through_the_action_audited_and_by_administrators_only(cast):
    from nguon.audit.models import AuditEvent

    with pytest.raises(Forbidden):
        actions.do_set_alert_rule(cast.province, 2, acting_user=cast.approver)
    actions.do_set_alert_rule(cast.province, 2, acting_user=cast.province_admin)
    assert actions.approvals_required(cast.commune) == 2
    actions.do_set_alert_rule(cast.province, None, acting_user=cast.province_admin)
    assert actions.approvals_required(cast.commune) == 1
    changes = [e.changes for e in AuditEvent.objects.filter(action="alerts.rule_set").order_by("id")]
    assert changes == [{"approvals_required": [None, 2]}, {"approvals_required": [2, None]}]


def test_switching_a_sender_off_is_audited_and_its_token_stops_working(cast, client):
    from nguon.audit.models import AuditEvent

    sender, token = actions.do_add_sender(name="Cục PCTT", cap_sender="pctt@example.gov.vn", unit=cast.province)
    actions.do_update_sender(sender, name="Cục PCTT", is_active=False, acting_user=cast.province_admin)
    event = AuditEvent.objects.get(action="alerts.sender_updated")
    assert event.changes == {"is_active": [True, False]}
    response = client.post("/api/v1/alerts/cap", b"<alert/>", content_type="application/cap+xml",
                           HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert response.status_code == 401


def test_the_admin_sets_rules_through_the_action(cast, client_for):
    from nguon.audit.models import AuditEvent
    from nguon.conftest import give_totp

    give_totp(cast.province_admin)
    admin = client_for(cast.province_admin)
    response = admin.post("/admin/alerts/alertrule/add/", {"unit": cast.province.pk, "approvals_required": 2})
    assert response.status_code == 302, response.content[:500]
    assert actions.approvals_required(cast.commune) == 2
    assert AuditEvent.objects.filter(action="alerts.rule_set", actor=cast.province_admin).exists()


def test_delivered_counts_every_delivered_state():
    from nguon.alerts.models import DELIVERED_STATES

    assert set(DELIVERED_STATES) == {"acknowledged", "played", "displayed"}
    assert (
        delivery.delivered({"queued": 5, "sent": 4, "acknowledged": 1, "played": 2, "displayed": 3, "failed": 6}) == 6
    )
