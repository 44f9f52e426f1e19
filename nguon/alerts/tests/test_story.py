"""The issue's "done when", end to end on the demo: an approver issues a flood alert for three communes through
the API; the demo devices, run as simulated receivers (`nguon-agent simulate`, as `make run` does) against a real
server process, acknowledge it within seconds; the delivery figures show it; the public feed carries it; the CAP
export validates against the CAP 1.2 schema."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from nguon.accounts.roles import Role
from nguon.alerts import cap
from nguon.alerts.models import Alert, AlertDispatch, DispatchState
from nguon.broadcast.models import Device
from nguon.broadcast.tests.test_gateway import PROJECT_DIR, until
from nguon.broadcast.tests.test_gateway import server as server  # noqa: F401  (the module-scoped fixture)
from nguon.conftest import make_user
from nguon.core.demo import demo_device_tokens, load_demo
from nguon.units.models import Unit

pytestmark = pytest.mark.django_db(transaction=True)
COMMUNES = ["26068", "26041", "26017"]  # Biên Hòa, Trấn Biên, Tam Hiệp: 7 of the 8 demo devices


@pytest.fixture
def receivers(server, tmp_path, settings):  # noqa: F811
    settings.SPEECH_AUTO_RENDER = True  # the alert's sound is rendered inline (Huey immediate mode)
    load_demo()
    tokens = tmp_path / "tokens.jsonl"
    count = demo_device_tokens(tokens)
    command = [sys.executable, "-m", "nguon_agent", "simulate", "--server", server.base_url,
               "--devices", str(count), "--tokens", str(tokens), "--backoff-max", "2"]  # fmt: skip
    process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    yield process
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def test_flood_alert_for_three_communes_is_acknowledged_within_seconds(receivers, client_for):
    # An approver of the province (the demo's own accounts have the demo password; the test cast's is known here).
    approver = client_for(make_user("pheduyet.story", Unit.objects.get(code="75"), Role.APPROVER))
    payload = {
        "unit": "75",
        "event": "Lũ lụt",
        "categories": ["Met"],
        "response_types": ["Evacuate"],
        "urgency": "Immediate",
        "severity": "Severe",
        "certainty": "Likely",
        "headline": "Cảnh báo lũ trên sông Đồng Nai",
        "description": "Mực nước sông Đồng Nai tại Biên Hòa đang lên nhanh, vượt báo động 3.",
        "instruction": "Người dân vùng trũng di chuyển người và tài sản lên nơi cao ngay.",
        "expires": (timezone.now() + timedelta(hours=6)).isoformat(),
        "area_desc": "Phường Biên Hòa, Trấn Biên, Tam Hiệp",
        "area_units": COMMUNES,
        "issue_now": True,
    }
    clicked = time.monotonic()
    response = approver.post("/api/v1/alerts", payload, content_type="application/json")
    assert response.status_code == 201, response.content
    alert = Alert.objects.get(pk=response.json()["id"])
    assert alert.state == "issued"

    targets = set(Device.objects.filter(unit__code__in=COMMUNES).values_list("pk", flat=True))
    assert len(targets) == 7
    assert set(AlertDispatch.objects.filter(alert=alert).values_list("device_id", flat=True)) == targets

    def acknowledged():
        done = (DispatchState.ACKNOWLEDGED, DispatchState.PLAYED)
        return AlertDispatch.objects.filter(alert=alert, state__in=done).count() == len(targets)

    states = AlertDispatch.objects.filter(alert=alert).values_list("device__code", "state")
    assert until(acknowledged, 30, 0.1), f"not every device acknowledged: {list(states)}"
    elapsed = time.monotonic() - clicked
    print(f"all {len(targets)} devices acknowledged {elapsed:.2f} s after the click (sound rendered inline)")
    assert elapsed < 30  # seconds including the sound's render; the devices themselves answer in well under one

    delivery = approver.get(f"/api/v1/alerts/{alert.pk}/delivery").json()
    assert delivery["total"] == 7
    assert delivery["by_state"]["acknowledged"] + delivery["by_state"]["played"] == 7
    assert sorted(u["code"] for u in delivery["by_unit"]) == sorted(COMMUNES)

    feed = approver.get("/canh-bao/feed.atom")
    assert feed.status_code == 200 and feed["Content-Type"].startswith("application/atom+xml")
    assert f"/canh-bao/{alert.pk}.xml".encode() in feed.content  # the entry links to the alert's CAP document
    assert alert.headline.encode() in feed.content

    document = approver.get(f"/api/v1/alerts/{alert.pk}/cap")
    assert document["Content-Type"] == "application/cap+xml"
    assert cap.validate(document.content) == []
