"""Pairing through the real endpoint: a one-time code, keys pinned on both sides, reuse and expiry refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from nguon.central import actions
from nguon.central.federation import identity
from nguon.central.models import Link, PairingCode
from nguon.central.tests.federation_fakes import PARENT_URL, instances_fixture  # noqa: F401
from nguon.core.errors import Invalid
from nguon.lib.signing import Signer

pytestmark = pytest.mark.django_db


def test_pairing_pins_each_others_keys(cast, instances):
    with instances.as_parent():
        pending, code = actions.do_create_pairing_code("Tỉnh Đồng Nai", acting_user=cast.province_admin)
    assert pending.state == Link.State.PENDING
    stored = PairingCode.objects.get(link=pending)
    assert code not in stored.code_hash  # only the hash is kept

    parent_link = actions.do_pair_with_parent(PARENT_URL, code, acting_user=cast.province_admin)

    child_link = Link.objects.get(pk=pending.pk)
    assert child_link.state == Link.State.ACTIVE
    assert child_link.peer_public_key == instances.child.public_key_b64
    assert child_link.peer_instance_id == identity.instance_id_for(instances.child.public_key_b64)
    assert parent_link.role == Link.Role.PARENT and parent_link.state == Link.State.ACTIVE
    assert parent_link.peer_public_key == instances.parent.public_key_b64
    assert PairingCode.objects.get(link=pending).used_at is not None


def test_a_code_works_once(cast, instances):
    with instances.as_parent():
        _, code = actions.do_create_pairing_code("Tỉnh A", acting_user=cast.province_admin)
    actions.do_pair_with_parent(PARENT_URL, code, acting_user=cast.province_admin)
    Link.objects.parents().delete()
    instances.child = Signer.generate()  # another child tries the same code
    instances.current = instances.child
    with pytest.raises(Invalid, match="code_used"):
        actions.do_pair_with_parent(PARENT_URL, code, acting_user=cast.province_admin)
    assert not Link.objects.parents().exists()


def test_expired_and_wrong_codes_are_refused(cast, instances):
    with instances.as_parent():
        link, code = actions.do_create_pairing_code("Tỉnh B", acting_user=cast.province_admin)
    PairingCode.objects.filter(link=link).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Invalid, match="code_expired"):
        actions.do_pair_with_parent(PARENT_URL, code, acting_user=cast.province_admin)
    with pytest.raises(Invalid, match="bad_code"):
        actions.do_pair_with_parent(PARENT_URL, "AAAA-BBBB-CCCC", acting_user=cast.province_admin)
    assert Link.objects.get(pk=link.pk).state == Link.State.PENDING
    assert not Link.objects.parents().exists()


def test_codes_are_typed_loosely(cast, instances):
    with instances.as_parent():
        _, code = actions.do_create_pairing_code("Tỉnh C", acting_user=cast.province_admin)
    link = actions.do_pair_with_parent(PARENT_URL + "/", " " + code.lower().replace("-", " "), acting_user=None)
    assert link.base_url == PARENT_URL


def test_a_pairing_request_must_be_signed_by_the_offered_key(client, instances):
    with instances.as_parent():
        _, code = actions.do_create_pairing_code("Tỉnh D", acting_user=None)
    other = Signer.generate()
    from nguon.central.federation import envelope

    body = (
        f'{{"code":"{code}","instance_id":"{identity.instance_id_for(instances.child.public_key_b64)}",'
        f'"public_key":"{instances.child.public_key_b64}","unit_code":"75","name":"x"}}'
    ).encode()
    sender = identity.instance_id_for(instances.child.public_key_b64)
    import time

    headers = envelope.sign_request(other, "POST", "/api/v1/central/pair", str(int(time.time())), sender, body)
    with instances.as_parent():
        response = client.post("/api/v1/central/pair", body, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert PairingCode.objects.get().used_at is None


def test_pairing_refuses_internal_addresses_unless_allowed(cast, settings):
    settings.CENTRAL_ALLOW_PRIVATE = False
    with pytest.raises(Invalid, match="refused"):
        actions.do_pair_with_parent("http://127.0.0.1:9", "AAAA-BBBB-CCCC", acting_user=cast.province_admin)
