"""Alerts through the real device gateway (uvicorn process): pushed at once to connected devices, kept for the
ones that were offline, acknowledged by report records, and never replayed to a device that acknowledged them."""

from __future__ import annotations

import json

import pytest

from nguon.alerts import actions
from nguon.alerts.models import AlertDispatch, DispatchState
from nguon.alerts.tests.helpers import make_alert
from nguon.broadcast.tests.device_helpers import batch_body, iso, make_device, open_event
from nguon.broadcast.tests.test_gateway import BASE, Events, bearer, enrol, until
from nguon.broadcast.tests.test_gateway import server as server  # noqa: F401  (the module-scoped fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def state_of(alert, device) -> str:
    return AlertDispatch.objects.get(alert=alert, device=device).state


def ack(server, token, alert, seq, state="acknowledged"):
    from django.utils import timezone

    record = {"seq": seq, "type": "alert", "alert": alert.pk, "state": state, "at": iso(timezone.now())}
    status, _headers, body = server.request("POST", f"{BASE}/reports", batch_body(record), bearer(token))
    assert status == 200, body
    return json.loads(body)


def next_of_type(stream, kind):
    for _ in range(10):
        frame = stream.next_frame()
        assert frame is not None, "the stream ended"
        if frame["event"] == kind:
            return frame
    raise AssertionError(f"no {kind} event")


def test_alert_reaches_online_devices_at_once_and_offline_ones_when_they_return(server, cast):
    online, offline = make_device(cast, "AL-001", kind="board"), make_device(cast, "AL-002", kind="board")
    online_token, public_key = enrol(server, cast, online)
    offline_token, _key = enrol(server, cast, offline)
    stream = Events(server, online_token)

    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)

    frame = next_of_type(stream, "alert")
    payload = open_event(frame["data"], public_key)  # verifies the signature
    assert payload["alert"]["id"] == alert.pk
    assert payload["alert"]["headline"] == alert.headline
    assert payload["device"] == "*"
    assert until(lambda: state_of(alert, online) == DispatchState.SENT, 5)
    assert state_of(alert, offline) == DispatchState.QUEUED

    answer = ack(server, online_token, alert, 1)
    assert answer["stored"] == 1 and answer["rejected"] == []
    assert state_of(alert, online) == DispatchState.ACKNOWLEDGED
    assert ack(server, online_token, alert, 1)["duplicates"] == 1  # the same record again: stored once

    # The offline device connects without Last-Event-ID: the alert is still current, so it gets it.
    late = Events(server, offline_token)
    assert open_event(next_of_type(late, "alert")["data"], public_key)["alert"]["id"] == alert.pk
    late.close()
    ack(server, offline_token, alert, 1)
    ack(server, offline_token, alert, 2, state="played")
    assert state_of(alert, offline) == DispatchState.PLAYED
    ack(server, offline_token, alert, 3, state="acknowledged")  # late: a state never goes back
    assert state_of(alert, offline) == DispatchState.PLAYED

    # Having acknowledged it, the device is not sent it again when it reconnects; a cancel still reaches it.
    again = Events(server, offline_token)
    actions.do_cancel(alert, acting_user=cast.approver)
    cancel = next_of_type(again, "alert_cancel")
    assert open_event(cancel["data"], public_key)["alert"] == {"id": alert.pk}
    again.close()
    stream.close()
