"""TT 39 priority classes in the programme: normal waits for the commune, priority goes first, emergency plays now."""

from __future__ import annotations

import json
import shutil

import pytest
import time_machine

from nguon.audit.models import AuditEvent
from nguon.broadcast import actions, tt39
from nguon.broadcast.actions import SlotData
from nguon.broadcast.models import DeviceKind, PushEvent, Slot
from nguon.broadcast.tests.schedule_helpers import device, local, operator, published, slot_form, stamp_of
from nguon.content import actions as content
from nguon.content.actions import BulletinData
from nguon.core.errors import Conflict, Invalid

pytestmark = pytest.mark.django_db

NOW = local(2026, 11, 26, 11, 0)
RELAY = {"kind": "relay", "stream_url": "http://127.0.0.1:9/vov1.mp3", "stream_name": "VOV1"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def op(cast):
    return operator(cast.commune)


@pytest.fixture
def slots(cast, op, django_capture_on_commit_callbacks):
    """A morning slot in each commune and an evening one in the province, each with a relay; devices compiled."""
    made = {}
    with django_capture_on_commit_callbacks(execute=True):
        device(cast.commune, "BH-001")
        # An e-board shows bulletins as text, so its manifest changes without waiting for rendered audio.
        device(cast.commune, "BH-B00", kind=DeviceKind.BOARD)
        device(cast.other_commune, "TB-001")
        for key, unit, start, end in [
            ("commune", cast.commune, "05:30", "06:00"),
            ("other", cast.other_commune, "05:30", "06:00"),
            ("province", cast.province, "19:00", "19:30"),
        ]:
            data = SlotData(
                name=f"Khung {key}", start_time=_t(start), end_time=_t(end), start_date=NOW.date(), items=[dict(RELAY)]
            )
            made[key] = actions.do_save_slot(None, unit=unit, data=data, acting_user=None)
    return made


def _t(text):
    from datetime import time

    return time.fromisoformat(text)


def items_of(slot):
    return list(slot.items.order_by("position").values_list("kind", "bulletin", "pushed"))


def test_normal_bulletin_enters_a_commune_programme_only_when_adopted_and_placed(
    cast, op, slots, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = published(cast, targets=[cast.commune], title="Thông báo thường")
    assert items_of(slots["commune"]) == [("relay", None, False)]  # nothing inserted by itself
    client = client_for(op)
    edit = f"/schedules/slot/{slots['commune'].pk}/edit/"
    page = client.get(edit)
    assert "Thông báo thường" not in page.content.decode()  # not offered before the commune takes it
    rows = [{"stream_url": RELAY["stream_url"], "stream_name": "VOV1", "ORDER": 1}, {"bulletin": bulletin.pk}]
    refused = client.post(edit, slot_form(stamp_of(page), items=rows, initial_rows=1))
    assert refused.status_code == 400
    assert items_of(slots["commune"]) == [("relay", None, False)]
    # The commune takes it into its programme, then the operator places it.
    assert client.post(f"/bulletins/{bulletin.pk}/adopt/", {"unit": cast.commune.code}).status_code == 302
    page = client.get(edit)
    assert "Thông báo thường" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        placed = client.post(edit, slot_form(stamp_of(page), items=rows, initial_rows=1))
    assert placed.status_code == 302
    assert items_of(slots["commune"]) == [("relay", None, False), ("bulletin", bulletin.pk, False)]
    # Adopting in one commune does not give it to the other one.
    with pytest.raises(Invalid):
        actions.do_save_slot(
            slots["other"],
            unit=cast.other_commune,
            acting_user=None,
            data=SlotData(
                name="Khung other",
                start_time=_t("05:30"),
                end_time=_t("06:00"),
                start_date=NOW.date(),
                items=[{"kind": "bulletin", "bulletin": bulletin}],
            ),
        )


def test_priority_bulletin_goes_to_the_front_of_the_target_communes_slots_only(
    cast, slots, django_capture_on_commit_callbacks
):
    board = cast.commune.devices.get(kind=DeviceKind.BOARD)
    version = board.manifest.version
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = published(cast, priority="priority", targets=[cast.commune], title="Lịch cắt điện")
    assert items_of(slots["commune"]) == [("bulletin", bulletin.pk, True), ("relay", None, False)]
    assert items_of(slots["other"]) == [("relay", None, False)]
    assert items_of(slots["province"]) == [("relay", None, False)]
    assert (
        AuditEvent.objects.filter(action="broadcast.priority_inserted", object_id=str(slots["commune"].pk)).count() == 1
    )
    # The commune's devices got a new manifest (and a push telling them so).
    board.manifest.refresh_from_db()
    assert board.manifest.version == version + 1
    assert board.pk in PushEvent.objects.filter(type="manifest").latest("id").device_ids
    # Publishing again (a corrected revision) does not insert it twice.
    content.do_edit_bulletin(
        bulletin,
        acting_user=cast.province_editor,
        data=BulletinData(
            title="Lịch cắt điện (sửa)", body="Nội dung mới.", priority="priority", targets=[cast.commune]
        ),
    )
    bulletin.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        content.do_approve_bulletin(
            bulletin, acting_user=cast.approver, revision_number=bulletin.current_revision.number
        )
    assert items_of(slots["commune"]) == [("bulletin", bulletin.pk, True), ("relay", None, False)]


def test_priority_for_the_whole_province_reaches_every_slot_below_it(cast, slots, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = published(cast, priority="priority", title="Phòng chống dịch")  # no targets: the province
    for slot in slots.values():
        assert items_of(slot)[0] == ("bulletin", bulletin.pk, True)


def test_priority_bulletin_stays_in_the_commune_slots_made_later_and_cannot_be_dropped(
    cast, op, slots, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = published(cast, priority="priority", targets=[cast.commune], title="Lịch cắt điện")
    client = client_for(op)
    page = client.get("/schedules/26068/new/")
    assert "Lịch cắt điện" in page.content.decode()  # offered first, locked
    # Browsers do not send disabled fields: the pushed row comes back with its order only.
    rows = [{"ORDER": 2}, {"stream_url": "http://127.0.0.1:9/vov2.mp3", "ORDER": 1}]
    response = client.post(
        "/schedules/26068/new/",
        slot_form(stamp_of(page), name="Trưa", start_time="11:00", end_time="11:30", items=rows, initial_rows=1),
    )
    assert response.status_code == 302
    noon = Slot.objects.get(name="Trưa")
    assert items_of(noon) == [("relay", None, False), ("bulletin", bulletin.pk, True)]  # the operator's order
    # An API caller that leaves it out gets it back in front.
    data = SlotData(
        name="Trưa",
        start_time=_t("11:00"),
        end_time=_t("11:30"),
        start_date=NOW.date(),
        items=[{"kind": "relay", "stream_url": "http://127.0.0.1:9/vov2.mp3"}],
    )
    actions.do_save_slot(noon, unit=cast.commune, data=data, acting_user=op)
    assert items_of(noon) == [("bulletin", bulletin.pk, True), ("relay", None, False)]


def test_operator_orders_the_communes_own_priority_items_against_pushed_ones(
    cast, op, slots, client_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        own = published(cast, unit=cast.commune, priority="priority", title="Phường: lịch họp dân")
        above = published(cast, priority="priority", targets=[cast.commune], title="Tỉnh: cảnh báo triều cường")
    slot = slots["commune"]
    assert items_of(slot) == [("bulletin", above.pk, True), ("bulletin", own.pk, True), ("relay", None, False)]
    client = client_for(op)
    detail = client.get(f"/schedules/slot/{slot.pk}/").content.decode()
    assert "bạn quyết định thứ tự" in detail  # the collision is pointed out
    own_item = slot.items.get(bulletin=own)
    board = cast.commune.devices.get(kind=DeviceKind.BOARD)
    version = board.manifest.version
    with django_capture_on_commit_callbacks(execute=True):
        moved = client.post(
            f"/schedules/slot/{slot.pk}/items/{own_item.pk}/move/", {"direction": "up"}, HTTP_HX_REQUEST="true"
        )
    assert moved.status_code == 200 and 'id="slot-items"' in moved.content.decode()
    assert items_of(slot) == [("bulletin", own.pk, True), ("bulletin", above.pk, True), ("relay", None, False)]
    event = AuditEvent.objects.get(action="broadcast.slot_reordered")
    assert event.actor == op
    board.manifest.refresh_from_db()
    assert board.manifest.version == version + 1
    # Moving past the ends changes nothing; without htmx the page comes back.
    first = slot.items.order_by("position").first()
    assert client.post(f"/schedules/slot/{slot.pk}/items/{first.pk}/move/", {"direction": "up"}).status_code == 302
    assert AuditEvent.objects.filter(action="broadcast.slot_reordered").count() == 1
    # Another commune's operator cannot touch it; an order naming other items is refused.
    other = client_for(operator(cast.other_commune))
    assert other.post(f"/schedules/slot/{slot.pk}/items/{first.pk}/move/", {"direction": "down"}).status_code == 404
    with pytest.raises(Conflict):
        actions.do_reorder_slot_items(slot, [first.pk], acting_user=op)


def test_emergency_bulletin_plays_now_on_the_target_devices_only(
    cast, slots, settings, django_capture_on_commit_callbacks
):
    boards = set(cast.commune.devices.filter(kind=DeviceKind.BOARD).values_list("pk", flat=True))
    speakers = set(cast.commune.devices.filter(kind=DeviceKind.SPEAKER).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = published(
            cast, priority="emergency", targets=[cast.commune], title="Khẩn cấp: lũ trên sông Đồng Nai"
        )
    plays = {e.body["item"]["kind"]: e for e in PushEvent.objects.filter(type="play")}
    # E-boards get the text at once.
    assert set(plays["board"].device_ids) == boards
    assert plays["board"].body["item"]["bulletin"] == bulletin.pk
    assert "lũ" in plays["board"].body["item"]["text"]
    other_ids = set(cast.other_commune.devices.values_list("pk", flat=True))
    if shutil.which("espeak-ng") and shutil.which("ffmpeg"):
        # Loudspeakers get the audio as soon as it is rendered (here: inline, since the worker runs immediately).
        audio = plays["audio"]
        assert set(audio.device_ids) == speakers
        assert len(audio.body["item"]["sha256"]) == 64 and audio.body["item"]["url"].startswith("/device/v1/media/")
        assert audio.expires_at is not None
    for event in plays.values():
        assert not set(event.device_ids) & other_ids
    # It is placed in the commune's slots as well, for devices that missed the command.
    assert items_of(slots["commune"])[0] == ("bulletin", bulletin.pk, True)
    # Dispatching again sends nothing new.
    assert tt39.dispatch_emergency(bulletin) == []
    assert PushEvent.objects.filter(type="play").count() == len(plays)
    assert AuditEvent.objects.filter(action="broadcast.emergency_dispatched").count() == len(plays)


def test_priority_and_normal_bulletins_send_no_play_command(cast, slots, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        published(cast, priority="priority", targets=[cast.commune])
        published(cast, targets=[cast.commune], title="Thường")
    assert not PushEvent.objects.filter(type="play").exists()


def test_withdrawn_priority_bulletin_leaves_the_slots(cast, slots, client_for, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = published(cast, priority="priority", targets=[cast.commune], title="Lịch cắt điện")
    assert items_of(slots["commune"])[0] == ("bulletin", bulletin.pk, True)
    board = cast.commune.devices.get(kind=DeviceKind.BOARD)
    version = board.manifest.version
    approver = client_for(cast.approver)
    with django_capture_on_commit_callbacks(execute=True):
        response = approver.post(f"/bulletins/{bulletin.pk}/withdraw/", {"comment": "Sai lịch"})
    assert response.status_code == 302
    assert items_of(slots["commune"]) == [("relay", None, False)]
    assert AuditEvent.objects.filter(action="broadcast.priority_removed").count() == 1
    board.manifest.refresh_from_db()
    assert board.manifest.version == version + 1


@pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng and ffmpeg")
def test_manifest_plays_the_pushed_bulletin_first(cast, slots, settings, django_capture_on_commit_callbacks):
    settings.SPEECH_AUTO_RENDER = True  # render the audio as the bulletin is written (inline worker)
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = published(cast, priority="priority", targets=[cast.commune], title="Lịch cắt điện")
    speaker = cast.commune.devices.get(code="BH-001")
    document = json.loads(bytes(speaker.manifest.body))
    # Today's province slot at 19:00 comes first; the commune's morning slot tomorrow opens with the bulletin.
    first = next(e for e in document["slots"] if e["slot"] == slots["commune"].pk)
    assert first["start"] == "2026-11-26T22:30:00Z"
    assert [i["kind"] for i in first["items"]] == ["audio", "stream"]
    assert (first["items"][0]["bulletin"], first["items"][0]["pushed"], first["items"][0]["priority"]) == (
        bulletin.pk,
        True,
        "priority",
    )
