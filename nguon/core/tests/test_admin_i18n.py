"""The Django admin reads as Vietnamese: page titles, model names, column headers, field labels, filters."""

import lxml.html
import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from nguon.accounts.roles import Role
from nguon.conftest import make_user, signed_in
from nguon.core.tests.test_crawl import english_msgids, untranslated


def _texts(html: str) -> list[str]:
    tree = lxml.html.fromstring(html)
    for bad in tree.xpath("//script|//style|//*[@lang and not(starts-with(@lang, 'vi'))]|//code|//pre"):
        bad.drop_tree()
    texts = [" ".join(t.split()) for t in tree.xpath("//body//text()")]
    texts += [" ".join(v.split()) for v in tree.xpath("//body//@title|//body//@placeholder|//body//@aria-label")]
    return [t for t in texts if t]


@pytest.fixture
def root_admin(cast):
    province = cast.province_editor.active_grants()[0].unit
    return make_user("root.admin", province, Role.ADMIN)


def _admin_pages():
    """The index, and each model's list, add page and the change page of its first row (if any)."""
    pages = [("admin:index", ())]
    for model in admin.site._registry:  # noqa: SLF001 (the registry is the list of admin pages)
        meta = model._meta
        pages.append((f"admin:{meta.app_label}_{meta.model_name}_changelist", ()))
        pages.append((f"admin:{meta.app_label}_{meta.model_name}_add", ()))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            pages.append((f"admin:{meta.app_label}_{meta.model_name}_change", (first.pk,)))
    return pages


def test_admin_pages_have_no_english_left(root_admin):
    from nguon.core.demo import load_demo

    load_demo()  # rows in most tables, so that change pages are seen too
    client = signed_in(root_admin)
    msgids = english_msgids()
    problems = {}
    for name, args in _admin_pages():
        try:
            url = reverse(name, args=args)
        except NoReverseMatch:
            continue
        response = client.get(url)
        if response.status_code == 403:  # e.g. an add page the admin does not offer
            continue
        assert response.status_code == 200, (url, response.status_code)
        english = untranslated(_texts(response.content.decode()), msgids)
        if english:
            problems[url] = english
    assert not problems, "\n".join(f"{url}: {' | '.join(texts[:15])}" for url, texts in problems.items())
