"""The relay stream check is not a way into the server's network: an operator's address reaches only public
servers, our own Icecast and what NGUON_STREAM_ALLOW names; redirects are judged again; a banner never comes back."""

from __future__ import annotations

from html import unescape

import pytest

from nguon.broadcast.live import check_stream
from nguon.broadcast.tests.schedule_helpers import messages_of, operator, slot_form, stamp_of
from nguon.lib.tests.test_netguard import BANNER, RawServer, http_server  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_like():
    server = RawServer(greeting=BANNER)
    yield server
    server.close()


def save_relay(cast, client_for, url: str) -> list[str]:
    client = client_for(operator(cast.commune))
    stamp = stamp_of(client.get("/schedules/26068/new/"))
    items = [{"stream_url": url, "stream_name": "Kênh lạ"}]
    response = client.post("/schedules/26068/new/", slot_form(stamp, items=items), follow=True)
    assert response.status_code == 200
    page = unescape(response.content.decode())
    assert "SECRET" not in page and "ERR" not in page
    return [m for m in messages_of(response) if "Kênh lạ" in m]


def test_an_internal_service_is_not_even_contacted(cast, client_for, redis_like, settings):
    settings.STREAM_CHECK_SECONDS = 2
    warnings = save_relay(cast, client_for, f"http://127.0.0.1:{redis_like.port}/")
    assert len(warnings) == 1 and "NGUON_STREAM_ALLOW" in warnings[0]
    assert redis_like.accepted == 0
    result = check_stream(f"http://127.0.0.1:{redis_like.port}/", timeout=2)
    assert result.ok is False and "SECRET" not in result.reason


def test_an_allowed_internal_service_that_is_not_http_says_so_without_its_words(cast, client_for, redis_like,
                                                                                 settings):  # fmt: skip
    settings.STREAM_CHECK_SECONDS = 2
    settings.STREAM_ALLOW = [f"127.0.0.1:{redis_like.port}"]
    warnings = save_relay(cast, client_for, f"http://127.0.0.1:{redis_like.port}/")
    assert len(warnings) == 1 and "HTTP" in warnings[0] and "SECRET" not in warnings[0]


def test_a_redirect_into_the_network_is_refused(cast, client_for, http_server, settings):  # noqa: F811
    allowed_port, _ = http_server()
    internal_port, internal_hosts = http_server()
    settings.STREAM_ALLOW = [f"127.0.0.1:{allowed_port}"]
    url = f"http://127.0.0.1:{allowed_port}/go?http://127.0.0.1:{internal_port}/admin"
    result = check_stream(url, timeout=2)
    assert result.ok is False and "NGUON_STREAM_ALLOW" in result.reason
    assert internal_hosts == []
    assert check_stream(f"http://127.0.0.1:{allowed_port}/vov1.mp3", timeout=2).ok is True


def test_our_icecast_is_allowed_by_its_port_only(http_server, redis_like, settings):  # noqa: F811
    port, _ = http_server()
    settings.STREAM_ALLOW = []
    settings.ICECAST_URL = f"http://127.0.0.1:{port}"
    assert check_stream(f"http://127.0.0.1:{port}/truc-tiep.mp3", timeout=2).ok is True
    other = check_stream(f"http://127.0.0.1:{redis_like.port}/", timeout=2)
    assert other.ok is False and "NGUON_STREAM_ALLOW" in other.reason


def test_many_silent_relays_hold_the_page_only_briefly(cast, client_for, settings):
    """Sixty relays to a server that never finishes answering: the save waits about twice the check's limit."""
    import time

    dripping = RawServer(drip=True)
    try:
        settings.STREAM_CHECK_SECONDS = 1
        settings.STREAM_ALLOW = [f"127.0.0.1:{dripping.port}"]
        client = client_for(operator(cast.commune))
        stamp = stamp_of(client.get("/schedules/26068/new/"))
        items = [{"stream_url": f"http://127.0.0.1:{dripping.port}/{n}.mp3", "stream_name": f"Kênh {n}"}
                 for n in range(60)]  # fmt: skip
        started = time.monotonic()
        response = client.post("/schedules/26068/new/", slot_form(stamp, items=items), follow=True)
        elapsed = time.monotonic() - started
    finally:
        dripping.close()
    assert response.status_code == 200
    assert elapsed < 6, elapsed
    assert any("không được kiểm tra" in m or "not checked" in m for m in messages_of(response))
