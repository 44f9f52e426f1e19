"""Who may say what through a CAP import (issue 9, item 19), and the size limit of a CAP body (item 9).

Identifiers are unique per sender, not across senders; a staff import may not carry a trusted sender's address
(or this system's); a file never blocks the trusted sender's own message; and a duplicate is reported only when the
earlier copy lies within the importer's units."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from nguon.accounts.roles import Role
from nguon.alerts import actions, importer
from nguon.alerts.models import Alert, Origin
from nguon.alerts.tests.test_import import flood_cap
from nguon.conftest import make_user
from nguon.core.errors import Conflict, Forbidden

pytestmark = pytest.mark.django_db

TRUSTED = "canhbao@phongchongthientai.gov.vn"
IMPORT_URL = "/api/v1/alerts/import"
CAP_URL = "/api/v1/alerts/cap"


@pytest.fixture
def trusted(cast):
    return actions.do_add_sender(name="Cục QLĐĐ và PCTT", cap_sender=TRUSTED, unit=cast.province)


def post_cap(client, body: bytes, token: str, **extra):
    return client.post(CAP_URL, body, content_type="application/cap+xml", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def test_a_staff_import_may_not_speak_as_a_trusted_sender(cast, trusted, client_for):
    response = client_for(cast.commune_editor).post(
        f"{IMPORT_URL}?unit={cast.commune.code}", flood_cap(sender=TRUSTED), content_type="application/cap+xml"
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reserved_sender"
    assert not Alert.objects.exists()


def test_a_staff_import_may_not_speak_as_this_system(cast):
    with pytest.raises(Forbidden) as caught:
        importer.import_cap(flood_cap(sender=actions.default_sender()), unit=cast.commune,
                            acting_user=cast.commune_editor)  # fmt: skip
    assert caught.value.code == "reserved_sender"


def test_a_file_imported_before_the_sender_was_trusted_never_blocks_its_real_message(cast, client):
    """The squat: an editor imports a forged document with the sender's address and a predictable identifier."""
    squat = importer.import_cap(flood_cap("urn:predictable:1", sender=TRUSTED), unit=cast.commune,
                                acting_user=cast.commune_editor)  # fmt: skip
    assert squat.origin == Origin.FILE
    _sender, token = actions.do_add_sender(name="Cục QLĐĐ và PCTT", cap_sender=TRUSTED, unit=cast.province)
    response = post_cap(client, flood_cap("urn:predictable:1", sender=TRUSTED), token)
    assert response.status_code == 201, response.content
    real = Alert.objects.get(pk=response.json()["id"])
    assert real.origin == Origin.HTTP and real.pk != squat.pk
    actions.do_approve(real, acting_user=cast.approver)
    # A Cancel from the trusted sender finds its own message, not the squatter's.
    cancel = flood_cap("urn:predictable:2", sender=TRUSTED, msg_type="Cancel", references=real.reference())
    response = post_cap(client, cancel, token)
    assert response.status_code == 201, response.content
    assert response.json()["replaces_id"] == real.pk
    # The trusted sender sending the same message twice is told so.
    response = post_cap(client, flood_cap("urn:predictable:1", sender=TRUSTED), token)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_identifier"


def test_identifiers_are_unique_per_sender_not_across_senders(cast, trusted, client):
    _sender, token = trusted
    assert post_cap(client, flood_cap("urn:same:1", sender=TRUSTED), token).status_code == 201
    other = importer.import_cap(flood_cap("urn:same:1", sender="canhbao@kttv.example"), unit=cast.province,
                                acting_user=cast.province_editor)  # fmt: skip
    assert other.identifier == "urn:same:1"
    assert Alert.objects.filter(identifier="urn:same:1").count() == 2
    # The database holds to it too, whatever the code above it does.
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(
            unit=cast.province, identifier="urn:same:1", sender=TRUSTED, sent=other.sent, event="x", headline="x",
            urgency="Immediate", severity="Severe", certainty="Likely", origin=Origin.HTTP,
        )  # fmt: skip


def test_a_duplicate_is_reported_only_within_the_importers_units(cast):
    """Two communes import the same file: the second is not told that the first has it (that would reveal another
    commune's alert); the same commune importing it twice is told."""
    other_editor = make_user("editor.tranbien", cast.other_commune, Role.EDITOR)
    document = flood_cap("urn:shared:1", sender="canhbao@kttv.example")
    mine = importer.import_cap(document, unit=cast.commune, acting_user=cast.commune_editor)
    theirs = importer.import_cap(document, unit=cast.other_commune, acting_user=other_editor)
    assert mine.pk != theirs.pk
    with pytest.raises(Conflict) as caught:
        importer.import_cap(document, unit=cast.commune, acting_user=cast.commune_editor)
    assert caught.value.code == "duplicate_identifier"
    assert "Trấn Biên" not in str(caught.value.message) and str(theirs.pk) not in str(caught.value.message)
    # A province editor sees both communes: the copy there is reported.
    with pytest.raises(Conflict):
        importer.import_cap(document, unit=cast.province, acting_user=cast.province_editor)


class TestTooLarge:
    """Over 2 MiB: the documented JSON error (413, too_large), never Django's HTML 400."""

    @pytest.mark.parametrize("size", [2 * 1024 * 1024 + 1, 3 * 1024 * 1024])  # ours, and over Django's own limit
    def test_trusted_sender_endpoint(self, client, trusted, size):
        _sender, token = trusted
        response = post_cap(client, b" " * size, token)
        assert response.status_code == 413
        assert response["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == "too_large"
        assert not Alert.objects.exists()

    @pytest.mark.parametrize("content_type", ["application/cap+xml", "application/x-www-form-urlencoded"])
    def test_staff_import_endpoint(self, cast, client_for, content_type):
        client = client_for(cast.province_editor)
        response = client.post(f"{IMPORT_URL}?unit=75", b"a" * (3 * 1024 * 1024), content_type=content_type)
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "too_large"
