"""Bad input to the bulletin form: refused with a clear field error and nothing written; markup is cleaned."""

import pytest
from django.utils.html import escape

from nguon.content import actions
from nguon.content.models import Bulletin, Revision, Status
from nguon.content.tests.conftest import counts, edit_data, form_data, make_bulletin

LONG_BODY = ("Nội dung rất dài. " * 12_000)[:200_000]
assert len(LONG_BODY) == 200_000

# (case id, form fields to change, field that must carry the error)
BAD = [
    ("empty title", {"title": ""}, "title"),
    ("blank title", {"title": "   \n  "}, "title"),
    ("markup-only title", {"title": "<b> </b><script>x</script>"}, "title"),
    ("title too long", {"title": "Tiêu đề " * 50}, "title"),
    ("empty body", {"body": ""}, "body"),
    ("body of 200,000 characters", {"body": LONG_BODY}, "body"),
    ("body of emoji only", {"body": "🙂🎉🇻🇳 🔥🔥 ❤️"}, "body"),
    ("body of a script only", {"body": "<script>alert(1)</script>"}, "body"),
    ("spoken text of symbols only", {"spoken_text": "!!! ??? 🙂"}, "spoken_text"),
    ("e-board text too long", {"board_text": "x" * 600}, "board_text"),
    ("unknown priority", {"priority": "urgent"}, "priority"),
    ("expiry before publication", {"publish_at": "2030-05-02T08:00", "expires_at": "2030-05-01T08:00"}, "expires_at"),
    ("expiry equal to publication", {"publish_at": "2030-05-02T08:00", "expires_at": "2030-05-02T08:00"}, "expires_at"),
    (
        "validity ending before it starts",
        {"valid_from": "2030-05-02T08:00", "valid_to": "2030-05-01T08:00"},
        "valid_to",
    ),
    ("malformed date", {"publish_at": "ngày mai"}, "publish_at"),
]


def field_errors(response, field) -> list[str]:
    assert response.status_code == 400, response.content[:500]
    errors = response.context["form"].errors
    assert field in errors, errors
    messages = [str(m) for m in errors[field]]
    assert all(m.strip() for m in messages)
    page = response.content.decode()
    for message in messages:  # shown on the page
        assert escape(message) in page
    return messages


@pytest.mark.parametrize(("overrides", "field"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_new_bulletin_is_refused_and_nothing_written(cast, client_for, overrides, field):
    client = client_for(cast.commune_editor)
    before = counts()
    response = client.post("/bulletins/new/", form_data(cast.commune, **overrides))
    field_errors(response, field)
    assert counts() == before


def test_a_long_body_gets_a_message_with_the_limit(cast, client_for):
    client = client_for(cast.commune_editor)
    response = client.post("/bulletins/new/", form_data(cast.commune, body=LONG_BODY))
    (message,) = field_errors(response, "body")
    assert "200.000" in message and "50.000" in message
    assert not Bulletin.objects.exists()


@pytest.mark.parametrize(("overrides", "field"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_bad_edit_is_refused_and_earlier_revisions_stay(cast, client_for, overrides, field):
    bulletin = make_bulletin(cast.commune, cast.commune_editor, title="Tin gốc", body="Nội dung gốc.")
    bulletin = actions.do_edit_bulletin(
        bulletin, data=actions.BulletinData(title="Tin gốc", body="Nội dung sửa lần một."), acting_user=bulletin.author
    )
    actions.do_submit_bulletin(bulletin, acting_user=bulletin.author)
    bulletin.refresh_from_db()
    kept = {r.number: (r.pk, r.title, r.body, r.content_hash) for r in bulletin.revisions.all()}
    before = counts()

    client = client_for(cast.commune_editor)
    response = client.post(f"/bulletins/{bulletin.pk}/edit/", edit_data(bulletin, **overrides))
    field_errors(response, field)

    assert counts() == before
    bulletin.refresh_from_db()
    assert bulletin.current_revision.number == 2 and bulletin.status == Status.SUBMITTED
    assert bulletin.title == "Tin gốc" and bulletin.publish_at is None and bulletin.expires_at is None
    assert {r.number: (r.pk, r.title, r.body, r.content_hash) for r in bulletin.revisions.all()} == kept


def test_script_in_the_body_is_stored_without_it(cast, client_for):
    client = client_for(cast.commune_editor)
    response = client.post(
        "/bulletins/new/",
        form_data(
            cast.commune,
            title="Thông báo <script>alert(1)</script>họp tổ dân phố",
            body="Họp tổ dân phố lúc 19 giờ.<script>alert(1)</script>\n<b>Mời</b> các hộ tham dự.",
            summary='<img src=x onerror="alert(1)">Tóm tắt',
        ),
    )
    assert response.status_code == 302, response.content[:800]
    revision = Revision.objects.get()
    for text in (revision.title, revision.body, revision.summary, revision.bulletin.title):
        assert "<" not in text and "alert" not in text
    assert revision.title == "Thông báo họp tổ dân phố"
    assert revision.body == "Họp tổ dân phố lúc 19 giờ.\nMời các hộ tham dự."
    assert revision.summary == "Tóm tắt"
    page = client.get(f"/bulletins/{revision.bulletin_id}/").content.decode()
    assert "alert(1)" not in page


def test_web_html_keeps_formatting_and_loses_scripts(cast, client_for):
    client = client_for(cast.commune_editor)
    web = (
        '<p onclick="steal()">Xem <a href="javascript:alert(1)" onclick="steal()">tại đây</a>'
        ' hoặc <a href="https://dongnai.gov.vn/tin" onmouseover="x()">cổng tỉnh</a>.</p>'
        '<img src="x" onerror="alert(2)"><a href="JaVaScRiPt:alert(3)">b</a>'
        '<a href="data:text/html,<script>alert(4)</script>">c</a>'
        "<script>alert(5)</script><style>body{display:none}</style><iframe src=//evil></iframe>"
        "<strong>Quan trọng</strong>"
    )
    response = client.post("/bulletins/new/", form_data(cast.commune, web_html=web))
    assert response.status_code == 302, response.content[:800]
    stored = Revision.objects.get().web_html
    lowered = stored.lower()
    for bad in ("javascript:", "onclick", "onerror", "onmouseover", "<script", "alert(", "<style", "<iframe", "data:"):
        assert bad not in lowered, (bad, stored)
    assert '<a href="https://dongnai.gov.vn/tin" rel="noopener noreferrer">cổng tỉnh</a>' in stored
    assert "<strong>Quan trọng</strong>" in stored and "tại đây" in stored

    page = client.get(f"/bulletins/{Revision.objects.get().bulletin_id}/").content.decode()
    assert "javascript:" not in page.lower() and "onerror" not in page


def test_target_outside_the_owners_subtree_is_refused(cast, client_for):
    # The province editor sees both communes, but a commune's bulletin cannot target its neighbour.
    client = client_for(cast.province_editor)
    before = counts()
    response = client.post("/bulletins/new/", form_data(cast.commune, targets=[cast.commune.pk, cast.other_commune.pk]))
    (message,) = field_errors(response, "targets")
    assert cast.other_commune.name in message
    assert counts() == before

    # A commune editor does not even see the neighbour in the list of targets.
    response = client_for(cast.commune_editor).post(
        "/bulletins/new/", form_data(cast.commune, targets=[cast.other_commune.pk])
    )
    field_errors(response, "targets")
    assert counts() == before

    # Its own commune (or the province's subtree for a province bulletin) is fine.
    response = client.post(
        "/bulletins/new/", form_data(cast.province, targets=[cast.commune.pk, cast.other_commune.pk])
    )
    assert response.status_code == 302


def test_owner_unit_outside_the_editors_units_is_refused(cast, client_for):
    client = client_for(cast.commune_editor)
    for unit in (cast.province, cast.other_commune):
        response = client.post("/bulletins/new/", form_data(unit))
        field_errors(response, "owner_unit")
    assert not Bulletin.objects.exists()


def test_users_without_editing_rights_cannot_write(cast, client_for):
    for user in (cast.outsider, cast.commune_admin):
        client = client_for(user)
        assert client.get("/bulletins/new/").status_code == 403
        assert client.post("/bulletins/new/", form_data(cast.commune)).status_code == 403
    assert not Bulletin.objects.exists()
