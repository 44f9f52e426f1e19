"""The pronunciation dictionary: only province-wide staff change the shared entries; a change re-renders the live
bulletins it reads differently."""

import shutil

import pytest

from nguon.accounts.roles import Role
from nguon.conftest import make_user
from nguon.content.tests.conftest import make_bulletin, publish
from nguon.speech.actions import do_save_lexicon_entry, find_render, spoken_text_for
from nguon.speech.models import LexiconEntry, RenderStatus, SpeechRender


def test_a_commune_editor_cannot_remove_a_shared_entry(cast, client_for):
    entry = do_save_lexicon_entry(term="UBND", spoken="ủy ban nhân dân", unit=None, acting_user=cast.province_editor)
    response = client_for(cast.commune_editor).post(f"/speech/lexicon/{entry.pk}/delete/")
    assert response.status_code == 403
    assert LexiconEntry.objects.get(pk=entry.pk).is_active


def test_province_staff_remove_a_shared_entry(cast, client_for):
    entry = do_save_lexicon_entry(term="HĐND", spoken="hội đồng nhân dân", unit=None, acting_user=cast.province_editor)
    response = client_for(cast.province_editor).post(f"/speech/lexicon/{entry.pk}/delete/")
    assert response.status_code == 302
    assert not LexiconEntry.objects.get(pk=entry.pk).is_active


def test_a_commune_editor_manages_its_own_entries(cast, client_for):
    editor = make_user("editor2.bienhoa", cast.commune, Role.EDITOR)
    entry = do_save_lexicon_entry(term="KP", spoken="khu phố", unit=cast.commune, acting_user=editor)
    assert client_for(editor).post(f"/speech/lexicon/{entry.pk}/delete/").status_code == 302
    assert not LexiconEntry.objects.get(pk=entry.pk).is_active


@pytest.mark.skipif(not shutil.which("espeak-ng") or not shutil.which("ffmpeg"), reason="needs espeak-ng and ffmpeg")
def test_a_dictionary_change_renders_the_live_bulletins_it_rereads(
    cast, settings, tmp_path, django_capture_on_commit_callbacks
):
    # Devices find a bulletin's audio by its spoken text: after a dictionary change a live bulletin needs audio for
    # the new reading, or it falls silent at the next manifest compile.
    settings.SPEECH_AUTO_RENDER = True  # the worker runs inline in tests
    settings.MEDIA_ROOT = str(tmp_path)
    with django_capture_on_commit_callbacks(execute=True):
        here = make_bulletin(cast.commune, cast.commune_editor, title="Họp dân", body="Mời bà con KP 3 dự họp.")
        publish(here, editor=cast.commune_editor, approver=cast.approver)
        there = make_bulletin(cast.other_commune, cast.province_editor, title="Họp dân", body="Mời bà con KP 5.")
        publish(there, editor=cast.province_editor, approver=cast.approver)
    assert SpeechRender.objects.filter(status=RenderStatus.DONE).count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        do_save_lexicon_entry(term="KP", spoken="khu phố", unit=cast.commune, acting_user=cast.commune_editor)
    here.refresh_from_db()
    text = spoken_text_for(here.published_revision)
    assert "khu phố ba" in text
    render = find_render(text)
    assert render is not None and render.status == RenderStatus.DONE, render and render.error
    # The other commune reads as before: nothing new was rendered for it.
    assert SpeechRender.objects.count() == 3
