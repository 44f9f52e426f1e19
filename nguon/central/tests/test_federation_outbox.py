"""The outbox: messages numbered per link, duplicates of a key ignored, default links by direction."""

import pytest
from django.db import transaction

from nguon.central import kinds, outbox
from nguon.central.models import Link, OutboxMessage

pytestmark = pytest.mark.django_db

UP_KIND = kinds.register(kinds.Kind("test.up", kinds.UP, lambda link, body: None))
DOWN_KIND = kinds.register(kinds.Kind("test.down", kinds.DOWN, lambda link, body: None))


def make_link(role, name, state=Link.State.ACTIVE):
    return Link.objects.create(role=role, name=name, state=state, peer_instance_id=name)


def test_up_goes_to_the_parent_down_to_every_child_in_order():
    parent = make_link(Link.Role.PARENT, "centre")
    child_a = make_link(Link.Role.CHILD, "a")
    child_b = make_link(Link.Role.CHILD, "b", state=Link.State.SUSPENDED)
    make_link(Link.Role.CHILD, "pending", state=Link.State.PENDING)

    up = outbox.enqueue("test.up", {"n": 1}, key="u1")
    assert [(m.link, m.seq) for m in up] == [(parent, 1)]
    first = outbox.enqueue("test.down", {"n": 1}, key="d1")
    second = outbox.enqueue("test.down", {"n": 2}, key="d2")
    assert sorted((m.link.name, m.seq) for m in first + second) == [("a", 1), ("a", 2), ("b", 1), ("b", 2)]
    assert Link.objects.get(pk=child_a.pk).sent_seq == 2
    assert Link.objects.get(pk=child_b.pk).sent_seq == 2


def test_the_same_key_is_queued_once_per_link():
    child = make_link(Link.Role.CHILD, "a")
    assert len(outbox.enqueue("test.down", {"n": 1}, key="same")) == 1
    assert outbox.enqueue("test.down", {"n": 2}, key="same") == []
    assert list(OutboxMessage.objects.filter(link=child).values_list("seq", "body")) == [(1, {"n": 1})]


def test_a_rolled_back_message_leaves_no_gap():
    child = make_link(Link.Role.CHILD, "a")
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue("test.down", {}, key="gone")
        raise RuntimeError
    assert outbox.enqueue("test.down", {}, key="kept")[0].seq == 1
    assert Link.objects.get(pk=child.pk).sent_seq == 1


def test_unknown_kinds_are_refused():
    with pytest.raises(ValueError):
        outbox.enqueue("no.such.kind", {}, key="k")
