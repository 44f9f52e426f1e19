"""Devices that cannot hold a stream (protocol §4.3): GET /device/v1/alerts answers the alert events a stream would
replay, signed the same way, from the gateway's memory and from the Django fallback alike; the fallback's event
stream replays what the gateway's does; a polling-only reference agent gets an alert within one poll."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from nguon.alerts import actions
from nguon.alerts.models import AlertDispatch, AlertReceipt, DispatchState
from nguon.alerts.tests.helpers import make_alert
from nguon.broadcast import actions as broadcast_actions
from nguon.broadcast.models import Device, Heartbeat
from nguon.broadcast.tests.agent_process import AGENT_DIR, start_agent, stop_agent
from nguon.broadcast.tests.device_helpers import batch_body, enrolment_code, iso, make_device, open_event, parse_frames
from nguon.broadcast.tests.test_gateway import BASE, Events, bearer, enrol, until
from nguon.broadcast.tests.test_gateway import server as server  # noqa: F401  (the module-scoped fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def gateway_alerts(server, token) -> dict:
    status, headers, body = server.request("GET", f"{BASE}/alerts", headers=bearer(token))
    assert status == 200, body
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"
    return json.loads(body)


def django_alerts(client, token) -> dict:
    response = client.get(f"{BASE}/alerts", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    return json.loads(response.content)


def ack(server, token, alert, seq):
    record = {"seq": seq, "type": "alert", "alert": alert.pk, "state": "acknowledged", "at": iso(timezone.now())}
    status, _headers, body = server.request("POST", f"{BASE}/reports", batch_body(record), bearer(token))
    assert status == 200, body


def _until_marker(frames, marker_id: int) -> list[dict]:
    got = []
    for frame in frames:
        got.append(frame)
        if frame["event"] == "volume" and int(frame["id"]) == marker_id:
            return got
    raise AssertionError(f"the stream ended before the marker: {got}")


def replays(server, client, token, last_event_id, marker) -> tuple[list[dict], list[dict]]:
    """The frames the gateway's stream and the Django fallback's stream send on connect, up to a marker event
    published once both are open (the test client runs the Django view's generator in this process)."""
    stream = Events(server, token, last_event_id)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if last_event_id is not None:
        headers["HTTP_LAST_EVENT_ID"] = str(last_event_id)
    response = client.get(f"{BASE}/events", **headers)
    assert response.status_code == 200
    try:
        marker_id = marker().pk

        def gateway():
            while (frame := stream.next_frame()) is not None:
                yield frame

        def django():
            for chunk in response.streaming_content:
                yield from parse_frames(chunk.decode())

        return _until_marker(gateway(), marker_id), _until_marker(django(), marker_id)
    finally:
        stream.close()
        response.close()


def test_gateway_and_django_answer_the_same_signed_alerts_and_replays(server, cast, client):
    acking, waiting = make_device(cast, "PL-001", kind="board"), make_device(cast, "PL-002", kind="board")
    acking_token, public_key = enrol(server, cast, acking)
    waiting_token, _key = enrol(server, cast, waiting)
    assert gateway_alerts(server, waiting_token) == {"events": []} == django_alerts(client, waiting_token)

    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)
    answer = until(lambda: gateway_alerts(server, waiting_token)["events"], 10)
    assert answer, "the gateway did not answer the alert"
    (entry,) = answer
    payload = open_event(entry["data"], public_key)  # signed like a streamed event
    assert (entry["type"], payload["type"], payload["id"]) == ("alert", "alert", entry["id"])
    assert payload["alert"]["id"] == alert.pk
    assert payload["device"] == "*" and payload["audience"]  # bound to its recipients (§4.2)
    assert gateway_alerts(server, waiting_token) == django_alerts(client, waiting_token)
    assert gateway_alerts(server, acking_token) == django_alerts(client, acking_token) == {"events": answer}

    # Answered by poll: the dispatch counts as sent, as when a stream carries it.
    assert until(lambda: AlertDispatch.objects.get(alert=alert, device=waiting).state == DispatchState.SENT, 5)

    # Acknowledged: neither answers it to that device any more; the other still gets it.
    ack(server, acking_token, alert, 1)
    assert gateway_alerts(server, acking_token) == {"events": []} == django_alerts(client, acking_token)
    assert gateway_alerts(server, waiting_token) == django_alerts(client, waiting_token) == {"events": answer}

    # The event streams replay alike, with and without Last-Event-ID, acknowledged or not.
    def marker(volume=50):
        return broadcast_actions.do_push_command(
            [acking, waiting], type="volume", body={"volume": volume}, acting_user=cast.approver, unit=cast.commune
        )

    replays(server, client, acking_token, None, lambda: marker(40))  # a command after the alert
    for token in (acking_token, waiting_token):
        for last_event_id in (None, entry["id"] - 1, entry["id"]):
            from_gateway, from_django = replays(server, client, token, last_event_id, marker)
            assert from_gateway == from_django, (token == acking_token, last_event_id)
    from_gateway, _ = replays(server, client, waiting_token, entry["id"] - 1, marker)
    assert [f["event"] for f in from_gateway[:2]] == ["alert", "volume"]
    assert from_gateway[0]["data"] == entry["data"]
    from_gateway, _ = replays(server, client, acking_token, entry["id"] - 1, marker)
    assert from_gateway[0]["event"] == "volume"  # acknowledged: not replayed
    from_gateway, _ = replays(server, client, waiting_token, None, marker)
    assert [f["event"] for f in from_gateway] == ["alert", "volume"]  # the alert, then the marker

    # Cancelled: the cancel is answered (to both devices), and by both servers alike.
    actions.do_cancel(alert, acting_user=cast.approver)

    def types(token):
        return [e["type"] for e in gateway_alerts(server, token)["events"]]

    assert until(lambda: types(acking_token) == ["alert_cancel"], 10), types(acking_token)
    for token in (acking_token, waiting_token):
        assert gateway_alerts(server, token) == django_alerts(client, token)


def test_alerts_poll_needs_a_device_token(server, client):
    status, headers, body = server.request("GET", f"{BASE}/alerts", headers=bearer("wrong"))
    assert (status, json.loads(body)["error"]["code"]) == (401, "unauthenticated")
    response = client.get(f"{BASE}/alerts", HTTP_AUTHORIZATION="Bearer wrong")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthenticated")


@pytest.mark.skipif(not (AGENT_DIR / "nguon_agent").is_dir(), reason="agent/ is not in this checkout")
def test_a_polling_only_agent_gets_an_alert_within_one_poll_and_acknowledges_it_once(server, cast, tmp_path):
    device = make_device(cast, "PL-AG1", kind="board")
    code = enrolment_code(cast, device)
    # The agent's clock runs 6x real time: it polls every heartbeat_seconds (60 s) of its own clock, 10 s real.
    # It starts four minutes behind, so that its records stay inside the server's 5-minute future slack for 100 s.
    scale, poll_seconds = 6, 60 / 6
    start_at = (timezone.now() - timedelta(minutes=4)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    proc = start_agent(server.base_url, tmp_path / "agent", "--code", code, "--no-sse", "--time-scale", str(scale),
                  "--start-at", start_at)  # fmt: skip
    output = ""
    try:
        assert until(lambda: Heartbeat.objects.filter(device=device).exists(), 30), "the agent did not start"
        # A device that only polls never opens a stream: online by its reports, not by the stream.
        assert Device.objects.get(pk=device.pk).is_online
        alert = make_alert(cast)
        approved = timezone.now()
        actions.do_approve(alert, acting_user=cast.approver)

        def acknowledged():
            return AlertReceipt.objects.filter(device=device, alert_id=alert.pk, state="acknowledged").exists()

        # Within one poll (plus the time the gateway takes to read the outbox and the report to be sent).
        assert until(acknowledged, poll_seconds + 5), "the polling agent did not acknowledge the alert"
        took = (timezone.now() - approved).total_seconds()
        assert took <= poll_seconds + 5
        assert AlertDispatch.objects.get(alert=alert, device=device).state == DispatchState.ACKNOWLEDGED

        # Two more polls later (heartbeats go with them), the alert was still not acknowledged twice.
        beats = Heartbeat.objects.filter(device=device).count()
        assert until(lambda: Heartbeat.objects.filter(device=device).count() >= beats + 2, 3 * poll_seconds + 5)
        assert AlertReceipt.objects.filter(device=device, alert_id=alert.pk, state="acknowledged").count() == 1
    finally:
        output = stop_agent(proc)
    assert "Traceback" not in output, output
