"""A Cancel or an Update that arrives while its alert still awaits approval withdraws that alert (issue 9, item 3):
through the API, a CAP import, a trusted sender and the back office; the withdrawn alert can never be approved,
never reaches a device or the public, and the approver is told why."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from nguon.alerts import actions, importer
from nguon.alerts.models import Alert, AlertDispatch, AlertState, MsgType
from nguon.alerts.signals import alert_withdrawn
from nguon.alerts.tests.helpers import alert_data, device_at, make_alert
from nguon.alerts.tests.test_import import flood_cap
from nguon.audit.models import AuditEvent
from nguon.broadcast.models import PushEvent
from nguon.core.errors import Conflict, Forbidden

pytestmark = pytest.mark.django_db

SENDER = "canhbao@phongchongthientai.gov.vn"


@pytest.fixture
def withdrawn_signals():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    alert_withdrawn.connect(receiver, dispatch_uid="test_withdrawn")
    yield received
    alert_withdrawn.disconnect(dispatch_uid="test_withdrawn")


def api_payload(**fields) -> dict:
    payload = {**alert_data(**fields), "unit": "75", "area_units": ["26068"]}
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in payload.items()}


def assert_never_sent(alert: Alert) -> None:
    assert not AlertDispatch.objects.filter(alert=alert).exists()
    assert not PushEvent.objects.filter(type="alert", body__alert__id=alert.pk).exists()
    assert not Alert.objects.public().filter(pk=alert.pk).exists()


def test_cancel_through_the_api_withdraws_a_pending_alert(
    cast, client_for, withdrawn_signals, django_capture_on_commit_callbacks
):
    device_at(cast, "E1", kind="board")
    editor, approver = client_for(cast.province_editor), client_for(cast.approver)
    response = editor.post("/api/v1/alerts", api_payload(), content_type="application/json")
    assert response.status_code == 201, response.content
    original = response.json()
    assert original["state"] == "pending"
    cancel = {**api_payload(msg_type="Cancel", note="Báo nhầm địa bàn"), "replaces": original["id"]}
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post("/api/v1/alerts", cancel, content_type="application/json")
    assert response.status_code == 201, response.content  # no longer 409
    body = response.json()
    assert body["msg_type"] == "Cancel" and body["replaces_id"] == original["id"]
    withdrawn = Alert.objects.get(pk=original["id"])
    assert withdrawn.state == AlertState.WITHDRAWN and withdrawn.closed_at is not None
    assert withdrawn.withdrawn_reason == "Báo nhầm địa bàn"
    # The approver is told why, through the signal notifications listen to.
    [signal] = withdrawn_signals
    assert signal["alert"].pk == withdrawn.pk and signal["by"].pk == body["id"]
    assert "Báo nhầm địa bàn" in signal["reason"] and signal["actor"] == cast.province_editor
    assert AuditEvent.objects.filter(action="alerts.withdrawn", object_id=str(withdrawn.pk)).exists()
    from nguon.notifications.models import Notification

    told = Notification.objects.get(recipient=cast.approver, kind="alert_withdrawn")
    assert "Báo nhầm địa bàn" in told.body and told.link == f"/alerts/{withdrawn.pk}/"
    # Approving it afterwards is refused with a clear message, and nothing is sent.
    response = approver.post(f"/api/v1/alerts/{withdrawn.pk}/approve")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "withdrawn" and "thu hồi" in error["message"]
    assert_never_sent(withdrawn)
    # The page says so.
    html = approver.get(f"/alerts/{withdrawn.pk}/").content.decode()
    assert "Đã thu hồi trước khi duyệt" in html and "Báo nhầm địa bàn" in html
    assert f'action="/alerts/{withdrawn.pk}/approve/"' not in html


def test_the_api_cancel_action_withdraws_a_pending_alert(cast, client_for):
    alert = make_alert(cast, user=cast.province_editor)
    approver = client_for(cast.approver)
    response = approver.post(
        f"/api/v1/alerts/{alert.pk}/cancel", {"note": "Trùng tin"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    alert.refresh_from_db()
    assert alert.state == AlertState.WITHDRAWN
    cancel = Alert.objects.get(msg_type=MsgType.CANCEL)
    assert cancel.state == AlertState.ISSUED and cancel.closed_at is not None  # its work is done
    html = approver.get(f"/alerts/{cancel.pk}/").content.decode()
    assert "không cần phê duyệt" in html
    assert not PushEvent.objects.exists()


def test_cancel_imported_while_pending_withdraws_and_the_feed_never_carries_it(cast, client, communes_fixture):
    _sender, token = actions.do_add_sender(name="Cục QLĐĐ và PCTT", cap_sender=SENDER, unit=cast.province)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    device_at(cast, "E1", kind="board")
    response = client.post("/api/v1/alerts/cap", flood_cap(), content_type="application/cap+xml", **headers)
    assert response.status_code == 201, response.content
    original = Alert.objects.get(pk=response.json()["id"])
    document = flood_cap("urn:oid:cancel.1", msg_type="Cancel", references=original.reference())
    response = client.post("/api/v1/alerts/cap", document, content_type="application/cap+xml", **headers)
    assert response.status_code == 201, response.content
    original.refresh_from_db()
    assert original.state == AlertState.WITHDRAWN
    with pytest.raises(Conflict) as caught:
        actions.do_approve(original, acting_user=cast.approver)
    assert caught.value.code == "withdrawn"
    assert_never_sent(original)
    feed = client.get("/canh-bao/feed.atom").content.decode()
    assert original.identifier not in feed and "urn:oid:cancel.1" not in feed


def test_cancel_imported_from_a_file_while_pending(cast, communes_fixture):
    original = importer.import_cap(flood_cap(), unit=cast.province, acting_user=cast.province_editor)
    cancel = importer.import_cap(
        flood_cap("urn:oid:cancel.2", msg_type="Cancel", references=original.reference()),
        unit=cast.province, acting_user=cast.province_editor,
    )  # fmt: skip
    original.refresh_from_db()
    assert original.state == AlertState.WITHDRAWN and cancel.replaces_id == original.pk


def test_update_while_pending_takes_its_place_in_the_queue(cast, communes_fixture, withdrawn_signals,
                                                           django_capture_on_commit_callbacks):  # fmt: skip
    device_at(cast, "E1", kind="board")
    original = importer.import_cap(flood_cap(), unit=cast.province, acting_user=cast.province_editor)
    with django_capture_on_commit_callbacks(execute=True):
        update = importer.import_cap(
            flood_cap("urn:oid:update.1", msg_type="Update", references=original.reference()),
            unit=cast.province, acting_user=cast.province_editor,
        )  # fmt: skip
    original.refresh_from_db()
    assert original.state == AlertState.WITHDRAWN
    assert update.state == AlertState.PENDING and update.replaces_id == original.pk
    assert "cập nhật" in withdrawn_signals[0]["reason"]
    update = actions.do_approve(update, acting_user=cast.approver)
    assert update.state == AlertState.ISSUED and update.dispatches.count() == 1
    original.refresh_from_db()
    assert original.state == AlertState.WITHDRAWN
    assert_never_sent(original)
    # A Cancel that still names the first message is about the update that took its place.
    cancel = importer.import_cap(
        flood_cap("urn:oid:cancel.3", msg_type="Cancel", references=original.reference()),
        unit=cast.province, acting_user=cast.province_editor,
    )  # fmt: skip
    assert cancel.replaces_id == update.pk and cancel.state == AlertState.PENDING


def test_update_of_a_pending_update_supersedes_the_alert_on_the_air(cast):
    device_at(cast, "E1", kind="board")
    on_air = actions.do_approve(make_alert(cast, user=cast.province_editor), acting_user=cast.approver)
    first = make_alert(cast, user=cast.province_editor, msg_type="Update", replaces=on_air, headline="Bản 2")
    second = make_alert(cast, user=cast.province_editor, msg_type="Update", replaces=first, headline="Bản 3")
    first.refresh_from_db()
    assert first.state == AlertState.WITHDRAWN and second.state == AlertState.PENDING
    actions.do_approve(second, acting_user=cast.approver)
    on_air.refresh_from_db()
    assert on_air.state == AlertState.SUPERSEDED
    assert PushEvent.objects.filter(type="alert_cancel", body__alert__id=on_air.pk).exists()


def test_cancelling_a_pending_update_withdraws_it_and_cancels_the_alert_on_the_air(cast):
    device_at(cast, "E1", kind="board")
    on_air = actions.do_approve(make_alert(cast, user=cast.province_editor), acting_user=cast.approver)
    update = make_alert(cast, user=cast.province_editor, msg_type="Update", replaces=on_air)
    cancel = actions.do_cancel(update, acting_user=cast.approver, note="Hết nguy cơ")
    update.refresh_from_db()
    on_air.refresh_from_db()
    assert update.state == AlertState.WITHDRAWN and cancel.state == AlertState.ISSUED
    assert on_air.state == AlertState.CANCELLED
    assert PushEvent.objects.filter(type="alert_cancel", body__alert__id=on_air.pk).exists()


def test_who_may_withdraw(cast, communes_fixture):
    from nguon.accounts.roles import Role
    from nguon.conftest import make_user

    other_editor = make_user("editor2.tinh", cast.province, Role.EDITOR)
    # A trusted sender's alert: another sender, or staff claiming nothing, cannot withdraw it.
    sender, _token = actions.do_add_sender(name="Cục QLĐĐ và PCTT", cap_sender=SENDER, unit=cast.province)
    other, _token = actions.do_add_sender(name="Đài KTTV", cap_sender="kttv@example.vn", unit=cast.province)
    original = importer.import_cap(flood_cap(), unit=cast.province, sender=sender, origin="http")
    with pytest.raises(Forbidden):
        actions.do_cancel(original, acting_user=cast.province_editor)
    with pytest.raises(Forbidden) as caught:
        actions.do_create_alert(
            alert_data(msg_type="Cancel", replaces=original), unit=cast.province, acting_user=other_editor
        )
    assert caught.value.code == "withdraw_forbidden"
    refused = flood_cap("urn:oid:x.9", msg_type="Cancel", references=original.reference(), sender="kttv@example.vn")
    with pytest.raises(Forbidden):
        importer.import_cap(refused, unit=cast.province, sender=other, origin="http")
    original.refresh_from_db()
    assert original.state == AlertState.PENDING
    # Whoever composed an alert may withdraw it; an approver may withdraw any in their units.
    mine = make_alert(cast, user=cast.province_editor)
    actions.do_cancel(mine, acting_user=cast.province_editor)
    mine.refresh_from_db()
    assert mine.state == AlertState.WITHDRAWN
    actions.do_cancel(original, acting_user=cast.approver)
    original.refresh_from_db()
    assert original.state == AlertState.WITHDRAWN


def test_an_approval_that_lost_the_race_is_refused(cast):
    """The approver's copy of the alert was read before the Cancel withdrew it: the conditional UPDATE refuses."""
    stale = make_alert(cast, user=cast.province_editor)
    actions.do_cancel(Alert.objects.get(pk=stale.pk), acting_user=cast.approver)
    with pytest.raises(Conflict), transaction.atomic():
        actions._issue(stale, cast.approver, timezone.now())
    stale.refresh_from_db()
    assert stale.state == AlertState.WITHDRAWN
    assert_never_sent(stale)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks need PostgreSQL")
def test_approve_and_cancel_at_the_same_time_never_both_win(cast):
    """Threads approve and cancel the same pending alert together: either it was issued and then cancelled, or
    withdrawn and never issued; never withdrawn and sent."""
    device_at(cast, "E1", kind="board")
    for _round in range(5):
        alert = make_alert(cast, user=cast.province_editor)
        barrier, errors = threading.Barrier(2), []

        def run(step):
            try:
                barrier.wait(timeout=10)
                step()
            except (Conflict, Forbidden) as exc:
                errors.append(exc.code)
            finally:
                connections.close_all()

        approve = threading.Thread(target=run, args=(lambda: actions.do_approve(alert, acting_user=cast.approver),))
        cancel = threading.Thread(
            target=run, args=(lambda: actions.do_cancel(alert, acting_user=cast.province_editor),)
        )
        approve.start(), cancel.start()
        approve.join(30), cancel.join(30)
        alert.refresh_from_db()
        if alert.state == AlertState.WITHDRAWN:
            assert alert.issued_at is None and not alert.dispatches.exists()
        else:
            assert alert.issued_at is not None and alert.state in (AlertState.ISSUED, AlertState.CANCELLED)
        assert set(errors) <= {"withdrawn", "not_pending", "forbidden", "withdraw_forbidden", "not_current"}
    assert connection.vendor == "postgresql"


@pytest.fixture
def communes_fixture(cast):
    from nguon.units.models import Unit, UnitType

    ward = UnitType.objects.get(slug="phuong")
    Unit.objects.create(code="26017", name="Phường Tam Hiệp", unit_type=ward, parent=cast.province)
    return Unit.objects.filter(code__in=["26068", "26041", "26017"])


def test_update_composed_here_replaces_a_pending_alert_in_the_queue(cast, client_for):
    from nguon.alerts.tests.test_views import form_data

    original = make_alert(cast, user=cast.province_editor)
    client = client_for(cast.province_editor)
    html = client.get(f"/alerts/{original.pk}/").content.decode()
    assert f'href="/alerts/new/?update={original.pk}"' in html  # its author may update it while it waits
    assert client.get(f"/alerts/new/?update={original.pk}").status_code == 200
    data = form_data(cast.province, headline="Cảnh báo lũ (sửa địa bàn)", area_units=[cast.other_commune.pk])
    response = client.post(f"/alerts/new/?update={original.pk}", data)
    assert response.status_code == 302, response.content[:2000]
    update = Alert.objects.get(msg_type=MsgType.UPDATE)
    original.refresh_from_db()
    assert original.state == AlertState.WITHDRAWN and update.state == AlertState.PENDING
    assert update.replaces_id == original.pk
    # The approver reads why on the withdrawn alert, and issues the update that took its place.
    html = client_for(cast.approver).get(f"/alerts/{original.pk}/").content.decode()
    assert "Một bản cập nhật" in html and f'href="/alerts/{update.pk}/"' in html
    assert actions.do_approve(update, acting_user=cast.approver).state == AlertState.ISSUED
