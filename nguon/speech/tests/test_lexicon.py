"""The pronunciation dictionary: only province-wide staff change the shared entries."""

from nguon.accounts.roles import Role
from nguon.conftest import make_user
from nguon.speech.actions import do_save_lexicon_entry
from nguon.speech.models import LexiconEntry


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
