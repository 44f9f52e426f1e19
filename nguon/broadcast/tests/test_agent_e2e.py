"""End to end: the reference agent (agent/, `python -m nguon_agent run`) against the real server under uvicorn.

The server is test_gateway's uvicorn process on 127.0.0.1; the agent is a second process with its own state
directory. The agent's clock is started a few seconds before a one-minute slot and runs 3x real time, so the slot
plays within seconds while every record it reports stays inside the server's 5-minute future slack.
"""

from __future__ import annotations

import json
import stat
from datetime import UTC, time, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from nguon.broadcast import actions
from nguon.broadcast.actions import SlotData
from nguon.broadcast.models import DeviceLog, Heartbeat, PlayRecord
from nguon.broadcast.tests.agent_process import AGENT_DIR, start_agent, stop_agent
from nguon.broadcast.tests.device_helpers import enrolment_code, make_device, make_image, save_slot
from nguon.broadcast.tests.test_gateway import Server, server, until  # noqa: F401 - `server` is the uvicorn fixture

EXIT_REBOOT = 75


def _iso(moment) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.skipif(not (AGENT_DIR / "nguon_agent").is_dir(), reason="agent/ is not in this checkout")
def test_agent_enrols_plays_its_slot_reports_and_obeys_a_signed_command(server, cast, transactional_db, tmp_path):  # noqa: F811
    device = make_device(cast, "E2E-001")
    code = enrolment_code(cast, device)
    image = make_image(cast, seed=31)
    now = timezone.localtime()
    start = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    if start.date() != now.date() or start.time() >= time(23, 58):
        pytest.skip("too close to local midnight for a one-minute slot today")
    slot = save_slot(
        cast,
        SlotData(
            name="Thử đầu cuối",
            start_time=start.time(),
            end_time=(start + timedelta(minutes=1)).time(),
            start_date=start.date(),
            items=[{"kind": "media", "media": image}],
        ),
    )
    state = tmp_path / "agent"
    start_at = _iso(start - timedelta(seconds=5))
    proc = start_agent(
        server.base_url, state, "--on-reboot", "exit", "--code", code, "--start-at", start_at, "--time-scale", "3"
    )
    output = ""
    try:
        assert until(lambda: Heartbeat.objects.filter(device=device).exists(), 30), "no heartbeat reached the server"
        assert until(lambda: (state / "media" / image.sha256).exists(), 30), "the slot's file was not downloaded"
        played = until(
            lambda: PlayRecord.objects.filter(device=device, occurrence__startswith=f"{slot.pk}@").first(), 60
        )
        assert played, "the slot was not played and reported"
        assert (played.item, played.result, played.slot_id) == (image.sha256, "played", slot.pk)
        assert played.ended_at - played.started_at >= timedelta(seconds=50)  # shown until the slot's end

        actions.do_push_command([device], type="reboot", body={}, acting_user=cast.approver, unit=cast.commune)
        assert until(lambda: DeviceLog.objects.filter(device=device, message="reboot").exists(), 30)
        assert until(lambda: proc.poll() is not None, 30), "the agent did not restart on the reboot command"
        assert proc.returncode == EXIT_REBOOT
    finally:
        output = stop_agent(proc)
        print(output)  # shown when the test fails
    credentials = state / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600, output
    saved = json.loads(credentials.read_text())
    assert saved["device"]["code"] == "E2E-001"
    assert not DeviceLog.objects.filter(device=device, message__in=["manifest_bad_signature", "media_bad_hash"])
    beat = Heartbeat.objects.filter(device=device).order_by("seq").first()
    assert beat.clock_skew_ms is not None and beat.clock_skew_ms > 30_000  # its clock was started ahead
    device.refresh_from_db()
    assert device.report_seq >= 3


def _journal(state: Path) -> list[dict]:
    path = state / "journal" / "journal.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.skipif(not (AGENT_DIR / "nguon_agent").is_dir(), reason="agent/ is not in this checkout")
def test_agent_plays_through_a_server_outage_and_delivers_its_reports_once(
    cast, transactional_db, django_db_blocker, tmp_path
):
    device = make_device(cast, "E2E-002")
    code = enrolment_code(cast, device)
    image = make_image(cast, seed=37)
    now = timezone.localtime()
    start = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)
    if start.date() != now.date() or start.time() >= time(23, 58):
        pytest.skip("too close to local midnight for a one-minute slot today")
    slot = save_slot(
        cast,
        SlotData(
            name="Thử mất kết nối",
            start_time=start.time(),
            end_time=(start + timedelta(minutes=1)).time(),
            start_date=start.date(),
            items=[{"kind": "media", "media": image}],
        ),
    )
    first = Server()
    state = tmp_path / "agent"
    # The device clock starts 20 s (device time) before the slot and runs 3x: the server goes down before it.
    start_at = _iso(start - timedelta(seconds=20))
    proc = start_agent(
        first.base_url, state, "--on-reboot", "exit", "--code", code, "--start-at", start_at, "--time-scale", "3"
    )
    output = ""
    second = None
    try:
        assert until(lambda: (state / "media" / image.sha256).exists(), 30), "the slot's file was not downloaded"
        assert until(lambda: Heartbeat.objects.filter(device=device).exists(), 30)
        first.stop()

        # Server down: the device still plays its slot from the cache and keeps the record to send later.
        played = until(lambda: [r for r in _journal(state) if r.get("type") == "play"], 90)
        assert played, "the slot did not play while the server was down"
        assert not PlayRecord.objects.filter(device=device).exists()
        pending = {r["seq"] for r in _journal(state)}

        with django_db_blocker.unblock():
            second = Server(port=first.port)
        stored = until(lambda: PlayRecord.objects.filter(device=device, slot=slot).exists(), 90)
        assert stored, "the buffered play record never reached the server"
        delivered = until(lambda: device.__class__.objects.get(pk=device.pk).report_seq >= max(pending), 60)
        assert delivered, "not every buffered record was delivered"
    finally:
        output = stop_agent(proc)
        if second is not None:
            second.stop()
        print(output)  # shown when the test fails
    # Each buffered record is stored once, whatever the retries after the outage.
    seqs = [*Heartbeat.objects.filter(device=device).values_list("seq", flat=True)]
    seqs += [*PlayRecord.objects.filter(device=device).values_list("seq", flat=True)]
    seqs += [*DeviceLog.objects.filter(device=device).values_list("seq", flat=True)]
    assert len(seqs) == len(set(seqs))
    assert pending <= set(seqs), pending - set(seqs)
    record = PlayRecord.objects.get(device=device, slot=slot)
    assert (record.item, record.result) == (image.sha256, "played")
