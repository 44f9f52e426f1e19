"""Importing bulletins received from the central system or another province: our JSON and IPTC ninjs, idempotent,
all or nothing."""

import json
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from nguon.accounts.roles import Role
from nguon.audit.models import AuditEvent
from nguon.conftest import make_user
from nguon.content import actions
from nguon.content.importer import do_import_bulletins
from nguon.content.models import Bulletin, Category, Priority, Revision, Source, Status, WorkflowEvent
from nguon.content.tests.conftest import counts
from nguon.core.errors import Forbidden, Invalid

OURS = {
    "bulletins": [
        {
            "id": "TW-2026-0001",
            "title": "Hướng dẫn phòng chống sốt xuất huyết",
            "summary": "Khuyến cáo của Bộ Y tế",
            "body": "Người dân cần diệt lăng quăng, bọ gậy mỗi tuần.",
            "priority": "priority",
            "category": "y-te-giao-duc",
            "language": "vi",
            "board_text": "Diệt lăng quăng mỗi tuần",
        },
        {
            "id": "TW-2026-0002",
            "title": "Tuyên truyền chuyển đổi số",
            "body": "Cài đặt ứng dụng VNeID để làm thủ tục trực tuyến.",
        },
    ]
}

NINJS = {
    "items": [
        {
            "uri": "urn:newsml:ttxvn.vn:2026:bao-dong-lu",
            "headline": "Báo động lũ trên sông Đồng Nai",
            "description_text": "Mực nước vượt báo động 2",
            "body_html": "<p>Người dân vùng trũng <b>di dời</b> ngay.</p><script>alert(1)</script>",
            "language": "vi-VN",
            "urgency": 1,
            "type": "text",
        },
        {
            "uri": "urn:newsml:ttxvn.vn:2026:thoi-tiet",
            "headline": "Dự báo thời tiết cuối tuần",
            "body_text": "Trời nắng, chiều tối có mưa rào.",
            "urgency": 3,
        },
        {
            "uri": "urn:newsml:ttxvn.vn:2026:van-hoa",
            "headline": "Triển lãm ảnh di sản",
            "body_text": "Triển lãm mở cửa đến hết tháng.",
            "urgency": 6,
        },
    ]
}


def as_file(document, name="tin.json") -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def snapshot():
    return (
        counts(),
        sorted(Bulletin.objects.values_list("pk", "status", "current_revision_id", "updated_at")),
    )


def test_our_format_is_imported_and_awaits_approval(cast):
    report = do_import_bulletins(
        as_file(OURS), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor
    )
    assert len(report.created) == 2 and report.updated == [] and report.unchanged == []
    first = Bulletin.objects.get(external_id="TW-2026-0001")
    assert (first.source, first.owner_unit, first.status) == (Source.CENTRAL, cast.province, Status.SUBMITTED)
    assert first.priority == Priority.PRIORITY
    assert first.category == Category.objects.get(slug="y-te-giao-duc")
    revision = first.current_revision
    assert (revision.number, revision.created_by) == (1, cast.province_editor)
    assert revision.summary == "Khuyến cáo của Bộ Y tế" and revision.board_text == "Diệt lăng quăng mỗi tuần"
    assert list(first.history.values_list("action", "from_status", "to_status")) == [("import", "", "submitted")]
    assert AuditEvent.objects.filter(action="content.bulletins_imported").count() == 1
    # Imported bulletins are in the approver's inbox like any other.
    assert Bulletin.objects.awaiting_approval().count() == 2
    # A bare list works as well.
    again = do_import_bulletins(
        as_file(OURS["bulletins"]), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor
    )
    assert sorted(again.unchanged) == sorted(report.created)


def test_ninjs_items_are_imported(cast):
    report = do_import_bulletins(
        as_file(NINJS), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor
    )
    assert len(report.created) == 3
    flood = Bulletin.objects.get(external_id="urn:newsml:ttxvn.vn:2026:bao-dong-lu")
    assert flood.title == "Báo động lũ trên sông Đồng Nai"
    assert flood.priority == Priority.EMERGENCY and flood.language == "vi"
    assert flood.current_revision.summary == "Mực nước vượt báo động 2"
    assert flood.current_revision.body == "Người dân vùng trũng di dời ngay."
    priorities = dict(Bulletin.objects.values_list("external_id", "priority"))
    assert priorities["urn:newsml:ttxvn.vn:2026:thoi-tiet"] == Priority.PRIORITY
    assert priorities["urn:newsml:ttxvn.vn:2026:van-hoa"] == Priority.NORMAL

    # A single ninjs item (not wrapped in a list) is accepted too.
    single = {**NINJS["items"][2], "uri": "urn:newsml:ttxvn.vn:2026:mot-tin"}
    report = do_import_bulletins(
        as_file(single), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor
    )
    assert len(report.created) == 1


@pytest.mark.parametrize("document", [OURS, NINJS], ids=["ours", "ninjs"])
def test_importing_twice_changes_nothing_the_second_time(cast, document):
    first = do_import_bulletins(
        as_file(document), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor
    )
    before = snapshot()
    second = do_import_bulletins(
        as_file(document), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor
    )
    assert second.created == [] and second.updated == []
    assert sorted(second.unchanged) == sorted(first.created)
    assert snapshot() == before


def test_a_changed_item_becomes_a_new_revision(cast):
    do_import_bulletins(as_file(OURS), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor)
    bulletin = Bulletin.objects.get(external_id="TW-2026-0002")
    bulletin = actions.do_approve_bulletin(bulletin, acting_user=cast.approver, revision_number=1)
    assert bulletin.status == Status.PUBLISHED

    changed = json.loads(json.dumps(OURS))
    changed["bulletins"][1]["body"] = "Cài đặt ứng dụng VNeID và kích hoạt tài khoản mức 2."
    report = do_import_bulletins(
        as_file(changed), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor
    )
    assert report.updated == [bulletin.pk] and len(report.unchanged) == 1
    bulletin.refresh_from_db()
    assert bulletin.current_revision.number == 2 and bulletin.status == Status.SUBMITTED
    assert bulletin.published_revision.number == 1  # the approved text stays in use until approval
    assert Revision.objects.get(bulletin=bulletin, number=1).body == "Cài đặt ứng dụng VNeID để làm thủ tục trực tuyến."


def test_the_same_identifier_from_another_source_is_another_bulletin(cast):
    do_import_bulletins(as_file(OURS), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor)
    report = do_import_bulletins(
        as_file(OURS), unit=cast.province, source=Source.PROVINCE, acting_user=cast.province_editor
    )
    assert len(report.created) == 2
    assert Bulletin.objects.count() == 4


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"bulletins": [{"id": "x", "title": "a"', "JSON"),
        (b"\xff\xfe not utf-8", "JSON"),
        (b'{"bulletins": []}', None),
        (b'"just a string"', None),
        (b"{}", None),
    ],
    ids=["truncated-json", "not-utf8", "empty-list", "string", "empty-object"],
)
def test_an_unreadable_file_imports_nothing(cast, content, fragment):
    before = counts()
    with pytest.raises(Invalid) as caught:
        do_import_bulletins(content, unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor)
    assert caught.value.code == "bad_file"
    if fragment:
        assert fragment in str(caught.value.message)
    assert counts() == before


@pytest.mark.parametrize("fmt", ["ours", "ninjs"])
def test_one_bad_item_among_good_ones_imports_nothing_and_is_named(cast, fmt):
    if fmt == "ours":
        items = [
            dict(OURS["bulletins"][0]),
            {"id": "TW-2026-0003", "body": "Thiếu tiêu đề."},
            dict(OURS["bulletins"][1]),
        ]
    else:
        items = [
            dict(NINJS["items"][0]),
            {"uri": "urn:x:khong-tieu-de", "body_text": "Thiếu tiêu đề."},
            dict(NINJS["items"][1]),
        ]
    before = counts()
    with pytest.raises(Invalid) as caught:
        do_import_bulletins(as_file(items), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor)
    assert list(caught.value.fields) == ["item 2"]
    assert any("title" in str(m) for m in caught.value.fields["item 2"])
    assert counts() == before
    assert not AuditEvent.objects.filter(action="content.bulletins_imported").exists()


def test_items_without_identifier_or_object_are_named(cast):
    items = [OURS["bulletins"][0], {"title": "Không có mã", "body": "Nội dung."}, "không phải đối tượng"]
    with pytest.raises(Invalid) as caught:
        do_import_bulletins(as_file(items), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor)
    assert set(caught.value.fields) == {"item 2", "item 3"}
    assert not Bulletin.objects.exists()


def test_import_needs_editing_rights_on_the_unit(cast):
    with pytest.raises(Forbidden):
        do_import_bulletins(as_file(OURS), unit=cast.province, source=Source.CENTRAL, acting_user=cast.commune_editor)
    with pytest.raises(Invalid):
        do_import_bulletins(as_file(OURS), unit=cast.province, source=Source.LOCAL, acting_user=cast.province_editor)
    assert not Bulletin.objects.exists()


def test_a_commune_cannot_rewrite_a_bulletin_received_by_the_province(cast):
    do_import_bulletins(as_file(OURS), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor)
    before = snapshot()
    changed = json.loads(json.dumps(OURS))
    changed["bulletins"][0]["body"] = "Nội dung do phường sửa."
    with pytest.raises((Invalid, Forbidden)) as caught:
        do_import_bulletins(as_file(changed), unit=cast.commune, source=Source.CENTRAL, acting_user=cast.commune_editor)
    assert "item 1" in caught.value.fields
    assert snapshot() == before
    province_copy = Bulletin.objects.get(external_id="TW-2026-0001")
    assert province_copy.current_revision.body == "Người dân cần diệt lăng quăng, bọ gậy mỗi tuần."


# Through the back office


def post_file(client, content: bytes, unit, source=Source.CENTRAL, name="tin.json"):
    return client.post(
        "/bulletins/import/", {"unit": unit.pk, "source": source, "file": SimpleUploadedFile(name, content)}
    )


def test_import_page_imports_and_reports(cast, client_for):
    client = client_for(cast.province_editor)
    assert client.get("/bulletins/import/").status_code == 200
    response = post_file(client, as_file(NINJS), cast.province)
    assert response.status_code == 302 and response["Location"] == "/bulletins/"
    assert Bulletin.objects.filter(source=Source.CENTRAL, status=Status.SUBMITTED).count() == 3

    before = snapshot()
    response = post_file(client, as_file(NINJS), cast.province)
    assert response.status_code == 302
    assert snapshot() == before
    message = [str(m) for m in get_messages(response.wsgi_request)][-1]
    assert re.findall(r"\d+", message) == ["0", "0", "3"]  # new, updated, unchanged


def test_import_page_names_the_bad_item(cast, client_for):
    client = client_for(cast.province_editor)
    items = [OURS["bulletins"][0], {"id": "TW-2026-0009", "title": "", "body": "Thiếu tiêu đề."}]
    before = counts()
    response = post_file(client, as_file(items), cast.province)
    assert response.status_code == 400
    errors = [str(e) for e in response.context["form"].non_field_errors()]
    assert any(e.startswith("item 2: title:") for e in errors), errors
    assert len(errors) == 2  # the summary, then the problem of item 2
    page = response.content.decode()
    assert any(escape(e) in page for e in errors)
    assert counts() == before

    response = post_file(client, b"{not json", cast.province)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert counts() == before


def test_import_page_refuses_other_units_and_large_files(cast, client_for, settings):
    client = client_for(cast.commune_editor)
    response = post_file(client, as_file(OURS), cast.province)
    assert response.status_code == 400 and "unit" in response.context["form"].errors
    assert client_for(cast.outsider).get("/bulletins/import/").status_code == 403
    operator = make_user("operator.bienhoa", cast.commune, Role.OPERATOR)
    assert client_for(operator).post("/bulletins/import/", {}).status_code == 403

    settings.MAX_UPLOAD_BYTES = 100 * 1024
    big = {"bulletins": [{"id": f"TW-{n}", "title": f"Tin {n}", "body": "Nội dung. " * 200} for n in range(200)]}
    response = post_file(client_for(cast.province_editor), as_file(big), cast.province)
    assert response.status_code == 400
    assert "file" in response.context["form"].errors
    assert not Bulletin.objects.exists()
    assert not WorkflowEvent.objects.exists()


@pytest.mark.parametrize("fmt", ["ours", "ninjs"])
def test_an_item_with_text_xml_cannot_carry_imports_nothing_and_is_named(cast, fmt):
    if fmt == "ours":
        items = [dict(OURS["bulletins"][0]), {**OURS["bulletins"][1], "body": "Chuyển đổi số\x0b VNeID"}]
    else:
        items = [dict(NINJS["items"][1]), {**NINJS["items"][2], "headline": "Triển lãm\x1b ảnh"}]
    before = counts()
    with pytest.raises(Invalid) as caught:
        do_import_bulletins(as_file(items), unit=cast.province, source=Source.CENTRAL, acting_user=cast.province_editor)
    assert list(caught.value.fields) == ["item 2"]
    assert any("U+000B" in str(m) or "U+001B" in str(m) for m in caught.value.fields["item 2"])
    assert counts() == before
