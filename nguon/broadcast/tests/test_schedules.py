"""Schedule pages: slots with ordered items, conflicts before saving, bad input, calendars, manifests, scoping."""

from __future__ import annotations

import json
import shutil
from datetime import time

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from nguon.audit.models import AuditEvent
from nguon.broadcast import actions, tt39
from nguon.broadcast.actions import GroupData, SlotData
from nguon.broadcast.models import DeviceKind, ItemKind, ProgrammeTemplate, Slot
from nguon.broadcast.tests.schedule_helpers import (
    DEAD_STREAM,
    device,
    local,
    messages_of,
    operator,
    published,
    slot_form,
    stamp_of,
)
from nguon.conftest import PASSWORD
from nguon.content import actions as content

pytestmark = pytest.mark.django_db

NOW = local(2026, 11, 26, 11, 0)  # a Thursday


@pytest.fixture(autouse=True)
def frozen(request):
    if request.node.get_closest_marker("browser"):
        yield None  # a live server and a browser need a running clock
        return
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def op(cast):
    return operator(cast.commune)


@pytest.fixture
def speakers(cast):
    return [device(cast.commune, "BH-001"), device(cast.commune, "BH-002")]


def new_slot(client, unit_code="26068", **fields):
    """Create a slot through the form; return the response of the POST."""
    stamp = stamp_of(client.get(f"/schedules/{unit_code}/new/"))
    return client.post(f"/schedules/{unit_code}/new/", slot_form(stamp, **fields))


def test_operator_creates_a_slot_with_ordered_items(cast, op, speakers, client_for, django_capture_on_commit_callbacks):
    bulletin = published(cast, targets=[cast.commune], title="Lịch tiêm chủng")
    content.do_adopt_bulletin(bulletin, unit=cast.commune, acting_user=op)
    client = client_for(op)
    page = client.get("/schedules/26068/new/")
    assert page.status_code == 200
    assert "Lịch tiêm chủng" in page.content.decode()  # an adopted bulletin is offered
    items = [
        {"stream_url": DEAD_STREAM, "stream_name": "VOV1", "ORDER": 2},
        {"bulletin": bulletin.pk, "ORDER": 1},
    ]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/schedules/26068/new/", slot_form(stamp_of(page), items=items), follow=True)
    assert response.status_code == 200
    slot = Slot.objects.get()
    assert (slot.unit, slot.start_time.strftime("%H:%M"), slot.created_by) == (cast.commune, "05:30", op)
    saved = list(slot.items.order_by("position").values_list("kind", "bulletin", "stream_url", "pushed"))
    assert saved == [(ItemKind.BULLETIN, bulletin.pk, "", False), (ItemKind.RELAY, None, DEAD_STREAM, False)]
    assert AuditEvent.objects.filter(action="broadcast.slot_created", object_id=str(slot.pk)).exists()
    # The relay did not answer: saved anyway, with a warning that says why.
    warnings = [m for m in messages_of(response) if "VOV1" in m]
    assert len(warnings) == 1 and "không trả lời" in warnings[0]
    # Saving recompiled the commune's devices.
    assert {d.manifest.version for d in speakers} == {1}


@pytest.mark.parametrize(
    ("fields", "field_error"),
    [
        ({"start_time": "06:00", "end_time": "05:30"}, "phải kết thúc sau khi bắt đầu"),
        ({"start_time": "22:00", "end_time": "01:00"}, "không thể kéo qua nửa đêm"),
        ({"start_date": "2026-12-10", "end_date": "2026-12-01"}, "Ngày cuối đứng trước ngày đầu"),
        ({"recurrence": "weekdays"}, "Chọn ít nhất một ngày trong tuần"),
        ({"items": [{"stream_url": "vov1-khong-co-giao-thuc"}]}, "http:// hoặc https://"),
        ({"items": [{"stream_url": "ftp://127.0.0.1/vov.mp3"}]}, "http:// hoặc https://"),
        ({"items": [{"stream_name": "VOV1"}]}, "Nhập địa chỉ của luồng"),
        ({"volume": "140"}, "100"),
    ],
)
def test_bad_input_gets_a_clear_vietnamese_error_and_nothing_is_saved(cast, op, client_for, fields, field_error):
    response = new_slot(client_for(op), **fields)
    assert response.status_code == 400
    assert field_error in response.content.decode()
    assert Slot.objects.count() == 0


def test_a_row_with_two_things_is_refused(cast, op, client_for, django_capture_on_commit_callbacks):
    bulletin = published(cast, unit=cast.commune, title="Tin phường")
    response = new_slot(client_for(op), items=[{"bulletin": bulletin.pk, "stream_url": "http://127.0.0.1:9/a.mp3"}])
    assert response.status_code == 400
    assert "Mỗi dòng chỉ chọn một thứ" in response.content.decode()
    assert Slot.objects.count() == 0


def test_overlap_is_shown_before_saving_and_refused_on_save(cast, op, speakers, client_for):
    client = client_for(op)
    assert new_slot(client).status_code == 302
    stamp = stamp_of(client.get("/schedules/26068/new/"))
    clash = slot_form(stamp, name="Tin trưa lệch giờ", start_time="05:45", end_time="06:15")
    check = client.post("/schedules/26068/check/", clash)
    assert check.status_code == 200
    assert "Chương trình sáng" in check.content.decode() and "trùng" in check.content.decode()
    saved = client.post("/schedules/26068/new/", clash)
    assert saved.status_code == 400
    assert "Khung giờ này trùng" in saved.content.decode()
    assert Slot.objects.count() == 1
    free = client.post("/schedules/26068/check/", slot_form(stamp, start_time="06:00", end_time="06:30"))
    assert "Không trùng" in free.content.decode() and "2 thiết bị" in free.content.decode()


def test_a_slot_never_clashes_with_itself_but_a_double_submit_does(cast, op, speakers, client_for):
    client = client_for(op)
    page = client.get("/schedules/26068/new/")
    form = slot_form(stamp_of(page))
    assert client.post("/schedules/26068/new/", form).status_code == 302
    # The same form sent again (a double click) overlaps the slot it just made.
    assert client.post("/schedules/26068/new/", form).status_code == 400
    slot = Slot.objects.get()
    edit = client.get(f"/schedules/slot/{slot.pk}/edit/")
    moved = slot_form(stamp_of(edit), slot_id=slot.pk, start_time="05:40", end_time="06:10")
    check = client.post("/schedules/26068/check/", moved)
    assert "Không trùng" in check.content.decode()
    assert client.post(f"/schedules/slot/{slot.pk}/edit/", moved).status_code == 302
    slot.refresh_from_db()
    assert slot.start_time.strftime("%H:%M") == "05:40"


def test_province_slot_overlaps_commune_slot_only_where_devices_are_shared(cast, op, speakers, client_for):
    device(cast.other_commune, "TB-001")
    assert new_slot(client_for(op)).status_code == 302
    other = operator(cast.other_commune)
    assert new_slot(client_for(other), unit_code="26041").status_code == 302  # other devices: no clash
    province_op = operator(cast.province)
    response = new_slot(client_for(province_op), unit_code="75", name="Tin tỉnh")
    assert response.status_code == 400  # the province slot reaches the commune's devices too
    assert Slot.objects.count() == 2


def test_a_device_kind_or_group_narrows_the_audience(cast, op, speakers, client_for):
    board = device(cast.commune, "BH-B01", kind=DeviceKind.BOARD)
    client = client_for(op)
    assert new_slot(client, device_kind="speaker").status_code == 302
    # The same hours for e-boards only: the audiences do not meet.
    assert new_slot(client, name="Bảng tin sáng", device_kind="board").status_code == 302
    assert {s.device_kind for s in Slot.objects.all()} == {"speaker", "board"}
    assert board.pk not in actions.conflicts_for(Slot.objects.get(device_kind="speaker"))


def test_recurrence_one_off_weekdays_and_date_range(cast, op, speakers, client_for):
    client = client_for(op)
    assert (
        new_slot(
            client,
            name="Một lần",
            recurrence="once",
            start_date="2026-11-28",
            end_date="2026-12-30",
            start_time="07:00",
            end_time="07:15",
        ).status_code
        == 302
    )
    assert (
        new_slot(
            client,
            name="Thứ hai và thứ tư",
            recurrence="weekdays",
            weekdays=["1", "3"],
            start_time="08:00",
            end_time="08:30",
        ).status_code
        == 302
    )
    assert (
        new_slot(
            client,
            name="Tháng mười hai",
            start_date="2026-12-01",
            end_date="2026-12-31",
            start_time="09:00",
            end_time="09:30",
        ).status_code
        == 302
    )
    once, weekly, ranged = Slot.objects.order_by("start_time")
    assert (once.recurrence, once.end_date) == ("once", None)  # the end date means nothing for a one-off
    assert (weekly.recurrence, weekly.weekdays) == ("weekdays", "1,3")
    assert (ranged.start_date.isoformat(), ranged.end_date.isoformat()) == ("2026-12-01", "2026-12-31")
    page = client.get("/schedules/26068/").content.decode()
    assert "Một lần, 28/11/2026" in page
    assert "Thứ 2, Thứ 4, từ 26/11/2026" in page
    assert "01/12/2026 – 31/12/2026" in page


def test_week_calendar_of_the_commune_and_of_a_device(cast, op, speakers, client_for):
    client = client_for(op)
    assert new_slot(client).status_code == 302
    assert (
        new_slot(
            client, name="Một lần", recurrence="once", start_date="2026-11-28", start_time="17:00", end_time="17:30"
        ).status_code
        == 302
    )
    province_op = operator(cast.province)
    assert (
        new_slot(
            client_for(province_op), unit_code="75", name="Tin tỉnh", start_time="19:00", end_time="19:30"
        ).status_code
        == 302
    )
    week = client.get("/schedules/26068/week/?week=2026-11-25")  # any day of the week shows that week
    page = week.content.decode()
    assert week.status_code == 200
    assert "23/11 – 29/11/2026" in page
    assert "Thứ 2" in page and "Chủ nhật" in page.replace("Chủ Nhật", "Chủ nhật")
    assert page.count("05:30–06:00</time>") == 4  # daily from Thursday 26/11: Thursday to Sunday
    assert page.count("17:00–17:30</time>") == 1
    assert page.count("19:00–19:30</time>") == 4  # the province slot plays here as well
    next_week = client.get("/schedules/26068/week/?week=2026-11-30").content.decode()
    assert next_week.count("05:30–06:00</time>") == 7 and "17:00–17:30" not in next_week
    assert "giờ Việt Nam (UTC+7)" in page and "Asia/Ho_Chi_Minh" not in page
    device_page = client.get(f"/schedules/device/{speakers[0].pk}/week/?week=2026-11-23").content.decode()
    assert device_page.count("05:30–06:00</time>") == 4 and "Tin tỉnh" in device_page
    bad_week = client.get("/schedules/26068/week/?week=not-a-date")
    assert bad_week.status_code == 200 and "23/11 – 29/11/2026" in bad_week.content.decode()


def test_device_manifest_carries_exact_utc_times(cast, op, speakers, client_for, django_capture_on_commit_callbacks):
    client = client_for(op)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            new_slot(
                client,
                items=[{"stream_url": "http://127.0.0.1:9/vov1.mp3", "stream_name": "VOV1"}],
                start_date="2026-11-26",
            ).status_code
            == 302
        )
    code = actions.do_issue_enrolment_code(speakers[0], acting_user=cast.commune_admin)
    device_client = Client()
    enrolled = device_client.post("/device/v1/enrol", {"code": code}, content_type="application/json")
    assert enrolled.status_code == 200, enrolled.content
    manifest = device_client.get("/device/v1/manifest", HTTP_AUTHORIZATION=f"Bearer {enrolled.json()['token']}")
    assert manifest.status_code == 200
    document = json.loads(manifest.content)
    slot = Slot.objects.get()
    # 05:30 in Asia/Ho_Chi_Minh is 22:30 UTC the day before; today's 05:30 is over at 11:00.
    starts = [(e["id"], e["start"], e["end"]) for e in document["slots"]]
    assert starts == [
        (f"{slot.pk}@2026-11-27", "2026-11-26T22:30:00Z", "2026-11-26T23:00:00Z"),
        (f"{slot.pk}@2026-11-28", "2026-11-27T22:30:00Z", "2026-11-27T23:00:00Z"),
        (f"{slot.pk}@2026-11-29", "2026-11-28T22:30:00Z", "2026-11-28T23:00:00Z"),
    ]
    assert document["slots"][0]["items"] == [{"kind": "stream", "title": "VOV1", "url": "http://127.0.0.1:9/vov1.mp3"}]
    assert (document["valid_from"], document["timezone"]) == ("2026-11-25T17:00:00Z", "Asia/Ho_Chi_Minh")


def test_a_commune_operator_cannot_schedule_another_commune(cast, op, speakers, client_for):
    other_device = device(cast.other_commune, "TB-001")
    other_op = operator(cast.other_commune)
    assert new_slot(client_for(other_op), unit_code="26041", name="Của Trấn Biên").status_code == 302
    theirs = Slot.objects.get()
    client = client_for(op)
    assert client.get("/schedules/26041/").status_code == 404
    assert client.get("/schedules/26041/new/").status_code == 404
    assert client.post("/schedules/26041/new/", slot_form("x", name="Chen ngang")).status_code == 404
    assert client.post("/schedules/26041/check/", slot_form("x")).status_code == 404
    assert client.get(f"/schedules/slot/{theirs.pk}/").status_code == 404
    assert client.get(f"/schedules/slot/{theirs.pk}/edit/").status_code == 404
    assert client.post(f"/schedules/slot/{theirs.pk}/delete/").status_code == 404
    assert client.get(f"/schedules/device/{other_device.pk}/week/").status_code == 404
    assert Slot.objects.active().count() == 1
    # A slot cannot borrow a group of another commune either.
    group = actions.do_save_group(
        None, unit=cast.other_commune, data=GroupData(name="Chợ", devices=[other_device]), acting_user=None
    )
    response = new_slot(client, group=group.pk)
    assert response.status_code == 400 and Slot.objects.count() == 1
    # An editor of the commune sees the programme but cannot change it.
    editor = client_for(cast.commune_editor)
    assert editor.get("/schedules/26068/").status_code == 200
    assert editor.get("/schedules/26068/new/").status_code == 403


def test_programme_template_round_trip(cast, op, speakers, client_for):
    client = client_for(op)
    items = [{"stream_url": "http://127.0.0.1:9/vov1.mp3", "stream_name": "VOV1"}]
    assert new_slot(client, name="Chương trình sáng", items=items).status_code == 302
    slot = Slot.objects.get()
    saved = client.post(f"/schedules/slot/{slot.pk}/save-template/", {"name": "Buổi sáng 5:30"})
    assert saved.status_code == 302
    template = ProgrammeTemplate.objects.get()
    assert template.items == [{"kind": "relay", "stream_url": "http://127.0.0.1:9/vov1.mp3", "stream_name": "VOV1"}]
    assert client.post(f"/schedules/slot/{slot.pk}/save-template/", {"name": "BUỔI SÁNG 5:30"}).status_code == 400
    page = client.get(f"/schedules/26068/new/?template={template.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="http://127.0.0.1:9/vov1.mp3"' in html and 'value="05:30"' in html
    # The same programme on Sundays evening, from the template.
    form = slot_form(
        stamp_of(page),
        name="Buổi tối chủ nhật",
        recurrence="weekdays",
        weekdays=["7"],
        start_time="18:00",
        end_time="18:30",
        items=[{"stream_url": "http://127.0.0.1:9/vov1.mp3", "stream_name": "VOV1", "ORDER": 1}],
    )
    assert client.post(f"/schedules/26068/new/?template={template.pk}", form).status_code == 302
    assert Slot.objects.count() == 2
    other = client_for(operator(cast.other_commune))
    assert other.get(f"/schedules/26041/new/?template={template.pk}").status_code == 404
    assert other.post(f"/schedules/template/{template.pk}/delete/").status_code == 404
    assert client.post(f"/schedules/template/{template.pk}/delete/").status_code == 302
    assert not ProgrammeTemplate.objects.exists()


def test_removing_a_slot_takes_it_off_the_programme(cast, op, speakers, client_for):
    client = client_for(op)
    assert new_slot(client).status_code == 302
    slot = Slot.objects.get()
    assert client.post(f"/schedules/slot/{slot.pk}/delete/").status_code == 302
    assert not Slot.objects.active().exists()
    assert client.get(f"/schedules/slot/{slot.pk}/").status_code == 404


def test_slot_list_queries_do_not_grow_with_slots(cast, op, speakers, client_for, django_assert_max_num_queries):
    client = client_for(op)
    bulletin = published(cast, unit=cast.commune, title="Tin phường")
    for hour in range(6, 12):
        assert (
            new_slot(
                client,
                name=f"Khung {hour}",
                start_time=f"{hour:02d}:00",
                end_time=f"{hour:02d}:30",
                items=[{"bulletin": bulletin.pk}, {"stream_url": DEAD_STREAM}],
            ).status_code
            == 302
        )
    with django_assert_max_num_queries(16):
        assert client.get("/schedules/26068/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/schedules/26068/week/").status_code == 200
    with django_assert_max_num_queries(9):
        assert client.get(f"/schedules/device/{speakers[0].pk}/week/").status_code == 200


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser(monkeypatch):
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    # As in core's browser test: Playwright's sync API keeps an event loop in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
        )
        yield browser
        browser.close()


@pytest.mark.browser
def test_in_a_browser_conflicts_show_while_typing_and_items_move_in_place(live_server, cast, browser, settings):
    from playwright.sync_api import expect

    settings.STREAM_CHECK_SECONDS = 1
    op = operator(cast.commune)
    device(cast.commune, "BH-001")
    data = SlotData(
        name="Chương trình sáng",
        start_time=time(5, 30),
        end_time=time(6, 0),
        start_date=timezone.localdate(),
        items=[{"kind": "relay", "stream_url": DEAD_STREAM}],
    )
    morning = actions.do_save_slot(None, unit=cast.commune, data=data, acting_user=None)
    for bulletin in (
        published(cast, unit=cast.commune, priority="priority", title="Phường: họp dân"),
        published(cast, priority="priority", targets=[cast.commune], title="Tỉnh: triều cường"),
    ):
        tt39.insert_priority_bulletin(bulletin)
    page = browser.new_page(locale="vi-VN")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", op.username)
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/schedules/26068/new/")
    page.fill("#id_name", "Tin trưa")
    page.fill("#id_start_time", "05:45")
    page.fill("#id_end_time", "06:15")
    page.press("#id_end_time", "Tab")
    page.locator("#conflicts .clash").wait_for()
    assert "Chương trình sáng" in page.locator("#conflicts").inner_text()
    page.fill("#id_start_time", "11:00")
    page.fill("#id_end_time", "11:30")
    page.press("#id_end_time", "Tab")
    page.locator("#conflicts .ok").wait_for()
    page.get_by_role("button", name="Lưu", exact=True).click()
    page.wait_for_url("**/schedules/slot/*/")
    assert Slot.objects.filter(name="Tin trưa").exists()

    page.goto(f"{live_server.url}/schedules/slot/{morning.pk}/")
    assert "bạn quyết định thứ tự" in page.locator("#slot-items").inner_text()
    before = [i.bulletin.title for i in morning.items.order_by("position")[:2]]
    page.get_by_role("button", name="Chuyển mục 2 lên").click()
    # A locator assertion, not wait_for_function: the page's CSP (rightly) forbids the eval that needs. A positive
    # one: "no longer starts with" also held while the list was being replaced, before the move had been saved.
    expect(page.locator("#slot-items li").first).to_contain_text(before[1])
    assert page.url.endswith(f"/schedules/slot/{morning.pk}/")
    assert sorted(before) == ["Phường: họp dân", "Tỉnh: triều cường"]
    assert [i.bulletin.title for i in morning.items.order_by("position")[:2]] == before[::-1]
