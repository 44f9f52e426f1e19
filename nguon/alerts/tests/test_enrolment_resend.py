"""A device enrolled while an alert is current gets it (issue 9, item 10): one added to the area after the alert
went out, and one enrolled again after losing its storage (a wiped e-board), which must show it again."""

from __future__ import annotations

import pytest

from nguon.alerts import actions
from nguon.alerts.models import AlertDispatch, DispatchState
from nguon.alerts.receipts import advance
from nguon.alerts.tests.helpers import device_at, make_alert
from nguon.broadcast import device_api
from nguon.broadcast.models import PushEvent
from nguon.broadcast.tests.device_helpers import enrolment_code, open_event, parse_frames

BASE = "/device/v1"


@pytest.fixture(autouse=True)
def fresh_limits():
    device_api.enrol_limiter.reset()


def enrol(client, cast, device) -> tuple[str, str]:
    answer = client.post(f"{BASE}/enrol", {"code": enrolment_code(cast, device)}, content_type="application/json")
    assert answer.status_code == 200, answer.content
    return answer.json()["token"], answer.json()["public_key"]


def first_event(client, token: str, public_key: str, **headers) -> dict:
    response = client.get(f"{BASE}/events", HTTP_AUTHORIZATION=f"Bearer {token}", **headers)
    chunks = iter(response.streaming_content)
    assert next(chunks).startswith(b": connected")
    return open_event(parse_frames(next(chunks).decode())[0]["data"], public_key)


def test_a_board_added_and_enrolled_after_the_alert_went_out_gets_it(cast, client, django_capture_on_commit_callbacks):
    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)
    board = device_at(cast, "EB-NEW", kind="board")
    assert not AlertDispatch.objects.filter(device=board).exists()

    with django_capture_on_commit_callbacks(execute=True):
        token, public_key = enrol(client, cast, board)

    row = AlertDispatch.objects.get(alert=alert, device=board)
    assert row.state == DispatchState.QUEUED and row.event_id
    # Its first stream (no Last-Event-ID: a fresh board) starts with the alert.
    payload = first_event(client, token, public_key)
    assert (payload["type"], payload["alert"]["id"], payload["device"]) == ("alert", alert.pk, "EB-NEW")


def test_a_board_enrolled_again_after_losing_its_storage_gets_the_alert_again(
    cast, client, django_capture_on_commit_callbacks
):
    board = device_at(cast, "EB-OLD", kind="board")
    with django_capture_on_commit_callbacks(execute=True):
        token, public_key = enrol(client, cast, board)
    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)
    first = AlertDispatch.objects.get(alert=alert, device=board)
    advance(alert.pk, [board.pk], DispatchState.DISPLAYED, first.queued_at)
    # Displayed and acknowledged: a new stream does not replay it...
    assert device_api._sticky_replay(board, 0) == []

    # ...until the board is wiped and enrolled again: it gets a new event, and its row waits for it again.
    with django_capture_on_commit_callbacks(execute=True):
        token, public_key = enrol(client, cast, board)
    row = AlertDispatch.objects.get(alert=alert, device=board)
    assert row.state == DispatchState.QUEUED and row.event_id != first.event_id
    assert PushEvent.objects.filter(type="enrolled", device_ids=[board.pk]).count() == 2
    payload = first_event(client, token, public_key)
    assert (payload["type"], payload["alert"]["id"]) == ("alert", alert.pk)  # (the board drops repeats by alert id)
