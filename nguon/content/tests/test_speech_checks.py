"""The editor's live check: the preview reads exactly what the renderer speaks (pronunciation dictionary included),
a bulletin too long for loudspeakers and a publish time already past warn (live, after saving, in the API) and
never block."""

import json
import shutil
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.utils import timezone

from nguon.content.checks import bulletin_warnings
from nguon.content.models import Bulletin
from nguon.content.tests.conftest import edit_data, form_data, make_bulletin, publish
from nguon.speech.actions import do_save_lexicon_entry
from nguon.speech.models import RenderStatus, SpeechRender

needs_espeak = pytest.mark.skipif(
    not shutil.which("espeak-ng") or not shutil.which("ffmpeg"), reason="needs espeak-ng and ffmpeg"
)

# About 3,200 spoken words: some 13 minutes at espeak-ng's normal speed, 6 at NGUON_TTS_RATE=200.
LONG_BODY = "Bà con chú ý phòng chống dịch bệnh sốt xuất huyết. " * 290


def local_input(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def codes(response) -> list[str]:
    return [w.code for w in response.context["check"].warnings]


@needs_espeak
def test_preview_reads_what_the_renderer_speaks_with_the_dictionary(
    cast, client_for, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.SPEECH_AUTO_RENDER = True  # the worker runs inline in tests
    settings.MEDIA_ROOT = str(tmp_path)
    do_save_lexicon_entry(term="ĐNX", spoken="đồng nai xanh", unit=None, acting_user=cast.province_editor)
    do_save_lexicon_entry(term="KP", spoken="khu phố của tỉnh", unit=cast.province, acting_user=cast.province_editor)
    do_save_lexicon_entry(term="KP", spoken="khu phố", unit=cast.commune, acting_user=cast.commune_editor)
    fields = {
        "title": "Chương trình <b>ĐNX</b>",
        "body": "Mời bà con KP 3 dự họp lúc 8g 30 sáng thứ 7, hoặc 14g30 chủ nhật.\nHotline: 0251 3822 123.",
    }
    editor = client_for(cast.commune_editor)

    preview = editor.post("/bulletins/check/", form_data(cast.commune, **fields))
    assert preview.status_code == 200
    spoken = preview.context["report"].text
    assert "đồng nai xanh" in spoken  # the shared entry
    assert "khu phố ba" in spoken and "của tỉnh" not in spoken  # the commune's own entry wins over the province's
    assert "tám giờ ba mươi sáng" in spoken and "mười bốn giờ ba mươi phút" in spoken
    assert spoken in preview.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        saved = editor.post("/bulletins/new/", form_data(cast.commune, **fields))
    assert saved.status_code == 302
    bulletin = Bulletin.objects.get(title="Chương trình ĐNX")
    render = SpeechRender.objects.get()
    assert render.status == RenderStatus.DONE, render.error
    assert render.text == spoken  # what the engine was given is what the editor previewed

    # Editing: the check of the edit form reads what the bulletin page (and the renderer) reads.
    again = editor.post(f"/bulletins/{bulletin.pk}/check/", edit_data(bulletin))
    assert again.context["report"].text == spoken
    assert editor.get(f"/bulletins/{bulletin.pk}/").context["speech"]["text"] == spoken


def test_a_long_bulletin_warns_live_after_saving_and_in_the_api(cast, client_for, settings):
    settings.SPEECH_AUTO_RENDER = False
    editor = client_for(cast.commune_editor)
    data = form_data(cast.commune, title="Phòng chống dịch", body=LONG_BODY)

    live = editor.post("/bulletins/check/", data)
    assert codes(live) == ["long_speech"]
    minutes = live.context["check"].seconds / 60
    assert 12 < minutes < 15
    assert 'data-code="long_speech"' in live.content.decode()

    saved = editor.post("/bulletins/new/", data)  # a warning, not a refusal
    assert saved.status_code == 302
    shown = [str(m) for m in get_messages(saved.wsgi_request)]
    assert any("13" in m or "14" in m for m in shown[1:]), shown

    api = editor.post(
        "/api/v1/bulletins/",
        data=json.dumps({"owner_unit": cast.commune.code, "title": "Phòng chống dịch", "body": LONG_BODY}),
        content_type="application/json",
    )
    assert api.status_code == 201, api.content[:300]
    assert [w["code"] for w in api.json()["warnings"]] == ["long_speech"]
    assert api.json()["warnings"][0]["message"]

    short = editor.post("/bulletins/check/", form_data(cast.commune))
    assert codes(short) == []


def test_the_configured_speaking_rate_is_what_the_estimate_uses(cast, client_for, settings):
    editor = client_for(cast.commune_editor)
    data = form_data(cast.commune, title="Phòng chống dịch", body=LONG_BODY)
    normal = editor.post("/bulletins/check/", data).context["check"].seconds
    settings.TTS_RATE = 200
    fast = editor.post("/bulletins/check/", data)
    assert codes(fast) == []  # about six minutes at twice the speed
    assert fast.context["check"].seconds < normal * 0.5


def test_a_publish_time_already_past_warns(cast, client_for, settings):
    settings.SPEECH_AUTO_RENDER = False
    editor = client_for(cast.commune_editor)
    now = timezone.now()
    past = editor.post("/bulletins/check/", form_data(cast.commune, publish_at=local_input(now - timedelta(hours=3))))
    assert codes(past) == ["publish_time_past"]
    future = editor.post("/bulletins/check/", form_data(cast.commune, publish_at=local_input(now + timedelta(hours=3))))
    assert codes(future) == []

    bulletin = make_bulletin(cast.commune, cast.commune_editor, publish_at=now - timedelta(hours=3))
    api = editor.get(f"/api/v1/bulletins/{bulletin.pk}")
    assert [w["code"] for w in api.json()["warnings"]] == ["publish_time_past"]
    # Once it has gone out, its publish time being past is normal.
    publish(bulletin, editor=cast.commune_editor, approver=cast.approver)
    bulletin.refresh_from_db()
    assert bulletin.published_at is not None
    assert bulletin_warnings(bulletin) == []


def test_the_check_is_scoped_to_the_editors_bulletins_and_units(cast, client_for):
    bulletin = make_bulletin(cast.commune, cast.commune_editor)
    outsider = client_for(cast.outsider)
    assert outsider.post("/bulletins/check/", form_data(cast.commune)).status_code == 403
    assert outsider.post(f"/bulletins/{bulletin.pk}/check/", edit_data(bulletin)).status_code in (403, 404)
    other = make_bulletin(cast.other_commune, cast.province_editor)
    editor = client_for(cast.commune_editor)
    assert editor.post(f"/bulletins/{other.pk}/check/", edit_data(other)).status_code in (403, 404)
    assert editor.get("/bulletins/check/").status_code == 405
