"""Messages through the real endpoints: up and down in order, once; forged, replayed, reordered and unsigned
requests refused with clear errors; garbage answers and an unreachable parent backed off, then caught up."""

import json
import time

import pytest
from django.db import transaction

from nguon.central import actions, outbox
from nguon.central.federation import envelope, identity, sync
from nguon.central.models import InboxMessage, Link, OutboxMessage
from nguon.central.tests.federation_fakes import APPLIED, PARENT_URL, instances_fixture  # noqa: F401
from nguon.lib.signing import Signer

pytestmark = pytest.mark.django_db(transaction=False)
PATH = "/api/v1/central/messages"


@pytest.fixture
def paired(instances):
    with instances.as_parent():
        _, code = actions.do_create_pairing_code("Tỉnh Đồng Nai", acting_user=None)
    parent_link = actions.do_pair_with_parent(PARENT_URL, code, acting_user=None)
    child_link = Link.objects.children().get()  # the parent's record of the child
    return parent_link, child_link


def queue_up(n, **body):
    with transaction.atomic():
        return outbox.enqueue("test.figures", {"n": n, **body}, key=f"figures-{n}")


def queue_down(instances, n):
    with instances.as_parent(), transaction.atomic():
        return outbox.enqueue("test.bulletin", {"n": n}, key=f"bulletin-{n}")


def test_up_and_down_in_order_and_once(instances, paired):
    parent_link, child_link = paired
    for n in (1, 2, 3):
        queue_up(n)
        queue_down(instances, n)

    assert sync.push(parent_link).sent == 3
    assert sync.pull(parent_link).received == 3
    expected = [("test.figures", {"n": n}) for n in (1, 2, 3)] + [("test.bulletin", {"n": n}) for n in (1, 2, 3)]
    assert expected == APPLIED
    assert not parent_link.pending_messages().exists()
    assert Link.objects.get(pk=child_link.pk).received_seq == 3
    assert Link.objects.get(pk=parent_link.pk).received_seq == 3

    # Nothing new: both sides exchange nothing, apply nothing; the next pull acknowledges the down messages.
    assert sync.push(parent_link).sent == 0
    assert sync.pull(parent_link).received == 0
    assert len(APPLIED) == 6
    assert not child_link.pending_messages().exists()
    link = Link.objects.get(pk=parent_link.pk)
    assert link.failures == 0 and link.last_ok_at is not None and link.last_error == ""


def sealed(signer, sender, recipient, seq, key, body=None, kind="test.figures"):
    return envelope.seal(signer, sender=sender, recipient=recipient, seq=seq, key=key, kind=kind,
                         created_at="2026-12-03T08:00:00+07:00", body=body or {"n": seq})  # fmt: skip


def post(client, instances, messages, *, signer=None, timestamp=None, raw=None):
    """POST as the child (or as `signer`) to the parent's endpoint."""
    signer = signer or instances.child
    body = raw if raw is not None else json.dumps({"messages": messages}).encode()
    sender = identity.instance_id_for(signer.public_key_b64)
    headers = envelope.sign_request(signer, "POST", PATH, str(timestamp or int(time.time())), sender, body)
    with instances.as_parent():
        return client.post(PATH, body, content_type="application/json", headers=headers)


def ids(instances):
    return identity.instance_id_for(instances.child.public_key_b64), identity.instance_id_for(
        instances.parent.public_key_b64
    )


def test_a_replayed_message_is_acknowledged_not_applied_twice(client, instances, paired):
    child_id, parent_id = ids(instances)
    message = sealed(instances.child, child_id, parent_id, 1, "k1")
    first = post(client, instances, [message])
    again = post(client, instances, [message])
    assert first.status_code == again.status_code == 200
    assert first.json()["results"][0]["status"] == "applied"
    assert again.json() == {"received_seq": 1, "results": [{"seq": 1, "key": "k1", "status": "duplicate"}]}
    assert len(APPLIED) == 1


def test_a_reordered_message_is_refused_with_the_expected_seq(client, instances, paired):
    child_id, parent_id = ids(instances)
    response = post(client, instances, [sealed(instances.child, child_id, parent_id, 2, "k2")])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "out_of_order"
    assert response.json()["error"]["expected_seq"] == 1
    assert APPLIED == [] and not InboxMessage.objects.exists()


def test_forged_and_tampered_messages_are_refused(client, instances, paired):
    child_id, parent_id = ids(instances)
    forged = sealed(Signer.generate(), child_id, parent_id, 1, "k1")
    response = post(client, instances, [forged])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "bad_signature")

    tampered = sealed(instances.child, child_id, parent_id, 1, "k1")
    tampered["body"] = {"n": 666}
    response = post(client, instances, [tampered])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "bad_signature")

    wrong_recipient = sealed(instances.child, child_id, child_id, 1, "k1")
    response = post(client, instances, [wrong_recipient])
    assert (response.status_code, response.json()["error"]["code"]) == (403, "recipient")

    response = post(client, instances, [{"seq": 1}])
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed")
    assert APPLIED == [] and not InboxMessage.objects.exists()


def test_requests_must_be_signed_fresh_by_a_paired_instance(client, instances, paired):
    child_id, parent_id = ids(instances)
    message = sealed(instances.child, child_id, parent_id, 1, "k1")
    stranger = Signer.generate()
    response = post(client, instances, [message], signer=stranger)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "unknown_sender")

    response = post(client, instances, [message], timestamp=int(time.time()) - 3600)  # a captured request replayed
    assert (response.status_code, response.json()["error"]["code"]) == (401, "stale_request")

    with instances.as_parent():
        response = client.post(PATH, json.dumps({"messages": [message]}), content_type="application/json")
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unsigned")

    body = json.dumps({"messages": [message]}).encode()
    headers = envelope.sign_request(instances.child, "POST", PATH, str(int(time.time())), child_id, b"other")
    with instances.as_parent():
        response = client.post(PATH, body, content_type="application/json", headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "bad_signature")

    response = post(client, instances, None, raw=b"<html>")
    assert (response.status_code, response.json()["error"]["code"]) == (400, "malformed")
    assert APPLIED == []


def test_a_suspended_child_is_refused_until_resumed(client, instances, paired):
    parent_link, child_link = paired
    with instances.as_parent():
        actions.do_suspend_link(child_link, acting_user=None)
    queue_up(1)
    result = sync.push(parent_link)
    assert result.sent == 0 and "suspended" in result.errors[0]
    with instances.as_parent():
        actions.do_resume_link(child_link, acting_user=None)
    assert sync.push(parent_link).sent == 1


def test_a_refused_message_is_recorded_and_the_stream_moves_on(instances, paired):
    parent_link, child_link = paired
    queue_up(1, refuse=True)
    queue_up(2)
    result = sync.push(parent_link)
    assert result.sent == 2
    assert "test_refusal" in result.errors[0]
    assert APPLIED == [("test.figures", {"n": 2})]
    refused = InboxMessage.objects.get(link=child_link, seq=1)
    assert refused.refusal.startswith("test_refusal")
    link = Link.objects.get(pk=parent_link.pk)
    assert "test_refusal" in link.last_error
    assert link.failures == 0 and sync.due(link)  # a refusal is shown, not retried with a growing pause


@pytest.mark.parametrize(
    "garbage",
    [
        (502, "text/html", "", b"<html><body>Bad gateway</body></html>"),
        (200, "application/json", "", b"{not json"),
        (200, "application/json", "", b'{"received_seq": 1, "results": []}'),  # unsigned
        (200, "application/json", "AAAA", b'{"received_seq": 1, "results": []}'),  # wrong signature
    ],
)
def test_garbage_answers_are_recorded_and_nothing_is_marked_delivered(instances, paired, garbage):
    parent_link, _ = paired
    queue_up(1)
    instances.answer = lambda *real: garbage
    result = sync.push(parent_link)
    assert result.sent == 0 and result.errors
    link = Link.objects.get(pk=parent_link.pk)
    assert link.failures == 1 and link.last_error and link.next_attempt_at is not None
    assert parent_link.pending_messages().count() == 1

    instances.answer = None
    assert sync.push(parent_link).sent == 1
    assert APPLIED == [("test.figures", {"n": 1})]  # the first attempt's delivery was not applied twice
    assert Link.objects.get(pk=parent_link.pk).failures == 0


def test_a_parent_down_for_a_while_catches_up_without_loss_or_doubles(instances, paired):
    parent_link, child_link = paired
    instances.down = True
    delays = []
    for n in range(1, 6):
        queue_up(n)
        queue_down(instances, n)
        assert sync.push(parent_link).errors and sync.pull(parent_link).errors
        link = Link.objects.get(pk=parent_link.pk)
        delays.append((link.next_attempt_at - link.last_error_at).total_seconds())
    assert Link.objects.get(pk=parent_link.pk).failures == 10
    assert delays == sorted(delays) and delays[-1] > delays[0]  # the pause grows

    Link.objects.filter(pk=parent_link.pk).update(next_attempt_at=None)
    instances.down = False
    assert sync.sync_once() == {parent_link.name: sync.SyncResult(5, 5, [])}
    assert sorted(APPLIED, key=lambda a: (a[0], a[1]["n"])) == [("test.bulletin", {"n": n}) for n in range(1, 6)] + [
        ("test.figures", {"n": n}) for n in range(1, 6)
    ]
    assert InboxMessage.objects.filter(link=child_link).count() == 5
    assert InboxMessage.objects.filter(link=parent_link).count() == 5
    # A late duplicate delivery (the answer to an earlier attempt lost) changes nothing.
    OutboxMessage.objects.filter(link=parent_link).update(delivered_at=None)
    assert sync.push(parent_link).sent == 5
    assert len(APPLIED) == 10


def test_a_closed_port_is_an_error_with_backoff(instances, paired, monkeypatch, settings):
    import socket

    from nguon.central.federation import client

    parent_link, _ = paired
    monkeypatch.undo()  # the real HTTP client, to a port nobody listens on
    monkeypatch.setattr(identity, "signer", instances.signer)
    settings.CENTRAL_ALLOW_PRIVATE = True
    settings.CENTRAL_TIMEOUT = 2
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    Link.objects.filter(pk=parent_link.pk).update(base_url=f"http://127.0.0.1:{port}")
    parent_link.refresh_from_db()
    queue_up(1)
    result = sync.push(parent_link)
    assert result.errors == ["connect"]
    link = Link.objects.get(pk=parent_link.pk)
    assert link.failures == 1 and link.last_error == "connect" and not sync.due(link)
    assert sync.sync_once() == {}  # backing off: not tried again yet
    assert client.allow_rules()  # private addresses were allowed for this test only


def test_a_refused_message_from_above_is_recorded_and_the_cursor_moves_on(instances, paired):
    parent_link, child_link = paired
    with instances.as_parent(), transaction.atomic():
        outbox.enqueue("test.bulletin", {"refuse": True}, key="bad")
        outbox.enqueue("test.bulletin", {"n": 2}, key="good")
    result = sync.pull(parent_link)
    assert result.received == 2 and "test_refusal" in result.errors[0]
    assert APPLIED == [("test.bulletin", {"n": 2})]
    link = Link.objects.get(pk=parent_link.pk)
    assert link.received_seq == 2 and link.failures == 0 and "test_refusal" in link.last_error


def test_a_child_claiming_more_than_was_sent_is_refused(instances, paired):
    parent_link, _ = paired
    Link.objects.filter(pk=parent_link.pk).update(received_seq=7)  # the parent was restored from an old backup
    result = sync.pull(parent_link)
    assert result.received == 0 and "ahead" in result.errors[0]
    assert Link.objects.get(pk=parent_link.pk).failures == 1
