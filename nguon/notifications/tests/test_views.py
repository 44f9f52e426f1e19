"""The bell, the list, mark read, the settings page and the API: a person sees only their own notifications."""

from __future__ import annotations

import pytest
from django.core import mail

from nguon.audit.models import AuditEvent
from nguon.notifications.actions import notify
from nguon.notifications.models import ChannelChoice, Kind, Notification
from nguon.notifications.tests.helpers import office  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def tell(user, title="Bản tin chờ phê duyệt: Lịch tiêm", kind=Kind.BULLETIN_SUBMITTED, **fields):
    fields.setdefault("link", "/bulletins/")
    return notify([user], kind, title=title, **fields)[0]


def test_badge_counts_unread_and_answers_204_when_nothing_changed(cast, client_for):
    client = client_for(cast.commune_editor)
    page = client.get("/")
    assert b'id="notification-badge"' in page.content
    assert b'data-unread="0"' in page.content
    assert b"notifications.js" in page.content

    first = tell(cast.commune_editor)
    badge = client.get("/notifications/badge/?since=0.0.0")
    assert badge.status_code == 200
    html = badge.content.decode()
    assert 'data-unread="1"' in html and 'data-sound-id="0"' in html
    assert "1 thông báo chưa đọc" in html
    version = f"1.{first.pk}.0"
    assert f"since={version}" in html
    # Nothing new since: no body, htmx keeps what it shows.
    assert client.get(f"/notifications/badge/?since={version}").status_code == 204

    sounding = tell(cast.commune_editor, "Cảnh báo chờ phê duyệt", kind=Kind.ALERT_PENDING)
    assert sounding.sound
    html = client.get(f"/notifications/badge/?since={version}").content.decode()
    assert 'data-unread="2"' in html and f'data-sound-id="{sounding.pk}"' in html and "urgent" in html


def test_badge_of_a_signed_out_page_stops_polling(client):
    assert client.get("/notifications/badge/").status_code == 286


def test_badge_query_count(cast, client_for, django_assert_max_num_queries):
    client = client_for(cast.commune_editor)
    for n in range(5):
        tell(cast.commune_editor, f"Tin {n}")
    # Session, user, grants (for the two-factor check), and the one aggregate.
    with django_assert_max_num_queries(5):
        assert client.get("/notifications/badge/?since=x").status_code == 200


def test_list_shows_only_my_notifications_and_marks_read(cast, office, client_for):  # noqa: F811
    mine = tell(cast.commune_editor, "Của tôi")
    theirs = tell(office.other_operator, "Của xã khác")
    client = client_for(cast.commune_editor)

    page = client.get("/notifications/").content.decode()
    assert "Của tôi" in page and "Của xã khác" not in page
    # Another person's notification: not found, not marked.
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 404
    assert client.get(f"/notifications/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None

    response = client.post(f"/notifications/{mine.pk}/read/", {"next": "/notifications/?unread=1"})
    assert response.status_code == 302 and response["Location"] == "/notifications/?unread=1"
    mine.refresh_from_db()
    assert mine.read_at is not None
    assert "Của tôi" not in client.get("/notifications/?unread=1").content.decode()

    # Outside addresses in `next` are not followed.
    other = tell(cast.commune_editor, "Tin khác")
    response = client.post(f"/notifications/{other.pk}/read/", {"next": "https://example.com/"})
    assert response["Location"] == "/notifications/"


def test_open_marks_read_and_goes_to_the_link(cast, client_for):
    note = tell(cast.commune_editor, link="/bulletins/inbox/")
    client = client_for(cast.commune_editor)
    response = client.get(f"/notifications/{note.pk}/open/")
    assert response.status_code == 302 and response["Location"] == "/bulletins/inbox/"
    note.refresh_from_db()
    assert note.is_read


def test_only_back_office_paths_are_stored_as_links(cast):
    for link in ("https://example.com/", "//example.com/x", "javascript:alert(1)"):
        with pytest.raises(ValueError):
            tell(cast.commune_editor, link=link)


def test_mark_all_read(cast, office, client_for):  # noqa: F811
    for n in range(3):
        tell(cast.commune_editor, f"Tin {n}")
    tell(office.other_operator, "Không phải của tôi")
    client = client_for(cast.commune_editor)
    assert client.post("/notifications/read-all/").status_code == 302
    assert not Notification.objects.filter(recipient=cast.commune_editor, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=office.other_operator, read_at__isnull=True).count() == 1


def test_preferences_page_turns_email_off_per_kind_and_is_audited(cast, client_for, django_capture_on_commit_callbacks):
    cast.commune_editor.email = "editor@example.vn"
    cast.commune_editor.save(update_fields=["email"])
    client = client_for(cast.commune_editor)
    page = client.get("/notifications/settings/").content.decode()
    # An editor is offered what concerns editors, not approvals or devices.
    assert "Bản tin của bạn bị trả lại để sửa" in page
    assert "Bản tin chờ phê duyệt" not in page and "Thiết bị mất kết nối" not in page
    assert 'name="bulletin_returned__email" id="id_bulletin_returned__email" checked' in page

    kept = {
        f"{kind}__email": "on"
        for kind in ("alert_withdrawn", "alert_rejected", "deadline")
        + tuple(k for k in Kind.values if k.startswith("feedback_") and k != "feedback_drafted")
    }
    response = client.post("/notifications/settings/", {**kept, "bulletin_approved__email": "on"})  # returned: off
    assert response.status_code == 302
    assert ChannelChoice.objects.get(user=cast.commune_editor, kind=Kind.BULLETIN_RETURNED).enabled is False
    event = AuditEvent.objects.filter(action="notifications.preferences_changed").get()
    assert sorted(event.changes["channels"]) == ["bulletin_approved/email: on", "bulletin_returned/email: off"]

    with django_capture_on_commit_callbacks(execute=True):
        tell(cast.commune_editor, "Bị trả lại", kind=Kind.BULLETIN_RETURNED)
        tell(cast.commune_editor, "Đã duyệt", kind=Kind.BULLETIN_APPROVED)
    assert [m.subject for m in mail.outbox] == ["[Nguồn] Đã duyệt"]
    # Both show under the bell whatever the e-mail choice.
    assert Notification.objects.filter(recipient=cast.commune_editor).count() == 2


def test_preferences_page_says_when_there_is_no_address(cast, client_for):
    page = client_for(cast.commune_editor).get("/notifications/settings/").content.decode()
    assert "Tài khoản của bạn chưa có địa chỉ thư điện tử" in page


def test_api_lists_my_notifications_and_marks_them_read(cast, office, client_for):  # noqa: F811
    mine = tell(cast.commune_editor, "Của tôi", kind=Kind.ALERT_PENDING, unit=cast.commune)
    theirs = tell(office.other_operator, "Của xã khác")
    client = client_for(cast.commune_editor)

    body = client.get("/api/v1/notifications/").json()
    assert body["count"] == 1
    item = body["items"][0]
    assert item["id"] == mine.pk and item["sound"] is True and item["unit"] == cast.commune.code
    assert item["read_at"] is None
    assert [(d["channel"], d["state"]) for d in item["deliveries"]] == [("email", "queued")]
    assert client.get("/api/v1/notifications/summary").json() == {"unread": 1, "latest": mine.pk, "sound_id": mine.pk}
    assert client.get(f"/api/v1/notifications/{theirs.pk}").json()["error"]["code"] == "not_found"

    marked = client.post("/api/v1/notifications/read", {"ids": [mine.pk, theirs.pk]}, content_type="application/json")
    assert marked.json() == {"marked": 1}
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    assert client.post("/api/v1/notifications/read-all").json() == {"marked": 0}


def test_api_preferences(cast, client_for):
    client = client_for(cast.commune_editor)
    kinds = {p["kind"]: p["channels"] for p in client.get("/api/v1/notifications/preferences").json()}
    assert kinds["bulletin_returned"] == {"email": True}
    assert "alert_pending" not in kinds

    bad = client.put(
        "/api/v1/notifications/preferences",
        [{"kind": "alert_pending", "channels": {"email": False}}, {"kind": "deadline", "channels": {"sms": True}}],
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"0.kind", "1.channels"}
    assert not ChannelChoice.objects.exists()

    saved = client.put(
        "/api/v1/notifications/preferences",
        [{"kind": "bulletin_returned", "channels": {"email": False}}],
        content_type="application/json",
    )
    assert saved.status_code == 200
    assert {p["kind"]: p["channels"] for p in saved.json()}["bulletin_returned"] == {"email": False}


def test_api_needs_a_session(client):
    assert client.get("/api/v1/notifications/").status_code == 401


def test_read_notifications_are_purged_after_half_a_year(cast):
    from datetime import timedelta

    from django.utils import timezone

    from nguon.notifications.actions import purge_read

    now = timezone.now()
    old, recent, unread = (tell(cast.commune_editor, f"Tin {n}") for n in range(3))
    Notification.objects.filter(pk=old.pk).update(read_at=now - timedelta(days=181))
    Notification.objects.filter(pk=recent.pk).update(read_at=now - timedelta(days=10))
    Notification.objects.filter(pk=unread.pk).update(created_at=now - timedelta(days=400))
    assert purge_read(now=now) == 1
    assert set(Notification.objects.values_list("pk", flat=True)) == {recent.pk, unread.pk}
