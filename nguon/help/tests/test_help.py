"""The Vietnamese user guides at /help/: one per role, linked from every back-office page, rendered safely."""

from __future__ import annotations

import re

import pytest

from nguon.help.guides import all_guides, render_markdown

ROLE_GUIDES = {"bien-tap-vien", "phe-duyet", "van-hanh", "quan-tri"}


def test_there_is_a_guide_for_each_role():
    assert {g.slug for g in all_guides()} >= ROLE_GUIDES


@pytest.mark.parametrize("who", ["province_editor", "approver", "commune_admin", "outsider"])
def test_every_guide_renders_for_every_signed_in_user(cast, client_for, who):
    client = client_for(getattr(cast, who))
    home = client.get("/").content.decode()
    assert 'href="/help/"' in home, "the help link is on every back-office page"
    index = client.get("/help/")
    assert index.status_code == 200
    html = index.content.decode()
    for slug in ROLE_GUIDES:
        assert f'href="/help/{slug}/"' in html  # the index's links between guides lead to help pages
    for guide in all_guides():
        response = client.get(f"/help/{guide.slug}/")
        assert response.status_code == 200
        body = response.content.decode()
        assert f"<h1>{guide.title}</h1>" in body
        assert '.md"' not in body


def test_guides_are_for_signed_in_users_only(client):
    response = client.get("/help/quan-tri/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("slug", ["nope", "..", "%2e%2e%2fsettings", "INDEX", "quan-tri.md"])
def test_unknown_or_bad_names_are_not_found(cast, client_for, slug):
    assert client_for(cast.province_editor).get(f"/help/{slug}/").status_code == 404


def test_markdown_cannot_carry_script_or_handlers():
    html = render_markdown(
        "# T\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n"
        "[ok](https://example.org) [guide](phe-duyet.md)"
    )
    # Raw HTML stays text (escaped); no tag, handler or javascript: link survives.
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html
    assert 'href="https://example.org"' in html
    assert re.search(r'href="/help/phe-duyet/"', html)
