"""Hash chaining for append-only logs: each link commits to the previous one."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """Serialise a mapping the same way every time (sorted keys, no spaces, UTF-8)."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def link_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    """Return the hash of one link: SHA-256 over the previous hash and the canonical payload."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_json(payload))
    return digest.hexdigest()


@dataclass(frozen=True)
class Link:
    key: int
    prev_hash: str
    hash: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class Break:
    key: int
    reason: str  # "edited" | "unlinked"


def find_breaks(links: Iterable[Link], start_hash: str = GENESIS) -> tuple[list[Break], int, str]:
    """Walk links in order; return the breaks found, the number of links and the last hash."""
    breaks: list[Break] = []
    expected_prev = start_hash
    count = 0
    for link in links:
        count += 1
        if link.prev_hash != expected_prev:
            # A missing row (or a reordered one) leaves its successor pointing at a hash that is gone.
            breaks.append(Break(link.key, "unlinked"))
        if link_hash(link.prev_hash, link.payload) != link.hash:
            breaks.append(Break(link.key, "edited"))
        expected_prev = link.hash
    return breaks, count, expected_prev
