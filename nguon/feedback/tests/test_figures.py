from datetime import date, datetime

import pytest
from django.utils import timezone

from nguon.accounts.roles import Role
from nguon.conftest import make_user
from nguon.core.errors import Invalid
from nguon.feedback import figures
from nguon.feedback.actions import (
    FeedbackData,
    do_accept_feedback,
    do_approve_answer,
    do_draft_answer,
    do_rate_answer,
    do_refuse_feedback,
    do_submit_feedback,
)
from nguon.feedback.models import Channel, Topic
from nguon.feedback.tests.helpers import street_lights

pytestmark = pytest.mark.django_db

VN = timezone.get_fixed_timezone(7 * 60)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=VN)


def at(day, hour=9):
    return datetime(2026, 11, day, hour, 0, tzinfo=VN)


def submit(cast, *, now, unit=None, topic=None, channel=Channel.WEB):
    data = FeedbackData(topic=topic or street_lights(), unit=unit or cast.commune, text="Đèn đường hỏng.")
    return do_submit_feedback(data, now=now, channel=channel)


def handled(cast, editor, *, received, answered=None, unit=None, topic=None, channel=Channel.WEB, rating=None):
    feedback, _code = submit(cast, unit=unit or cast.commune, topic=topic, now=received, channel=channel)
    feedback = do_accept_feedback(feedback, acting_user=editor, now=received)
    if answered is not None:
        feedback = do_draft_answer(feedback, acting_user=editor, answer="Đã xử lý xong.")
        feedback = do_approve_answer(feedback, acting_user=cast.approver, now=answered)
    if rating is not None:
        feedback = do_rate_answer(feedback, rating=rating)
    return feedback


@pytest.fixture
def data(cast):
    """Four items about Biên Hòa (on time, late, overdue, refused) and one about Trấn Biên (on time, rated)."""
    other_editor = make_user("editor.tranbien", cast.other_commune, Role.EDITOR)
    street_lights()  # the default topics
    waste = Topic.objects.get(code="rac-thai")
    editor = cast.commune_editor
    # Street lights: 5 working days. Received Monday 2 November, due Monday 9 November at 17:00.
    handled(cast, editor, received=at(2), answered=at(3), rating=5)
    handled(cast, editor, received=at(2), answered=at(20), channel=Channel.OPEN311, rating=2)
    handled(cast, editor, received=at(5))  # still open: due 12 November, overdue on 1 December
    refused, _code = submit(cast, now=at(6))
    do_refuse_feedback(refused, acting_user=editor, reason="spam")
    handled(cast, other_editor, received=at(10), answered=at(11), unit=cast.other_commune, topic=waste)
    return cast


def test_totals_and_breakdowns_for_the_province(data):
    report = figures.compute(data.approver, date(2026, 11, 1), date(2026, 11, 30), period="week", now=NOW)
    total = report.total
    assert (total.received, total.accepted, total.refused) == (5, 4, 1)
    assert (total.answered, total.on_time, total.late, total.overdue) == (3, 2, 1, 1)
    # 1 day, 18 days and 1 day from receipt to answer.
    assert total.average_days == pytest.approx((1 + 18 + 1) / 3, abs=0.05)
    assert (total.satisfaction, total.rated) == (3.5, 2)
    topics = {row.key: row for row in report.by_topic}
    assert (topics["den-duong"].received, topics["den-duong"].on_time, topics["den-duong"].late) == (4, 1, 1)
    assert topics["rac-thai"].received == 1 and topics["rac-thai"].on_time == 1
    units = {row.key: row for row in report.by_unit}
    assert units[data.commune.code].received == 4 and units[data.other_commune.code].received == 1
    assert units[data.commune.code].label == "Phường Biên Hòa"
    channels = {row.key: row for row in report.by_channel}
    assert channels["web"].received == 4 and channels["open311"].late == 1
    # Weeks start on Monday: 2–8 November holds four items, 9–15 November one.
    assert [(row.key, row.received) for row in report.by_period] == [("2026-11-02", 4), ("2026-11-09", 1)]


def test_a_commune_sees_only_its_subtree_and_an_outsider_nothing(data):
    report = figures.compute(data.commune_editor, date(2026, 11, 1), date(2026, 11, 30), now=NOW)
    assert report.total.received == 4
    assert {row.key for row in report.by_unit} == {data.commune.code}
    assert figures.compute(data.outsider, date(2026, 11, 1), date(2026, 11, 30), now=NOW).total.received == 0
    # The province narrowed to one commune.
    narrowed = figures.compute(data.approver, date(2026, 11, 1), date(2026, 11, 30), unit=data.other_commune)
    assert narrowed.total.received == 1


def test_the_period_bounds_are_local_days(data):
    report = figures.compute(data.approver, date(2026, 11, 2), date(2026, 11, 2), period="day", now=NOW)
    assert report.total.received == 2
    report = figures.compute(data.approver, date(2026, 11, 1), date(2026, 11, 30), period="month", now=NOW)
    assert [(row.key, row.label) for row in report.by_period] == [("2026-11-01", "11/2026")]


def test_date_range_defaults_and_limits():
    assert figures.date_range(None, None, today=date(2026, 12, 3)) == (date(2026, 11, 4), date(2026, 12, 3))
    with pytest.raises(Invalid):
        figures.date_range(date(2026, 12, 3), date(2026, 12, 1))
    with pytest.raises(Invalid):
        figures.date_range(date(2020, 1, 1), date(2026, 12, 1))


def test_the_api_gives_the_same_figures_scoped_to_the_user(data, client_for):
    url = "/api/v1/feedback/figures"
    body = client_for(data.approver).get(url, {"from": "2026-11-01", "to": "2026-11-30", "period": "week"}).json()
    assert body["date_from"] == "2026-11-01" and body["total"]["received"] == 5
    assert body["total"]["on_time"] == 2 and body["total"]["late"] == 1
    assert {row["key"] for row in body["by_unit"]} == {data.commune.code, data.other_commune.code}
    editor = client_for(data.commune_editor)
    body = editor.get(url, {"from": "2026-11-01", "to": "2026-11-30"}).json()
    assert body["total"]["received"] == 4
    # A unit outside the user's reach is not found; bad dates are a 400 or 422 with the field named.
    assert editor.get(url, {"unit": data.other_commune.code}).status_code == 404
    response = editor.get(url, {"from": "2026-11-30", "to": "2026-11-01"})
    assert response.status_code == 400 and "to" in response.json()["error"]["fields"]
    assert editor.get(url, {"from": "not-a-date"}).status_code == 422
    assert editor.get(url, {"period": "year"}).status_code == 422


def test_the_dashboard_draws_charts_and_tables(data, client_for, django_assert_max_num_queries):
    client = client_for(data.approver)
    with django_assert_max_num_queries(20):
        response = client.get("/feedback/dashboard/", {"date_from": "2026-11-01", "date_to": "2026-11-30"})
    html = response.content.decode()
    assert response.status_code == 200
    assert (
        html.count('<div class="figure">') == 3
        and "Phường Trấn Biên" in html
        and "Rác thải, vệ sinh môi trường" in html
    )
    assert "/api/v1/feedback/figures?from=2026-11-01&amp;to=2026-11-30" in html
    response = client.get("/feedback/dashboard/", {"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert response.status_code == 400
    empty = client.get("/feedback/dashboard/", {"date_from": "2025-01-01", "date_to": "2025-01-31"})
    assert empty.status_code == 200 and 'class="figure"' not in empty.content.decode()
    assert client_for(data.outsider).get("/feedback/dashboard/").status_code == 200
