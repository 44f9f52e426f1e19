"""Online and offline: reports bring a device online, silence past its grace time takes it offline, once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from nguon.broadcast import monitoring
from nguon.broadcast.models import Device, DeviceStatusChange
from nguon.broadcast.tasks import mark_silent_devices_offline
from nguon.broadcast.tests.fleet_helpers import HCM, Sequence, heartbeat, make_device, report

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 27, 8, 0, tzinfo=HCM)


@pytest.fixture
def speaker(cast):
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        return make_device(cast.commune, "BH-001", grace_seconds=180)


def changes(device) -> list[tuple[bool, str]]:
    return list(DeviceStatusChange.objects.filter(device=device).order_by("at", "pk").values_list("online", "reason"))


def test_silent_device_goes_offline_once(speaker):
    seq = Sequence()
    with time_machine.travel(T0, tick=False):
        report(speaker, [heartbeat(seq(), T0, clock_skew_ms=-120, current_item="12@2026-11-27/41")])
    speaker.refresh_from_db()
    assert speaker.is_online and speaker.last_seen_at == T0
    assert changes(speaker) == [(True, "report")]

    # Within the grace time nothing changes.
    with time_machine.travel(T0 + timedelta(seconds=179), tick=False):
        assert monitoring.mark_overdue_offline() == 0
    assert Device.objects.get(pk=speaker.pk).is_online

    # Past it, the device is marked offline with one history row, however often the job runs.
    with time_machine.travel(T0 + timedelta(seconds=181), tick=False):
        assert monitoring.mark_overdue_offline() == 1
        assert monitoring.mark_overdue_offline() == 0
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        mark_silent_devices_offline()  # the periodic job itself (inline in tests)
    speaker.refresh_from_db()
    assert not speaker.is_online
    assert changes(speaker) == [(True, "report"), (False, "silent")]
    silent = DeviceStatusChange.objects.get(device=speaker, online=False)
    assert silent.at == T0 + timedelta(seconds=181)


def test_a_device_back_from_silence_comes_online_again(speaker):
    seq = Sequence()
    with time_machine.travel(T0, tick=False):
        report(speaker, [heartbeat(seq(), T0)])
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        monitoring.mark_overdue_offline()
    back = T0 + timedelta(minutes=20)
    with time_machine.travel(back, tick=False):
        report(speaker, [heartbeat(seq(), back)])
        assert monitoring.mark_overdue_offline() == 0
    speaker.refresh_from_db()
    assert speaker.is_online
    assert changes(speaker) == [(True, "report"), (False, "silent"), (True, "report")]


def test_each_device_uses_its_own_grace_time(cast, speaker):
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        patient = make_device(cast.commune, "BH-002", grace_seconds=3600)
    with time_machine.travel(T0, tick=False):
        report(speaker, [heartbeat(1, T0)])
        report(patient, [heartbeat(1, T0)])
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        assert monitoring.mark_overdue_offline() == 1
    assert set(Device.objects.filter(is_online=True).values_list("code", flat=True)) == {"BH-002"}


def test_fleet_page_shows_state_skew_and_faults(cast, speaker, client_for):
    with time_machine.travel(T0 - timedelta(hours=1), tick=False):
        quiet = make_device(cast.commune, "BH-002")
    with time_machine.travel(T0, tick=False):
        report(speaker, [heartbeat(1, T0, clock_skew_ms=2500, current_item="Bản tin sáng"),
                         {"seq": 2, "type": "fault", "at": T0.isoformat(), "code": "amplifier",
                          "message": "no output"}])  # fmt: skip
        client = client_for(cast.commune_admin)
        html = client.get("/devices/").content.decode()
        counts = monitoring.fleet_counts(Device.objects.all())
        assert (counts["online"], counts["offline"], counts["never_seen"], counts["skewed"]) == (1, 1, 1, 1)
        assert "Bản tin sáng" in html and "+2,50 s" in html
        online = client.get("/devices/", {"status": "online"}).content.decode()
        assert "BH-001" in online and "BH-002" not in online
        faulty = client.get("/devices/", {"status": "faults"}).content.decode()
        assert "BH-001" in faulty and "BH-002" not in faulty
        never = client.get("/devices/", {"status": "never"}).content.decode()
        assert "BH-002" in never and "BH-001" not in never
        detail = client.get(f"/devices/{speaker.pk}/").content.decode()
        assert "amplifier" in detail and "no output" in detail
        api = client.get(f"/api/v1/devices/{speaker.pk}").json()
    assert api["is_online"] and api["clock_skew_ms"] == 2500 and api["open_faults"] == 1
    assert api["faults"][0]["code"] == "amplifier"
    assert api["heartbeats"][0]["clock_skew_ms"] == 2500
    assert api["status_changes"] == [{"at": api["status_changes"][0]["at"], "online": True, "reason": "report"}]
    assert quiet.pk != speaker.pk


def test_detail_page_lists_status_history(cast, speaker, client_for):
    with time_machine.travel(T0, tick=False):
        report(speaker, [heartbeat(1, T0)])
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        monitoring.mark_overdue_offline()
        html = client_for(cast.commune_admin).get(f"/devices/{speaker.pk}/").content.decode()
    history = html[html.index('id="history-h"') :]
    assert history.count("state-offline") == 1 and history.count("state-online") == 1
