"""The home page shows what needs each person now, by role and unit, and only links they may open."""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from django.utils import timezone

from nguon.accounts.roles import Role
from nguon.alerts.actions import do_approve
from nguon.alerts.tests.helpers import device_at, make_alert
from nguon.broadcast.actions import SlotData, do_save_slot
from nguon.broadcast.models import Device
from nguon.conftest import make_user
from nguon.content import actions as content_actions
from nguon.content.tests.conftest import make_bulletin, publish

pytestmark = pytest.mark.django_db


def _section(page: str, name: str) -> str | None:
    found = re.search(rf'<section class="panel" id="needs-{name}".*?</section>', page, re.S)
    return found.group(0) if found else None


def _links(page: str) -> list[str]:
    main = page.split('<main id="main"', 1)[1]
    return sorted(set(re.findall(r'href="(/[^"]*)"', main)))


@pytest.fixture
def scene(cast):
    other_approver = make_user("approver.tranbien", cast.other_commune, Role.APPROVER)
    operator = make_user("operator.bienhoa", cast.commune, Role.OPERATOR)
    mine = make_bulletin(cast.commune, cast.commune_editor, title="Tin của xã Biên Hòa")
    content_actions.do_submit_bulletin(mine, acting_user=cast.commune_editor)
    returned = make_bulletin(cast.commune, cast.commune_editor, title="Tin bị trả lại")
    content_actions.do_submit_bulletin(returned, acting_user=cast.commune_editor)
    content_actions.do_return_bulletin(returned, acting_user=cast.approver, comment="Sửa lại tiêu đề.")
    theirs = make_bulletin(cast.other_commune, cast.province_editor, title="Tin của xã Trấn Biên")
    content_actions.do_submit_bulletin(theirs, acting_user=cast.province_editor)
    pending = make_alert(cast, unit=cast.commune, user=cast.commune_editor, headline="Cảnh báo chờ duyệt")
    issued = do_approve(make_alert(cast, headline="Cảnh báo đang phát"), acting_user=cast.approver)
    device = device_at(cast, "BH-001")
    Device.objects.filter(pk=device.pk).update(is_online=False, last_seen_at=timezone.now() - timedelta(hours=2))
    far = (timezone.localtime() + timedelta(minutes=90)).time().replace(second=0, microsecond=0)
    slot = do_save_slot(
        None,
        unit=cast.commune,
        data=SlotData(
            name="Bản tin chiều",
            start_date=timezone.localdate(),
            start_time=min(far, time(23, 0)),
            end_time=time(23, 59),
        ),
        acting_user=operator,
    )
    return locals()


def test_approver_sees_what_waits_for_them_in_their_units(cast, scene, client_for):
    page = client_for(scene["other_approver"]).get("/").content.decode()
    bulletins = _section(page, "bulletins")
    assert "Tin của xã Trấn Biên" in bulletins and "Tin của xã Biên Hòa" not in bulletins
    assert 'data-count="1"' in bulletins
    assert "Cảnh báo chờ duyệt" not in _section(page, "alerts")  # another commune's alert
    assert _section(page, "devices") is None

    page = client_for(cast.approver).get("/").content.decode()
    assert "Tin của xã Biên Hòa" in _section(page, "bulletins") and "Tin của xã Trấn Biên" in page
    assert "Cảnh báo chờ duyệt" in _section(page, "alerts")
    assert "Cảnh báo đang phát" in _section(page, "current")
    assert "tree-h" not in page  # no list of communes any more


def test_editor_sees_returned_bulletins(cast, scene, client_for):
    page = client_for(cast.commune_editor).get("/").content.decode()
    drafts = _section(page, "drafts")
    assert "Tin bị trả lại" in drafts and "Trả lại để chỉnh sửa" in drafts
    assert _section(page, "bulletins") is None and _section(page, "alerts") is None
    assert _section(page, "devices") is None and _section(page, "slots") is None


def test_operator_sees_offline_devices_and_todays_slots(cast, scene, client_for):
    page = client_for(scene["operator"]).get("/").content.decode()
    devices = _section(page, "devices")
    assert scene["device"].name in devices and "hoạt động lần cuối" in devices
    assert "Bản tin chiều" in _section(page, "slots")
    assert _section(page, "bulletins") is None


@pytest.mark.parametrize("who", ["approver", "commune_editor", "province_admin", "operator", "outsider"])
def test_every_link_on_the_dashboard_opens(cast, scene, client_for, who):
    user = scene["operator"] if who == "operator" else getattr(cast, who)
    client = client_for(user)
    page = client.get("/").content.decode()
    links = [link for link in _links(page) if not link.startswith("/notifications/") or link.endswith("/")]
    assert links
    for link in links:
        response = client.get(link)
        assert response.status_code in (200, 302), f"{who}: {link} answered {response.status_code}"
        if response.status_code == 302:
            assert "/accounts/" not in response["Location"], f"{who}: {link} sent to sign-in"


def test_dashboard_query_count(cast, scene, client_for, django_assert_max_num_queries):
    client = client_for(cast.approver)
    with django_assert_max_num_queries(25):
        client.get("/")
    # More rows, same number of queries.
    for n in range(5):
        publish(make_bulletin(cast.commune, cast.commune_editor, title=f"Tin {n}"), editor=cast.commune_editor,
                approver=cast.approver)  # fmt: skip
        make_alert(cast, unit=cast.commune, user=cast.commune_editor, headline=f"Cảnh báo {n}")
    with django_assert_max_num_queries(25):
        client.get("/")
