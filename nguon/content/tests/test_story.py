"""The issue's story end to end: a commune editor writes, hears and submits; the province approves; the bulletin
is in the repository, found without diacritics, and its audio measures at the loudness target."""

import shutil

import pytest
from django.core.files.storage import default_storage

from nguon.conftest import signed_in
from nguon.content.models import Bulletin, Status
from nguon.speech.audio import measure_loudness
from nguon.speech.models import RenderStatus

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng") or not shutil.which("ffmpeg"), reason="needs espeak-ng")


def test_commune_bulletin_from_draft_to_repository_with_audio(
    cast, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.SPEECH_AUTO_RENDER = True  # the worker runs inline in tests (Huey immediate mode)
    editor = signed_in(cast.commune_editor)
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(
            "/bulletins/new/",
            {
                "owner_unit": cast.commune.pk,
                "title": "Thu hút đầu tư vào khu công nghiệp",
                "body": "Ngày 23/5/2024, UBND phường tổ chức hội nghị xúc tiến đầu tư lúc 14h30. "
                "Tổng vốn đăng ký đạt 1.500.000.000 đồng, tăng 15% so với cùng kỳ.",
                "priority": "normal",
                "language": "vi",
            },
        )
    assert response.status_code == 302, response.content[:800]
    bulletin = Bulletin.objects.get(title__startswith="Thu hút")

    # The editor hears it: the page carries the audio of the current revision.
    page = editor.get(f"/bulletins/{bulletin.pk}/")
    speech = page.context["speech"]
    assert "ủy ban nhân dân" in speech["text"] and "hai mươi ba tháng năm" in speech["text"]
    render = speech["render"]
    assert render is not None and render.status == RenderStatus.DONE, render and render.error
    assert f"/bulletins/media/{render.mp3.sha256}/" in page.content.decode()
    audio = editor.get(f"/bulletins/media/{render.mp3.sha256}/")
    assert audio.status_code == 200 and audio["Content-Type"] == "audio/mpeg"

    assert editor.post(f"/bulletins/{bulletin.pk}/submit/").status_code == 302
    approver = signed_in(cast.approver)
    assert bulletin in approver.get("/bulletins/inbox/").context["bulletins"]
    assert approver.post(f"/bulletins/{bulletin.pk}/approve/", {"revision": 1}).status_code == 302
    bulletin.refresh_from_db()
    assert bulletin.status == Status.PUBLISHED and bulletin.published_revision.number == 1

    # Found in the repository by a search typed without diacritics.
    found = approver.get("/bulletins/repository/", {"q": "dau tu khu cong"})
    assert bulletin in list(found.context["page"])

    # The stored file itself measures at the target (−16 LUFS by default), not just the number we recorded.
    copy = tmp_path / "speech.mp3"
    with default_storage.open(render.mp3.file.name, "rb") as src:
        copy.write_bytes(src.read())
    measured = measure_loudness(copy)
    assert abs(measured.integrated_lufs - settings.LOUDNESS_TARGET) <= 1.0
    assert measured.true_peak_dbtp <= settings.TRUE_PEAK_MAX + 0.5
