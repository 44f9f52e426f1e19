"""The public alert page, its Atom feed and the CAP documents: no sign-in, only current real public alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from nguon.alerts import actions
from nguon.alerts.models import Alert
from nguon.alerts.tests.helpers import make_alert

pytestmark = pytest.mark.django_db


def issued(cast, **fields) -> Alert:
    alert = make_alert(cast, **fields)
    return actions.do_approve(alert, acting_user=cast.approver)


@pytest.fixture
def alerts(cast):
    """One current public alert, and the kinds the public must not see."""
    shown = issued(
        cast,
        headline="Lũ lớn trên sông Đồng Nai",
        headline_en="Major flood on the Dong Nai river",
        description_en="The river is rising fast.",
        area_desc="Các phường ven sông",
    )
    drill = issued(cast, headline="Diễn tập sơ tán", status="Exercise")
    pending = make_alert(cast, headline="Cảnh báo chưa duyệt")
    expired = issued(cast, headline="Cảnh báo đã hết hạn")
    # Expiry passes while it is issued (an issued alert is never saved with a past expiry).
    Alert.objects.filter(pk=expired.pk).update(expires=timezone.now() - timedelta(minutes=1))
    restricted = issued(cast, headline="Tin nội bộ", scope="Restricted")
    return {"shown": shown, "drill": drill, "pending": pending, "expired": expired, "restricted": restricted}


def test_public_page_lists_current_public_alerts_only(cast, alerts):
    response = Client().get("/canh-bao/")
    assert response.status_code == 200
    html = response.content.decode()
    shown = alerts["shown"]
    assert "Cảnh báo đang có hiệu lực" in html
    assert escape(shown.headline) in html and escape(shown.description) in html and escape(shown.instruction) in html
    assert "Các phường ven sông" in html and cast.commune.name in html
    assert "Nghiêm trọng" in html and "psev-severe" in html
    assert timezone.localtime(shown.expires).strftime("%d/%m/%Y %H:%M") in html  # Vietnam time
    for name in ("drill", "pending", "expired", "restricted"):
        assert escape(alerts[name].headline) not in html, name
    assert '<link rel="alternate" type="application/atom+xml"' in html and 'href="/canh-bao/feed.atom"' in html
    assert f'href="/canh-bao/{shown.pk}.xml"' in html
    assert 'class="mainnav"' not in html  # no back-office navigation
    assert "<script" not in html  # works without JavaScript


def test_public_page_in_english_uses_the_english_text(cast, alerts):
    html = Client().get("/canh-bao/?lang=en").content.decode()
    assert '<html lang="en"' in html
    assert "Current emergency alerts" in html
    assert "Major flood on the Dong Nai river" in html and "The river is rising fast." in html
    # No English instruction was given: the Vietnamese one is shown, marked as Vietnamese.
    assert f'lang="vi">{escape(alerts["shown"].instruction)}' in html
    html = Client(headers={"accept-language": "en"}).get("/canh-bao/").content.decode()
    assert "Major flood on the Dong Nai river" in html


def test_public_page_says_so_when_nothing_is_current(db):
    response = Client().get("/canh-bao/")
    assert response.status_code == 200
    assert "Hiện không có cảnh báo khẩn cấp nào đang có hiệu lực." in response.content.decode()


def test_a_cancelled_alert_leaves_the_public_page(cast, alerts):
    actions.do_cancel(alerts["shown"], acting_user=cast.approver)
    html = Client().get("/canh-bao/").content.decode()
    assert f'id="alert-{alerts["shown"].pk}"' not in html
    # It is named among the alerts cancelled lately, not shown as current.
    assert html.count(escape(alerts["shown"].headline)) == 1 and "Đã hủy trong 48 giờ qua" in html


def test_cap_document_of_a_public_alert(cast, alerts):
    shown = alerts["shown"]
    response = Client().get(f"/canh-bao/{shown.pk}.xml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/cap+xml"
    assert shown.identifier.encode() in response.content


def test_no_cap_document_for_what_is_not_public(cast, alerts):
    for name in ("drill", "pending", "restricted"):
        assert Client().get(f"/canh-bao/{alerts[name].pk}.xml").status_code == 404, name
    assert Client().get("/canh-bao/999999.xml").status_code == 404
    # What was published stays published: an expired alert's document is still there for those who saw it.
    assert Client().get(f"/canh-bao/{alerts['expired'].pk}.xml").status_code == 200


def test_atom_feed(cast, alerts):
    response = Client().get("/canh-bao/feed.atom")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/atom+xml; charset=utf-8"
    body = response.content.decode()
    assert body.lstrip().startswith("<?xml") and "http://www.w3.org/2005/Atom" in body
    assert f"/canh-bao/{alerts['shown'].pk}.xml" in body
    for name in ("drill", "pending", "restricted"):
        assert f"/canh-bao/{alerts[name].pk}.xml" not in body, name
    # Google Public Alerts: an expired alert stays in the feed for a day or two (test_public_feed.py).
    assert f"/canh-bao/{alerts['expired'].pk}.xml" in body


def test_the_feed_reads_each_alerts_units_from_one_prefetch(cast, client, django_assert_max_num_queries):
    from nguon.alerts.actions import do_approve
    from nguon.alerts.tests.helpers import make_alert

    for n in range(5):
        do_approve(make_alert(cast, headline=f"Cảnh báo {n}"), acting_user=cast.approver)
    with django_assert_max_num_queries(4):
        response = client.get("/canh-bao/feed.atom")
    assert response.content.count(b"<entry>") == 5
