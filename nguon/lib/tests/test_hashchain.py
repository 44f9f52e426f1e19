from dataclasses import replace

from nguon.lib.hashchain import GENESIS, Break, Link, canonical_json, find_breaks, link_hash


def build(n: int, start: str = GENESIS) -> list[Link]:
    links, prev = [], start
    for i in range(1, n + 1):
        payload = {"seq": i, "action": f"a{i}", "changes": {"name": ["Cũ", "Mới"]}}
        link = Link(key=i, prev_hash=prev, hash=link_hash(prev, payload), payload=payload)
        links.append(link)
        prev = link.hash
    return links


def test_canonical_json_ignores_key_order_and_keeps_unicode():
    assert canonical_json({"b": 1, "a": "Đồng"}) == canonical_json({"a": "Đồng", "b": 1})
    assert canonical_json({"a": "Đồng"}) == '{"a":"Đồng"}'.encode()


def test_link_hash_depends_on_previous_hash_and_payload():
    h = link_hash(GENESIS, {"a": 1})
    assert len(h) == 64
    assert h == link_hash(GENESIS, {"a": 1})
    assert h != link_hash("1" * 64, {"a": 1})
    assert h != link_hash(GENESIS, {"a": 2})


def test_intact_chain_has_no_breaks():
    links = build(5)
    assert find_breaks(links) == ([], 5, links[-1].hash)


def test_empty_chain():
    assert find_breaks([]) == ([], 0, GENESIS)
    assert find_breaks([], start_hash="f" * 64) == ([], 0, "f" * 64)


def test_edited_payload_is_reported_on_that_link():
    links = build(5)
    links[2] = replace(links[2], payload={**links[2].payload, "action": "forged"})
    breaks, count, last = find_breaks(links)
    assert breaks == [Break(3, "edited")]
    assert (count, last) == (5, links[-1].hash)


def test_edited_hash_is_reported_on_that_link_and_unlinks_the_next():
    links = build(5)
    links[2] = replace(links[2], hash="e" * 64)
    breaks, _, _ = find_breaks(links)
    assert breaks == [Break(3, "edited"), Break(4, "unlinked")]


def test_missing_link_in_the_middle_unlinks_its_successor():
    links = build(5)
    del links[2]
    breaks, count, last = find_breaks(links)
    assert breaks == [Break(4, "unlinked")]
    assert (count, last) == (4, links[-1].hash)


def test_missing_first_link():
    links = build(3)[1:]
    assert find_breaks(links)[0] == [Break(2, "unlinked")]


def test_missing_last_link_is_invisible_to_the_walk_alone():
    """Only the head (kept elsewhere) reveals a truncated tail: the walk ends on an earlier hash."""
    full = build(5)
    breaks, count, last = find_breaks(full[:-1])
    assert breaks == []
    assert (count, last) == (4, full[-2].hash)
    assert last != full[-1].hash


def test_reordered_links_are_unlinked():
    links = build(4)
    links[1], links[2] = links[2], links[1]
    breaks, _, _ = find_breaks(links)
    assert Break(3, "unlinked") in breaks and Break(2, "unlinked") in breaks
    assert all(b.reason == "unlinked" for b in breaks)


def test_rewritten_chain_is_consistent_but_ends_on_another_hash():
    """Recomputing every hash after an edit hides it from the walk; the last hash differs from the head's."""
    original = build(4)
    forged_payload = {**original[1].payload, "action": "forged"}
    forged, prev = [original[0]], original[0].hash
    for link in original[1:]:
        payload = forged_payload if link.key == 2 else link.payload
        forged.append(Link(link.key, prev, link_hash(prev, payload), payload))
        prev = forged[-1].hash
    breaks, _, last = find_breaks(forged)
    assert breaks == []
    assert last != original[-1].hash


def test_start_hash_continues_a_chain():
    links = build(4)
    breaks, count, last = find_breaks(links[2:], start_hash=links[1].hash)
    assert (breaks, count, last) == ([], 2, links[-1].hash)
    assert find_breaks(links[2:])[0] == [Break(3, "unlinked")]
