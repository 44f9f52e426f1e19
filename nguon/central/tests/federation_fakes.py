"""Two federation instances in one test database: a parent and a child identity, and a transport that carries
the child's requests to the real endpoints through Django's test client, acting as the parent meanwhile."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from django.test import Client

from nguon.central import kinds
from nguon.central.federation import client, identity
from nguon.lib.signing import Signer

PARENT_URL = "http://parent.test"

APPLIED: list[tuple[str, dict]] = []


def _apply(name):
    def apply(link, body):
        if body.get("refuse"):
            from nguon.core.errors import Invalid

            raise Invalid("refused by the test kind", code="test_refusal")
        APPLIED.append((name, body))

    return apply


kinds.register(kinds.Kind("test.figures", kinds.UP, _apply("test.figures")))
kinds.register(kinds.Kind("test.bulletin", kinds.DOWN, _apply("test.bulletin")))


class Instances:
    """Which identity this process has at the moment: the child's, except while the parent answers."""

    def __init__(self):
        self.parent = Signer.generate()
        self.child = Signer.generate()
        self.current = self.child
        self.down = False  # the parent is unreachable
        self.answer = None  # a function (status, content type, signature, raw) → replacement, to simulate garbage
        self.requests = 0

    def signer(self):
        return self.current

    def as_parent(self):
        return _As(self, self.parent)

    def as_child(self):
        return _As(self, self.child)

    def exchange(self, url, method, headers, body, timeout):
        self.requests += 1
        if self.down:
            raise client.PeerError("connect")
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        with self.as_parent():
            response = Client().generic(
                method, path, data=body, content_type=headers.get("Content-Type", ""), headers=_plain(headers)
            )
        result = (
            response.status_code,
            response.get("Content-Type", "").split(";")[0],
            response.get("X-Nguon-Signature", ""),
            response.content,
        )
        return self.answer(*result) if self.answer else result


class _As:
    def __init__(self, instances, signer):
        self.instances, self.signer, self.previous = instances, signer, None

    def __enter__(self):
        self.previous, self.instances.current = self.instances.current, self.signer

    def __exit__(self, *exc):
        self.instances.current = self.previous


def _plain(headers: dict) -> dict:
    return {k: v for k, v in headers.items() if k not in ("Content-Type", "Content-Length", "Connection")}


@pytest.fixture(name="instances")
def instances_fixture(monkeypatch, settings):
    found = Instances()
    monkeypatch.setattr(identity, "signer", found.signer)
    monkeypatch.setattr(client, "_exchange", found.exchange)
    monkeypatch.setattr(client, "check_url", lambda url: None)
    settings.CENTRAL_ALLOW_PRIVATE = False
    APPLIED.clear()
    return found
