"""The shell every page shares: the Content-Security-Policy, wrapped tables, links only to what opens, labels."""

import re
from pathlib import Path

import pytest
from django.template import Context, Template

from nguon.conftest import signed_in

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
ALL_TEMPLATES = sorted(p for p in Path(__file__).resolve().parents[2].rglob("templates/**/*.html"))


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part}


@pytest.mark.parametrize("url", ["/accounts/login/", "/canh-bao/", "/board/"])
def test_public_pages_carry_a_strict_content_security_policy(db, client, url):
    response = client.get(url)
    assert response.status_code == 200
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["script-src"][0] == "'self'"  # a nonce follows only when the page uses one
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


def test_back_office_pages_carry_the_policy(cast):
    response = signed_in(cast.province_editor).get("/")
    assert response.status_code == 200
    assert "'self'" in _policy(response)["script-src"]


def test_map_tile_host_is_allowed_when_configured(db, client, settings):
    settings.MAP_TILE_URL = "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    assert "https://*.tile.example.org" in _policy(client.get("/accounts/login/"))["img-src"]
    settings.MAP_TILE_URL = "https://tiles.so.gov.vn:8443/osm/{z}/{x}/{y}.png"
    assert "https://tiles.so.gov.vn:8443" in _policy(client.get("/accounts/login/"))["img-src"]


def test_no_template_has_an_inline_script_without_nonce_or_an_inline_handler():
    offenders = []
    for path in ALL_TEMPLATES:
        text = path.read_text()
        for match in re.finditer(r"<script\b([^>]*)>", text):
            attributes = match.group(1)
            if "src=" not in attributes and "nonce=" not in attributes and "application/json" not in attributes:
                offenders.append(f"{path.name}: inline <script> without a nonce")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text):
            offenders.append(f"{path.name}: inline event handler (on...=)")
        if "javascript:" in text:
            offenders.append(f"{path.name}: javascript: URL")
    assert not offenders, offenders


def test_every_table_scrolls_inside_its_box():
    unwrapped = []
    for path in ALL_TEMPLATES:
        if "pdf" in path.parent.parts:
            continue  # documents laid out for paper (WeasyPrint), never shown on a screen
        text = path.read_text()
        for match in re.finditer(r"<table\b", text):
            before = text[max(0, match.start() - 40) : match.start()]
            if 'class="table-wrap"' not in before:
                unwrapped.append(path.relative_to(TEMPLATES.parent))
    assert not unwrapped, f'wrap these tables in <div class="table-wrap">: {unwrapped}'


def test_links_to_pages_a_role_cannot_open_are_not_shown(cast):
    inbox = 'href="/bulletins/inbox/"'
    assert inbox not in signed_in(cast.province_editor).get("/bulletins/").content.decode()
    assert inbox not in signed_in(cast.province_editor).get("/").content.decode()
    assert inbox in signed_in(cast.approver).get("/bulletins/").content.decode()


def test_sees_names_a_real_capability(cast):
    from django.template import TemplateSyntaxError

    template = Template('{% load sees %}{% if user|sees:"approve_content" %}yes{% else %}no{% endif %}')
    assert template.render(Context({"user": cast.approver})) == "yes"
    assert template.render(Context({"user": cast.province_editor})) == "no"
    with pytest.raises(TemplateSyntaxError):
        Template('{% load sees %}{{ user|sees:"approve_contnet" }}').render(Context({"user": cast.approver}))


def test_time_zone_is_named_for_people():
    from django.utils import translation

    from nguon.core.templatetags.zones import zone_label

    with translation.override("vi"):
        assert zone_label("Asia/Ho_Chi_Minh") == "giờ Việt Nam (UTC+7)"
    with translation.override("en"):
        assert zone_label("Asia/Ho_Chi_Minh") == "Vietnam time (UTC+7)"
    assert zone_label("Asia/Kolkata") == "Asia/Kolkata (UTC+5:30)"
