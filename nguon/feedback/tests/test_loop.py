import pytest
from django.urls import reverse

from nguon.audit.models import AuditEvent
from nguon.content.actions import do_approve_bulletin, do_submit_bulletin
from nguon.content.models import Bulletin, Category
from nguon.content.models import Status as BulletinStatus
from nguon.core.errors import Conflict
from nguon.feedback.loop import do_make_bulletin
from nguon.feedback.models import Event, Topic
from nguon.feedback.publishing import do_publish_answer
from nguon.feedback.tests.helpers import answered, street_lights, submit
from nguon.lib.pii import MARK

pytestmark = pytest.mark.django_db

TEXT = "Tôi là Nguyễn Văn An, số điện thoại 0912345678. Rác thải đổ bừa bãi ở đầu hẻm 45 đường Phan Trung."


def test_an_answer_becomes_a_draft_bulletin_of_the_handling_unit_that_goes_through_approval(cast):
    feedback, _code = answered(cast, text=TEXT)
    bulletin = do_make_bulletin(feedback, acting_user=cast.commune_editor)
    feedback.refresh_from_db()
    assert feedback.bulletin == bulletin
    assert bulletin.status == BulletinStatus.DRAFT and bulletin.owner_unit == cast.commune
    revision = bulletin.current_revision
    for text in (revision.body, revision.spoken_text, revision.board_text, revision.title):
        assert "Nguyễn Văn An" not in text and "0912345678" not in text
    assert MARK in revision.body and "Đã thay bóng đèn ngày 4/12." in revision.body
    assert "Phường Biên Hòa" in revision.body
    assert revision.spoken_text.startswith("Thưa bà con")
    assert 0 < len(revision.board_text) <= 500
    assert list(revision.targets.all()) == [cast.commune]
    assert Event.objects.filter(feedback=feedback, action="bulletin").exists()
    assert AuditEvent.objects.filter(action="feedback.bulletin_made", object_id=str(feedback.pk)).exists()
    # A second click while the bulletin exists makes nothing.
    with pytest.raises(Conflict):
        do_make_bulletin(feedback, acting_user=cast.commune_editor)
    assert Bulletin.objects.count() == 1
    # The normal workflow: the editor submits, the approver approves, it is published.
    bulletin = do_submit_bulletin(bulletin, acting_user=cast.commune_editor)
    bulletin = do_approve_bulletin(bulletin, acting_user=cast.approver, revision_number=revision.number)
    assert bulletin.status == BulletinStatus.PUBLISHED


def test_the_published_texts_are_used_and_a_fitting_category_is_chosen(cast):
    street_lights()  # the default topics
    topic = Topic.objects.get(code="rac-thai")
    feedback, _code = answered(cast, text=TEXT, topic=topic)
    feedback = do_publish_answer(
        feedback, acting_user=cast.approver, question="Rác thải đổ bừa bãi ở đầu hẻm 45.", answer="Đã thu gom."
    )
    bulletin = do_make_bulletin(feedback, acting_user=cast.commune_editor)
    body = bulletin.current_revision.body
    assert "Rác thải đổ bừa bãi ở đầu hẻm 45." in body and "Đã thu gom." in body and "Tôi là" not in body
    assert bulletin.category == Category.objects.get(slug="van-hoa-xa-hoi-moi-truong")


def test_without_consent_only_the_answer_goes_into_the_bulletin(cast):
    feedback, _code = answered(cast, text=TEXT, consent_publish=False)
    bulletin = do_make_bulletin(feedback, acting_user=cast.commune_editor)
    body = bulletin.current_revision.body
    assert "Rác thải" not in body and "Đã thay bóng đèn ngày 4/12." in body


def test_only_answered_feedback_and_only_for_its_handlers(cast, client_for):
    waiting, _code = submit(cast)
    with pytest.raises(Conflict):
        do_make_bulletin(waiting, acting_user=cast.commune_editor)
    feedback, _code = answered(cast)
    # Through the page: someone of another commune gets a 404, the handler lands on the new bulletin.
    url = reverse("feedback:make_bulletin", args=[feedback.pk])
    assert client_for(cast.outsider).post(url).status_code == 404
    response = client_for(cast.commune_editor).post(url)
    feedback.refresh_from_db()
    assert response.status_code == 302 and response["Location"] == reverse(
        "content:detail", args=[feedback.bulletin_id]
    )
