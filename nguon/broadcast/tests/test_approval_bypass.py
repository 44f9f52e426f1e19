"""Approval holds: the rendered speech of a bulletin (a draft's above all) is never a library file that an operator
can schedule, attach, re-upload or send to a device; it plays only through the bulletin's approved revision."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from nguon.broadcast import actions
from nguon.broadcast.actions import SlotData
from nguon.broadcast.manifest import compile_for
from nguon.broadcast.models import ItemKind, ProgrammeTemplate, Slot, SlotItem
from nguon.broadcast.tests.schedule_helpers import device, operator, slot_form, stamp_of
from nguon.content.media import ingest
from nguon.content.models import MediaAsset
from nguon.content.tests.conftest import make_bulletin
from nguon.core.errors import Invalid
from nguon.speech.models import SpeechRender

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("ffmpeg")), reason="needs espeak-ng, ffmpeg"),
]


@pytest.fixture(autouse=True)
def media_dir(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media-root")


@pytest.fixture
def draft_speech(cast, settings, django_capture_on_commit_callbacks):
    """A commune draft (never submitted) whose speech the inline worker rendered: its MP3 and Opus assets."""
    settings.SPEECH_AUTO_RENDER = True
    with django_capture_on_commit_callbacks(execute=True):
        bulletin = make_bulletin(cast.commune, cast.commune_editor, title="Dự thảo chưa duyệt", body="Nội dung nháp.")
    speech = SpeechRender.objects.get()
    assert speech.mp3 is not None and speech.opus is not None, speech.error
    bulletin.refresh_from_db()
    assert bulletin.status == "draft" and bulletin.approved_revision_id is None
    return speech


@pytest.fixture
def jingle(cast, tmp_path):
    """An ordinary library file of the commune: an uploaded MP3."""
    path = tmp_path / "nhac-hieu.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=f=660:d=2", str(path)],
                   check=True, timeout=60)  # fmt: skip
    upload = SimpleUploadedFile("nhac-hieu.mp3", path.read_bytes())
    return ingest(upload, unit=cast.commune, acting_user=cast.commune_editor, title="Nhạc hiệu")


@pytest.fixture
def op(cast):
    return operator(cast.commune)


def test_generated_speech_is_not_a_library_item(cast, draft_speech, jingle, client_for):
    assert set(MediaAsset.objects.filter(is_generated=True)) == {draft_speech.mp3, draft_speech.opus}
    assert list(MediaAsset.objects.library()) == [jingle]
    assert list(MediaAsset.objects.usable_in(cast.commune)) == [jingle]
    page = client_for(cast.commune_editor).get("/bulletins/media/").content.decode()
    assert "Nhạc hiệu" in page
    assert draft_speech.mp3.sha256 not in page and draft_speech.opus.sha256 not in page
    # Not offered as an attachment of another bulletin either.
    form = client_for(cast.commune_editor).get("/bulletins/new/").context["form"]
    assert list(form.fields["attachments"].queryset) == [jingle]


def test_the_slot_form_neither_offers_nor_takes_draft_speech(cast, op, draft_speech, jingle, client_for):
    device(cast.commune, "BH-001")
    client = client_for(op)
    page = client.get("/schedules/26068/new/")
    html = page.content.decode()
    assert f'<option value="{jingle.pk}"' in html
    for asset in (draft_speech.mp3, draft_speech.opus):
        assert f'<option value="{asset.pk}"' not in html
    # A forged POST naming the draft's MP3 is refused, and nothing is saved.
    response = client.post("/schedules/26068/new/", slot_form(stamp_of(page), items=[{"media": draft_speech.mp3.pk}]))
    assert response.status_code == 400
    assert not Slot.objects.exists()
    # The library file goes through.
    response = client.post("/schedules/26068/new/", slot_form(stamp_of(page), items=[{"media": jingle.pk}]))
    assert response.status_code == 302
    assert list(SlotItem.objects.values_list("media", flat=True)) == [jingle.pk]


def test_the_action_refuses_generated_media_whoever_calls_it(cast, op, draft_speech):
    data = SlotData(name="Lách duyệt", start_time=time(6), end_time=time(6, 30), start_date=timezone.localdate(),
                    items=[{"kind": ItemKind.MEDIA, "media": draft_speech.opus}])  # fmt: skip
    with pytest.raises(Invalid) as caught:
        actions.do_save_slot(None, unit=cast.commune, data=data, acting_user=op)
    assert "tạo từ một bản tin" in str(caught.value.fields["items"][0])  # formatted in the active language
    assert not Slot.objects.exists()


def test_a_slot_that_references_generated_media_never_reaches_a_device(cast, draft_speech, jingle, client_for):
    """Rows saved before the rule (or written around it) are left out when the manifest is compiled."""
    speaker = device(cast.commune, "BH-001")
    data = SlotData(name="Sáng", start_time=time(23), end_time=time(23, 30), start_date=timezone.localdate(),
                    items=[{"kind": ItemKind.MEDIA, "media": jingle}])  # fmt: skip
    slot = actions.do_save_slot(None, unit=cast.commune, data=data, acting_user=None)
    SlotItem.objects.create(slot=slot, position=2, kind=ItemKind.MEDIA, media=draft_speech.mp3)
    manifest, _changed = compile_for(speaker)
    document = json.loads(bytes(manifest.body))
    hashes = [item.get("sha256") for entry in document["slots"] for item in entry["items"]]
    assert hashes and set(hashes) == {jingle.sha256}
    assert draft_speech.mp3.sha256 not in bytes(manifest.body).decode()
    # The slot's page says so, instead of letting the operator believe it plays.
    html = client_for(cast.province_admin).get(f"/schedules/slot/{slot.pk}/").content.decode()
    assert "không được phát" in html or "not played" in html


def test_a_programme_template_does_not_bring_generated_media_back(cast, op, draft_speech, jingle, client_for):
    template = ProgrammeTemplate.objects.create(
        unit=cast.commune, name="Sáng", start_time=time(5, 30), end_time=time(6),
        items=[{"kind": "media", "media": draft_speech.mp3.pk}, {"kind": "media", "media": jingle.pk}],
    )  # fmt: skip
    html = client_for(op).get(f"/schedules/26068/new/?template={template.pk}").content.decode()
    assert f'<option value="{jingle.pk}" selected' in html
    assert f'value="{draft_speech.mp3.pk}" selected' not in html


def test_downloaded_speech_cannot_come_back_as_a_library_file(cast, draft_speech, client_for):
    editor = client_for(cast.commune_editor)
    audio = editor.get(f"/bulletins/media/{draft_speech.mp3.sha256}/")
    assert audio.status_code == 200  # the editor may still listen to the draft's speech
    content = b"".join(audio.streaming_content)
    # Back in the same unit, or in another one by someone else: refused either way.
    for client, unit in ((editor, cast.commune), (client_for(cast.province_editor), cast.province)):
        response = client.post("/bulletins/media/upload/", {"file": SimpleUploadedFile("ban-tin.mp3", content),
                                                            "unit": unit.pk})  # fmt: skip
        assert response.status_code == 400
        assert "bản tin" in " ".join(response.context["form"].errors["file"])  # said in Vietnamese
    assert MediaAsset.objects.library().count() == 0


def test_generated_speech_cannot_be_attached_to_another_bulletin(cast, draft_speech):
    with pytest.raises(Invalid) as caught:
        make_bulletin(cast.commune, cast.commune_editor, title="Mượn âm thanh", attachments=[draft_speech.mp3])
    assert caught.value.fields["attachments"]
