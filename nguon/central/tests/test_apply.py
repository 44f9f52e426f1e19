"""Message kinds where they arrive and where they start: figures, inventory and shared bulletins up; bulletins (by
TT 39 class) and CAP alerts down; the share-up step and the children pages."""

from __future__ import annotations

import pytest
from django.utils import timezone

from nguon.alerts.models import Alert, AlertState, Origin
from nguon.alerts.tests.test_import import flood_cap
from nguon.audit.models import AuditEvent
from nguon.broadcast.models import DeviceKind, PushEvent
from nguon.broadcast.tests.schedule_helpers import device, published
from nguon.central import up
from nguon.central.adapters import Envelope
from nguon.central.content_models import BulletinShare, ChildInventory, ChildReport, SharedBulletin
from nguon.central.exchange import receive
from nguon.central.models import InboxMessage, Link, OutboxMessage
from nguon.central.ninjs import bulletin_body
from nguon.content.models import Adoption, Bulletin, Priority, Source, Status
from nguon.core.errors import Conflict, Forbidden, Invalid
from nguon.reports import periods

pytestmark = pytest.mark.django_db


def make_link(role, name="centre"):
    return Link.objects.create(role=role, name=name, state=Link.State.ACTIVE, peer_instance_id=name)


@pytest.fixture
def parent(cast):
    return make_link(Link.Role.PARENT)


@pytest.fixture
def child(cast):
    return make_link(Link.Role.CHILD, "dong-nai")


def envelope(kind, body, key, seq=1):
    return Envelope(kind=kind, key=key, seq=seq, body=body, created_at=timezone.now().isoformat())


def ninjs_body(priority="emergency", *, uri="urn:nguon:VN:bulletin:7", version="1", title="Khẩn cấp: bão số 9",
               web="", places=()):  # fmt: skip
    bodies = [{"role": "body", "contenttype": "text/plain", "value": f"{title}. Người dân di dời ngay."}]
    if web:
        bodies.append({"role": "web", "contenttype": "text/html", "value": web})
    item = {"uri": uri, "type": "text", "version": version, "language": "vi", "urgency": 1,
            "headlines": [{"value": title, "contenttype": "text/plain"}], "bodies": bodies,
            "places": [{"name": c, "uri": f"nguon:unit:{c}"} for c in places]}  # fmt: skip
    return {"priority": priority, "item": item, "valid_from": None, "valid_to": None, "expires_at": None}


# --- DOWN: bulletins by TT 39 class ------------------------------------------------------------------------------


def test_an_emergency_from_above_is_published_at_once_and_played_on_every_device(
    cast, parent, django_capture_on_commit_callbacks
):
    board = device(cast.commune, "BH-B01", kind=DeviceKind.BOARD)
    other_board = device(cast.other_commune, "TB-B01", kind=DeviceKind.BOARD)
    web = '<p>Sơ tán <strong>ngay</strong></p><script>alert("x")</script><a href="javascript:evil()">xem</a>'
    with django_capture_on_commit_callbacks(execute=True):
        assert receive(parent, envelope("bulletin", ninjs_body(web=web), "bulletin:urn:nguon:VN:bulletin:7:1"))
    bulletin = Bulletin.objects.get(source=Source.CENTRAL)
    assert (bulletin.status, bulletin.priority, bulletin.owner_unit) == (Status.PUBLISHED, "emergency", cast.province)
    assert bulletin.external_id == "urn:nguon:VN:bulletin:7" and bulletin.author is None
    html = bulletin.published_revision.web_html
    assert "<strong>ngay</strong>" in html and "<script" not in html and "javascript:" not in html
    # TT 39: pushed to the whole province (no target names a unit here), the e-boards told to play at once.
    assert Adoption.objects.get(bulletin=bulletin).unit == cast.province
    play = PushEvent.objects.get(type="play", body__item__kind="board")
    assert {board.pk, other_board.pk} <= set(play.device_ids)
    assert play.body["item"]["bulletin"] == bulletin.pk
    assert AuditEvent.objects.filter(action="central.bulletin_received").count() == 1
    # The same message again (a retry over another path) is applied once.
    assert not receive(parent, envelope("bulletin", ninjs_body(web=web), "bulletin:urn:nguon:VN:bulletin:7:1"))
    assert Bulletin.objects.count() == 1 and InboxMessage.objects.count() == 1


def test_an_emergency_naming_a_commune_reaches_that_commune_only(cast, parent, django_capture_on_commit_callbacks):
    board = device(cast.commune, "BH-B02", kind=DeviceKind.BOARD)
    other_board = device(cast.other_commune, "TB-B02", kind=DeviceKind.BOARD)
    with django_capture_on_commit_callbacks(execute=True):
        receive(parent, envelope("bulletin", ninjs_body(places=["26068", "99999"]), "k1"))
    play = PushEvent.objects.get(type="play", body__item__kind="board")
    assert board.pk in play.device_ids and other_board.pk not in play.device_ids


def test_a_priority_bulletin_from_above_goes_into_the_programmes_without_a_play_command(
    cast, parent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        receive(parent, envelope("bulletin", ninjs_body("priority", title="Lịch tiêm chủng"), "k1"))
    bulletin = Bulletin.objects.get(source=Source.CENTRAL)
    assert bulletin.status == Status.PUBLISHED
    assert Adoption.objects.filter(bulletin=bulletin, how=Adoption.How.PUSHED).exists()
    assert not PushEvent.objects.filter(type="play").exists()


def test_a_normal_bulletin_from_above_awaits_approval_and_the_communes_choice(cast, parent):
    receive(parent, envelope("bulletin", ninjs_body("normal", title="Tuyên truyền bầu cử"), "k1"))
    bulletin = Bulletin.objects.get(source=Source.CENTRAL)
    assert bulletin.status == Status.SUBMITTED and bulletin.published_revision is None
    assert not Adoption.objects.filter(bulletin=bulletin).exists()
    # A new version from above becomes a new revision of the same bulletin.
    receive(parent, envelope("bulletin", ninjs_body("normal", title="Tuyên truyền bầu cử (sửa)", version="2"), "k2"))
    bulletin.refresh_from_db()
    assert Bulletin.objects.count() == 1 and bulletin.current_revision.number == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"priority": "emergency"},
        {"priority": "urgent!", "item": {"uri": "u", "headlines": [{"value": "x"}]}},
        {"priority": "normal", "item": {"headlines": [{"value": "Không có uri"}], "bodies": []}},
        {"priority": "normal", "item": {"uri": "u", "headlines": [{"value": ""}], "bodies": []}},  # no title/body
        {"priority": "normal", "item": {"uri": "u", "headlines": "x", "bodies": "not a list"}},
        {**ninjs_body("normal"), "expires_at": "tomorrow"},
    ],
)
def test_a_malformed_bulletin_from_above_is_refused_whole(cast, parent, body):
    with pytest.raises(Invalid):
        receive(parent, envelope("bulletin", body, "bad"))
    assert not Bulletin.objects.exists() and not InboxMessage.objects.exists()


# --- DOWN: CAP alerts -----------------------------------------------------------------------------------------


def test_a_cap_alert_from_above_is_taken_in_as_a_trusted_senders(cast, parent):
    xml = flood_cap("urn:centre:1", sender="canhbao@trungtam.gov.vn").decode()
    receive(parent, envelope("alert", {"cap_xml": xml}, "alert:1"))
    alert = Alert.objects.get()
    assert alert.origin == Origin.HTTP and alert.cap_sender.cap_sender == "canhbao@trungtam.gov.vn"
    assert alert.unit == cast.province and alert.state == AlertState.PENDING
    # The same alert from another path is not an error: it is there already.
    receive(parent, envelope("alert", {"cap_xml": xml}, "alert:1-again", seq=2))
    assert Alert.objects.count() == 1
    with pytest.raises(Invalid):
        receive(parent, envelope("alert", {"cap_xml": "<alert>not cap</alert>"}, "alert:bad", seq=3))


# --- UP: at the parent ------------------------------------------------------------------------------------------


def test_figures_inventory_and_shared_bulletins_from_a_child_are_kept_and_shown(cast, child, client_for):
    body = up.figures_body(periods.parse("month", "2026-11"), unit=cast.province)
    receive(child, envelope("figures", body, "figures:1"))
    device(cast.commune, "BH-001")
    receive(child, envelope("inventory", up.inventory_body(unit=cast.province), "inventory:1", seq=2))
    receive(child, envelope("shared_bulletin", ninjs_body("normal", title="Gương người tốt"), "shared:1", seq=3))
    report = ChildReport.objects.get()
    assert (report.link, report.period_value, report.unit_code) == (child, "2026-11", "75")
    inventory = ChildInventory.objects.get()
    assert inventory.totals["devices"] == 1 and inventory.rows[0]["unit_code"] == "26068"
    shared = SharedBulletin.objects.get()
    admin = client_for(cast.province_admin)  # one login: a second would replay the same TOTP code
    page = admin.get(f"/central/children/{child.pk}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "2026-11" in text and "Gương người tốt" in text and "26068" in text
    assert admin.get("/central/children/").status_code == 200
    detail = admin.get(f"/central/children/{child.pk}/bulletins/{shared.pk}/")
    assert "Người dân di dời ngay" in detail.content.decode()
    # A commune's staff do not see what the province's children send.
    assert client_for(cast.commune_editor).get(f"/central/children/{child.pk}/").status_code in (403, 404)


def test_figures_without_tables_are_refused(cast, child):
    with pytest.raises(Invalid):
        receive(child, envelope("figures", {"report": {"sections": "none"}}, "f"))
    with pytest.raises(Invalid):
        receive(child, envelope("inventory", {"rows": [], "taken_at": "yesterday"}, "i"))
    assert not ChildReport.objects.exists() and not ChildInventory.objects.exists()


# --- where messages start -------------------------------------------------------------------------------------


def test_publishing_at_a_parent_queues_the_bulletin_for_each_child_once(
    cast, child, django_capture_on_commit_callbacks
):
    make_link(Link.Role.CHILD, "binh-duong")
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = published(cast, priority="emergency", title="Khẩn cấp: lũ")
    messages = OutboxMessage.objects.filter(kind="bulletin")
    assert messages.count() == 2
    body = messages.first().body
    assert body["priority"] == "emergency" and body["item"]["headlines"][0]["value"] == "Khẩn cấp: lũ"
    assert body["item"]["uri"] == f"urn:nguon:75:bulletin:{bulletin.pk}" and body["item"]["urgency"] == 1


def test_a_bulletin_from_above_is_not_sent_further_down(cast, parent, child, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        receive(parent, envelope("bulletin", ninjs_body(), "k1"))
    assert not OutboxMessage.objects.filter(kind="bulletin").exists()


def test_nothing_is_queued_without_children(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        published(cast, priority="priority")
    assert not OutboxMessage.objects.exists()


def test_an_issued_alert_is_queued_down_as_cap(cast, child, django_capture_on_commit_callbacks):
    from nguon.alerts import actions as alerts
    from nguon.alerts import importer

    sender, _token = alerts.do_add_sender(name="Cục PCTT", cap_sender="canhbao@pctt.gov.vn", unit=cast.province)
    with django_capture_on_commit_callbacks(execute=True):
        alert = importer.import_cap(flood_cap("urn:x:1", sender="canhbao@pctt.gov.vn"), unit=cast.province,
                                    sender=sender, origin=Origin.HTTP)  # fmt: skip
        alerts.do_approve(alert, acting_user=cast.approver)
    message = OutboxMessage.objects.get(kind="alert")
    assert "urn:x:1" in message.body["cap_xml"] and message.key == "alert:canhbao@pctt.gov.vn:urn:x:1"


def test_an_approver_shares_a_published_bulletin_up_once(cast, parent, client_for):
    bulletin = published(cast, title="Mô hình dân vận khéo")
    approver = client_for(cast.approver)
    page = approver.get(f"/bulletins/{bulletin.pk}/")
    assert "Share with the level above" in page.content.decode() or "Chia sẻ lên cấp trên" in page.content.decode()
    response = approver.post(f"/central/share/{bulletin.pk}/")
    assert response.status_code == 302
    share = BulletinShare.objects.get()
    assert share.by == cast.approver and share.revision == bulletin.published_revision.number
    message = OutboxMessage.objects.get(kind="shared_bulletin", link=parent)
    assert message.body["item"]["headlines"][0]["value"] == "Mô hình dân vận khéo"
    assert AuditEvent.objects.filter(action="central.bulletin_shared_up").count() == 1
    up.do_share_bulletin_up(bulletin, acting_user=cast.approver)  # again: nothing new
    assert OutboxMessage.objects.filter(kind="shared_bulletin").count() == 1
    with pytest.raises(Forbidden):
        up.do_share_bulletin_up(bulletin, acting_user=cast.province_editor)
    assert client_for(cast.province_editor).post(f"/central/share/{bulletin.pk}/").status_code == 403


def test_a_draft_cannot_be_shared_and_nothing_without_a_parent(cast, client_for):
    from nguon.content import actions as content
    from nguon.content.actions import BulletinData

    draft = content.do_create_bulletin(
        owner_unit=cast.province, data=BulletinData(title="Nháp", body="Nội dung"), acting_user=cast.province_editor
    )
    live = published(cast, title="Đã đăng")
    with pytest.raises(Conflict):
        up.do_share_bulletin_up(live, acting_user=cast.approver)  # no parent link
    make_link(Link.Role.PARENT)
    with pytest.raises(Conflict):
        up.do_share_bulletin_up(draft, acting_user=cast.approver)
    assert not OutboxMessage.objects.exists()


def test_the_schedule_queues_figures_and_inventory_once_while_they_do_not_change(cast, parent):
    keys = up.queue_periodic()
    assert len(keys) == 3
    assert set(OutboxMessage.objects.values_list("kind", flat=True)) == {"figures", "inventory"}
    count = OutboxMessage.objects.count()
    up.queue_periodic()
    assert OutboxMessage.objects.count() == count
    figures = OutboxMessage.objects.filter(kind="figures").first().body["report"]
    assert figures["unit"]["code"] == "75" and figures["sections"]


def test_the_ninjs_of_a_published_bulletin_carries_its_class(cast):
    bulletin = published(cast, priority=Priority.PRIORITY, targets=[cast.commune], title="Ưu tiên")
    body = bulletin_body(bulletin)
    assert body["priority"] == "priority" and body["item"]["urgency"] == 3
    assert body["item"]["places"] == [{"name": cast.commune.name, "uri": "nguon:unit:26068"}]
    assert body["item"]["version"] == "1" and body["item"]["pubstatus"] == "usable"


def test_a_shared_bulletin_with_rendered_speech_carries_its_audio_as_a_rendition(cast):
    from nguon.content.models import MediaAsset, MediaKind
    from nguon.speech.actions import _key, spoken_text_for
    from nguon.speech.models import RenderStatus, SpeechRender

    bulletin = published(cast, title="Có bản đọc")
    text = spoken_text_for(bulletin.published_revision)
    asset = MediaAsset.objects.create(sha256="ab" * 32, kind=MediaKind.AUDIO, mime_type="audio/mpeg", extension="mp3",
                                      size=4096, file="media/x.mp3", is_generated=True, duration=12.5)  # fmt: skip
    SpeechRender.objects.create(key=_key(text, None, None)[0], text=text, engine="espeak", voice="vi",
                                unit=cast.province, status=RenderStatus.DONE, mp3=asset)  # fmt: skip
    audio = bulletin_body(bulletin)["item"]["renditions"]["audio"]
    assert audio["contenttype"] == "audio/mpeg" and audio["size"] == 4096 and audio["duration"] == 12.5
    assert audio["hash"] == "sha256:" + "ab" * 32 and audio["href"].endswith(f"/bulletins/media/{'ab' * 32}/")
