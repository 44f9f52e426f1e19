"""Through the real device gateway (uvicorn process): an e-board enrolled while an alert is current gets it, whether
it was added to the area after the alert went out or enrolled again after losing its storage (issue 9, item 10)."""

from __future__ import annotations

import pytest

from nguon.alerts import actions
from nguon.alerts.models import AlertDispatch, DispatchState
from nguon.alerts.tests.helpers import make_alert
from nguon.alerts.tests.test_gateway_alerts import ack, next_of_type
from nguon.broadcast import actions as broadcast_actions
from nguon.broadcast.tests.device_helpers import make_device, open_event
from nguon.broadcast.tests.test_gateway import Events, enrol, until
from nguon.broadcast.tests.test_gateway import server as server  # noqa: F401  (the module-scoped fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_boards_enrolled_while_an_alert_is_current_are_sent_it(server, cast):
    shown = make_device(cast, "EN-001", kind="board")
    token, public_key = enrol(server, cast, shown)
    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)
    stream = Events(server, token)
    assert open_event(next_of_type(stream, "alert")["data"], public_key)["alert"]["id"] == alert.pk
    stream.close()
    ack(server, token, alert, 1, "acknowledged")
    ack(server, token, alert, 2, "displayed")
    assert until(lambda: AlertDispatch.objects.get(alert=alert, device=shown).state == DispatchState.DISPLAYED, 5)

    # Acknowledged: a new stream starts with what comes next, not with the alert.
    stream = Events(server, token)
    broadcast_actions.do_push_command(
        [shown], type="volume", body={"volume": 40}, acting_user=cast.approver, unit=cast.commune
    )
    assert stream.next_frame()["event"] == "volume"
    stream.close()

    # The board is wiped and enrolled again: it has forgotten the alert, so it is sent it again.
    token, public_key = enrol(server, cast, shown)
    stream = Events(server, token)
    frame = next_of_type(stream, "alert")
    assert open_event(frame["data"], public_key)["alert"]["id"] == alert.pk
    stream.close()
    assert AlertDispatch.objects.get(alert=alert, device=shown).state in (DispatchState.QUEUED, DispatchState.SENT)

    # A board put up in the area after the alert went out gets it at its first connection.
    late = make_device(cast, "EN-002", kind="board")
    token, public_key = enrol(server, cast, late)
    stream = Events(server, token)
    frame = next_of_type(stream, "alert")
    assert open_event(frame["data"], public_key)["alert"]["id"] == alert.pk
    stream.close()
    assert until(lambda: AlertDispatch.objects.get(alert=alert, device=late).state == DispatchState.SENT, 5)
