"""Helpers shared by the content tests: form data for the back office, and bulletins made through the actions."""

from __future__ import annotations

import pytest

from nguon.content import actions
from nguon.content.actions import BulletinData
from nguon.content.models import Bulletin, Revision, WorkflowEvent


def form_data(unit=None, **overrides) -> dict:
    """POST data for /bulletins/new/ (with `unit`) or /bulletins/<id>/edit/ (without)."""
    data = {
        "title": "Thông báo lịch tiêm chủng mở rộng",
        "summary": "",
        "body": "Trạm y tế phường tổ chức tiêm chủng cho trẻ em vào sáng thứ Bảy.",
        "priority": "normal",
        "language": "vi",
    }
    if unit is not None:
        data["owner_unit"] = unit.pk
    data.update({k: v for k, v in overrides.items() if v is not None})
    return data


def edit_data(bulletin: Bulletin, **overrides) -> dict:
    """The edit form as the page fills it from the current revision, with some fields changed."""
    r = bulletin.current_revision
    data = {
        "title": r.title,
        "summary": r.summary,
        "body": r.body,
        "priority": r.priority,
        "language": r.language,
        "spoken_text": r.spoken_text,
        "board_text": r.board_text,
        "web_html": r.web_html,
    }
    if r.category_id:
        data["category"] = r.category_id
    targets = [u.pk for u in r.targets.all()]
    if targets:
        data["targets"] = targets
    for name in ("publish_at", "expires_at"):
        value = getattr(bulletin, name)
        if value is not None:
            data[name] = value.astimezone().strftime("%Y-%m-%dT%H:%M")
    data.update(overrides)
    return data


def make_bulletin(unit, user, *, title="Bản tin", body="Nội dung bản tin.", **fields) -> Bulletin:
    return actions.do_create_bulletin(
        owner_unit=unit, data=BulletinData(title=title, body=body, **fields), acting_user=user
    )


def publish(bulletin: Bulletin, *, editor, approver) -> Bulletin:
    """Submit and approve the current revision (approver is not the author)."""
    actions.do_submit_bulletin(bulletin, acting_user=editor)
    bulletin.refresh_from_db()
    return actions.do_approve_bulletin(bulletin, acting_user=approver, revision_number=bulletin.current_revision.number)


def counts() -> tuple[int, int, int]:
    return Bulletin.objects.count(), Revision.objects.count(), WorkflowEvent.objects.count()


@pytest.fixture
def media_root(settings, tmp_path):
    """A media directory of the test's own, so that what a test stores (or must not store) can be checked."""
    root = tmp_path / "media-root"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root
