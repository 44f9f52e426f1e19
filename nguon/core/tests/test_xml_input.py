"""Text that XML cannot carry is refused where it enters: every form field and every API body says so, nothing saved."""

from __future__ import annotations

import importlib
import json
import pkgutil

import pytest
from django import forms
from ninja import Schema as NinjaSchema

import nguon
from nguon.content.models import Bulletin
from nguon.content.tests.conftest import form_data
from nguon.core.forms import XmlSafeFormMixin
from nguon.core.schemas import Schema


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


@pytest.fixture(scope="module")
def project_modules():
    """Import every module of the project (tests excepted) so that every form and schema class exists."""
    for info in pkgutil.walk_packages(nguon.__path__, "nguon."):
        if ".tests" in info.name or ".migrations" in info.name or info.name.endswith(("__main__", "settings_test")):
            continue
        importlib.import_module(info.name)


def test_every_form_refuses_xml_control_characters(project_modules):
    ours = [c for c in _all_subclasses(forms.BaseForm) if c.__module__.startswith("nguon.")]
    assert len(ours) > 20
    missing = [f"{c.__module__}.{c.__name__}" for c in ours if not issubclass(c, XmlSafeFormMixin)]
    assert missing == [], "forms must derive from nguon.core.forms.Form or ModelForm"


def test_every_api_schema_refuses_xml_control_characters(project_modules):
    ours = [c for c in _all_subclasses(NinjaSchema) if c.__module__.startswith("nguon.")]
    assert len(ours) > 20
    missing = [f"{c.__module__}.{c.__name__}" for c in ours if not issubclass(c, Schema)]
    assert missing == [], "API schemas must derive from nguon.core.schemas.Schema"


@pytest.mark.parametrize("bad", ["\x0b", "\x00", "\x1b"])
def test_a_form_shows_the_problem_on_its_field_and_saves_nothing(cast, client_for, bad):
    editor = client_for(cast.commune_editor)
    response = editor.post("/bulletins/new/", form_data(cast.commune, body=f"Họp tổ dân phố{bad} lúc 19 giờ."))
    assert response.status_code == 400
    page = response.content.decode()
    # Vietnamese by default, with the code point and where it is.
    assert "ký tự điều khiển" in page and f"U+{ord(bad):04X}" in page and "vị trí 15" in page
    assert "Họp tổ dân phố" in page  # what the user typed is kept
    assert Bulletin.objects.count() == 0


def test_the_api_answers_a_structured_422_and_saves_nothing(cast, client_for):
    editor = client_for(cast.commune_editor)
    payload = {"owner_unit": "26068", "title": "Thông báo\u000c", "body": "Nội dung \ud800 lỗi"}
    response = editor.post("/api/v1/bulletins/", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 422, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"title", "body"}
    assert "U+000C" in error["fields"]["title"][0] and "ký tự điều khiển" in error["fields"]["title"][0]
    # A lone surrogate is not even a valid string for the JSON parser: refused as such, in Vietnamese too.
    assert error["fields"]["body"] == ["Văn bản này không phải Unicode hợp lệ."]
    assert Bulletin.objects.count() == 0
