"""Acknowledgements from many devices in one group commit (what an alert causes): stored once, states forward."""

from __future__ import annotations

import orjson
import pytest
from django.utils import timezone

from nguon.alerts import actions
from nguon.alerts.models import AlertDispatch, AlertReceipt, DispatchState
from nguon.alerts.tests.helpers import make_alert
from nguon.broadcast import reports
from nguon.broadcast.models import Device
from nguon.broadcast.tests.device_helpers import iso

pytestmark = pytest.mark.django_db
DEVICES = 1500  # past SQLite's expression depth (1,000) had the seq lookup one OR term per device


def batch(device_id, alert, seq, state, now):
    record = {"seq": seq, "type": "alert", "alert": alert.pk, "state": state, "at": iso(now)}
    return reports.parse(orjson.dumps({"records": [record]}), device_id=device_id, now=now)


def test_thousands_of_single_record_batches_in_one_group_commit(cast):
    Device.objects.bulk_create(
        [Device(unit=cast.commune, code=f"ACK-{i:05d}", name=f"Bảng {i}", kind="board") for i in range(DEVICES)]
    )
    alert = make_alert(cast)
    actions.do_approve(alert, acting_user=cast.approver)
    ids = list(Device.objects.filter(code__startswith="ACK-").values_list("pk", flat=True))
    now = timezone.now()

    batches = [batch(pk, alert, 1, "acknowledged", now) for pk in ids]
    reports.ingest(batches)
    assert [b.stored for b in batches] == [1] * DEVICES
    assert AlertDispatch.objects.filter(alert=alert, state=DispatchState.ACKNOWLEDGED).count() == DEVICES

    again = [batch(pk, alert, 1, "acknowledged", now) for pk in ids] + [batch(ids[0], alert, 2, "played", now)]
    reports.ingest(again)
    assert sum(b.duplicates for b in again) == DEVICES and again[-1].stored == 1
    assert AlertReceipt.objects.count() == DEVICES + 1
    assert AlertDispatch.objects.get(alert=alert, device_id=ids[0]).state == DispatchState.PLAYED
