import io

import pytest
from django.core.management import call_command

from nguon.feedback.models import Feedback, Status

pytestmark = pytest.mark.django_db


def test_the_demo_runs_twice_and_publishes_one_answer_with_the_name_masked(client):
    call_command("demo", stdout=io.StringIO())
    count = Feedback.objects.count()
    call_command("demo", stdout=io.StringIO())
    assert Feedback.objects.count() == count == 5
    statuses = sorted(Feedback.objects.values_list("status", flat=True))
    assert statuses == sorted([Status.ANSWERED, Status.RECEIVED, Status.IN_PROGRESS, Status.REFUSED, Status.ANSWERED])
    item = Feedback.objects.published().get()
    assert item.on_time is True and item.unit.name == "Phường Biên Hòa"
    assert Feedback.objects.filter(on_time=False).count() == 1
    html = client.get(f"/phan-anh/hoi-dap/{item.number}/").content.decode()
    assert "Đèn đường trước số 12 đường Phan Trung" in html
    assert "Nguyễn Văn An" not in html and "0912345678" not in html
