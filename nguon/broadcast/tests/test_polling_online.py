"""A device counts as online from the moment it opens its event stream, not only from its first report: in the
gateway (grouped: one writer job for the streams that opened together) and in the Django fallback."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nguon.broadcast import monitoring
from nguon.broadcast.models import Device, DeviceStatusChange
from nguon.broadcast.tests.device_helpers import make_device
from nguon.broadcast.tests.test_gateway import BASE, Events, enrol, until
from nguon.broadcast.tests.test_gateway import server as server  # noqa: F401  (the module-scoped fixture)


def stream_changes(device) -> list[tuple[bool, str]]:
    return list(DeviceStatusChange.objects.filter(device=device).values_list("online", "reason"))


@pytest.mark.django_db(transaction=True)
def test_devices_are_online_once_their_gateway_streams_open(server, cast):
    devices = [make_device(cast, f"ON-{i:03}") for i in range(6)]
    tokens = [enrol(server, cast, device)[0] for device in devices]
    assert not Device.objects.filter(pk__in=[d.pk for d in devices], is_online=True).exists()
    before = timezone.now()
    streams = [Events(server, token) for token in tokens]
    try:
        online = Device.objects.filter(pk__in=[d.pk for d in devices], is_online=True)
        assert until(lambda: online.count() == len(devices), 10), "the streams did not mark their devices online"
        for device in devices:
            device.refresh_from_db()
            assert before - timedelta(seconds=1) <= device.last_seen_at <= timezone.now()
            assert device.silent_after == device.last_seen_at + timedelta(seconds=device.grace_seconds)
            assert stream_changes(device) == [(True, "stream")]
        # Opened again while online: seen again, no second status change.
        again = Events(server, tokens[0])
        seen = devices[0].last_seen_at
        assert until(lambda: Device.objects.get(pk=devices[0].pk).last_seen_at > seen, 10)
        again.close()
        assert stream_changes(devices[0]) == [(True, "stream")]
    finally:
        for stream in streams:
            stream.close()


@pytest.mark.django_db(transaction=True)
def test_the_fallback_stream_marks_its_device_online_when_it_opens(cast, client):
    from nguon.broadcast.tests.device_helpers import enrolment_code

    device = make_device(cast, "ON-DJ1")
    answer = client.post(f"{BASE}/enrol", {"code": enrolment_code(cast, device)}, content_type="application/json")
    token = answer.json()["token"]
    response = client.get(f"{BASE}/events", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    response.close()  # never read: the device is online from the answer on
    device.refresh_from_db()
    assert device.is_online and device.last_seen_at is not None
    assert stream_changes(device) == [(True, "stream")]


@pytest.mark.django_db
def test_marking_many_devices_online_is_one_update_and_one_insert(cast):
    devices = [make_device(cast, f"ON-B{i:03}") for i in range(40)]
    at = timezone.now()
    Device.objects.filter(pk=devices[0].pk).update(is_online=True, last_seen_at=at + timedelta(seconds=5))
    with CaptureQueriesContext(connection) as queries:
        came = monitoring.mark_online([d.pk for d in devices], at, "stream")
    assert came == 39
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    assert statements.count("UPDATE") == 1 and statements.count("INSERT") == 1 and statements.count("SELECT") == 1
    first = Device.objects.get(pk=devices[0].pk)
    assert first.last_seen_at == at + timedelta(seconds=5)  # seen later already: kept
    assert stream_changes(first) == []  # already online
    assert Device.objects.filter(pk__in=[d.pk for d in devices], is_online=True).count() == 40
    assert DeviceStatusChange.objects.filter(device__in=devices, reason="stream", online=True, at=at).count() == 39
