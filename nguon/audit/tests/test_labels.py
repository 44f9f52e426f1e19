"""The audit log reads as Vietnamese for every action the code writes, and renders every stored shape.

The action codes come from the source itself (every `record_event(...)` call and `audit_action=` argument), so a
new action without a label fails here, not in front of an office.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

import nguon
from nguon.audit.actions import record_event
from nguon.audit.display import change_rows, event_row
from nguon.audit.labels import action_label, field_for
from nguon.audit.models import AuditEvent

SOURCE = Path(nguon.__file__).parent


def _strings(node) -> list[str]:
    """The literal strings an expression can take (a constant, either branch of `a if c else b`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def _dict_keys(node, assigned: dict[str, list[ast.AST]]) -> set[str]:
    """Literal keys of a `changes=` expression: dict literals, `**diff({...}, ...)` spreads, names assigned above."""
    keys: set[str] = set()
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                keys |= _dict_keys(value, assigned)
            else:
                keys |= set(_strings(key))
    elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "diff":
        for arg in node.args:
            keys |= _dict_keys(arg, assigned)
    elif isinstance(node, ast.IfExp):
        keys |= _dict_keys(node.body, assigned) | _dict_keys(node.orelse, assigned)
    elif isinstance(node, ast.Name):
        for value in assigned.get(node.id, []):
            keys |= _dict_keys(value, assigned)
    return keys


def source_actions() -> tuple[set[str], set[str], dict[str, set[str]]]:
    """(action codes, f-string code prefixes, {action: changes keys}) from every non-test module."""
    codes: set[str] = set()
    prefixes: set[str] = set()
    fields: dict[str, set[str]] = {}
    for path in SOURCE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
            assigned: dict[str, list[ast.AST]] = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Assign):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            assigned.setdefault(target.id, []).append(node.value)
                        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                            entry = ast.Dict(keys=[target.slice], values=[ast.Constant(None)])
                            assigned.setdefault(target.value.id, []).append(entry)
            for node in ast.walk(function):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                found: list[str] = []
                for keyword in node.keywords:
                    if keyword.arg == "audit_action":
                        found += _strings(keyword.value)
                if name == "record_event" and node.args:
                    first = node.args[0]
                    found += _strings(first)
                    if isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                        prefixes.add(first.values[0].value)
                    changes = next((k.value for k in node.keywords if k.arg == "changes"), None)
                    if changes is not None:
                        for code in _strings(first):
                            fields.setdefault(code, set()).update(_dict_keys(changes, assigned))
                codes.update(found)
    return codes, prefixes, fields


def test_the_source_scan_finds_the_known_actions():
    codes, prefixes, fields = source_actions()
    # The scan itself must work, or the checks below would pass on nothing.
    assert {"content.bulletin_approved", "accounts.login", "broadcast.slot_created", "alerts.issued"} <= codes
    assert "broadcast.command_" in prefixes
    assert {"slot", "items"} <= fields["broadcast.slot_created"]
    assert {"status", "revision", "title"} <= fields["content.bulletin_edited"]


def test_every_action_in_the_source_has_a_vietnamese_label():
    codes, prefixes, _fields = source_actions()
    with translation.override("vi"):
        missing = sorted(code for code in codes if not action_label(code)[1])
        assert missing == [], f"register labels in <app>/audit_labels.py for: {missing}"
        for prefix in prefixes:
            assert action_label(prefix + "anything")[1], f"no label covers actions starting {prefix!r}"


def test_every_changes_key_in_the_source_has_a_label():
    _codes, _prefixes, fields = source_actions()
    missing = sorted(f"{code}:{key}" for code, keys in fields.items() for key in keys if field_for(code, key) is None)
    assert missing == [], f"register field labels in <app>/audit_labels.py for: {missing}"


def _vietnamese_rows(events) -> list:
    with translation.override("vi"):
        return [event_row(e) for e in events]


SHAPES = [
    {"items": 3, "slot": "Sáng"},  # the row that broke the page: `changes.items` found the key
    {"keys": 1, "values": [1, 2], "get": None},
    {"status": ["draft", "submitted"], "revision": [1, 2]},
    {"hardware": {"model": "x" * 500, "nested": {"deep": {"deeper": [1, {"a": 2}]}}}},
    {"added": [f"D{n}" for n in range(100)]},
    {"<script>": "<b>bold</b>"},
    [1, 2, 3],
    "a bare string",
    42,
    None,
    {},
]


@pytest.mark.parametrize("changes", SHAPES)
def test_any_stored_shape_renders(cast, client_for, changes):
    event = record_event("test.any_shape", unit=cast.province, changes=changes)  # made-up keys: no label to find
    row = event_row(event)
    assert all(len(c.text) <= 200 for c in row.changes)
    response = client_for(cast.province_admin).get("/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<b>bold</b>" not in html
    if isinstance(changes, dict) and "<script>" in changes:
        assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_items_key_no_longer_breaks_the_page(cast, client_for):
    record_event("broadcast.slot_created", unit=cast.province, changes={"slot": "Sáng", "items": 2})
    response = client_for(cast.province_admin).get("/audit/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Tạo khung giờ phát" in html
    assert "Số mục</b>: 2" in html


def test_values_and_changes_are_translated():
    with translation.override("vi"):
        rows = {r.key: r for r in change_rows("content.bulletin_submitted", {"status": ["draft", "submitted"]})}
        assert rows["status"].label == "Trạng thái"
        assert rows["status"].text == "Bản nháp → Chờ phê duyệt"
        rows = {r.key: r for r in change_rows("accounts.role_granted", {"role": "approver", "user": "a"})}
        assert rows["role"].label == "Vai trò" and rows["role"].text == "Người phê duyệt (ban biên tập)"
        # A list that is not a change stays a list.
        rows = {r.key: r for r in change_rows("broadcast.group_updated", {"added": ["D1", "D2"]})}
        assert rows["added"].text == "D1, D2"


def test_an_unknown_action_and_field_fall_back_to_the_code():
    with translation.override("vi"):
        label, known = action_label("nowhere.never_registered")
        assert (label, known) == ("nowhere.never_registered", False)
        rows = change_rows("nowhere.never_registered", {"mystery": 1})
        assert rows[0].label == "mystery" and not rows[0].known


@pytest.fixture
def demo(db, settings, tmp_path):
    from django.core.management import call_command

    settings.MEDIA_ROOT = tmp_path
    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_demo_log_reads_in_vietnamese_on_every_page(demo, client_for, monkeypatch):
    """Every row the demo writes, on every page: labelled, no raw action code or field key."""
    from nguon.accounts.models import User
    from nguon.conftest import PASSWORD
    from nguon.core.demo import demo_usernames

    # Demo accounts have addresses, so password reset and notifications can be tried.
    emails = dict(User.objects.filter(username__in=demo_usernames()).values_list("username", "email"))
    assert emails and all(email == f"{name}@example.org" for name, email in emails.items())
    admin = User.objects.get(username="quantri")
    admin.set_password(PASSWORD)
    admin.save()
    client = client_for(admin)
    total = AuditEvent.objects.count()
    assert total > 30, "the demo writes a real log"
    monkeypatch.setattr("nguon.audit.views.PAGE_SIZE", 10)  # several pages, each rendered
    seen = 0
    page = 1
    codes = set(AuditEvent.objects.values_list("action", flat=True))
    while True:
        response = client.get("/audit/", {"page": page})
        assert response.status_code == 200
        rows = response.context["rows"]
        seen += len(rows)
        unknown = [(r.event.action, [c.key for c in r.changes if not c.known]) for r in rows if not r.known]
        assert unknown == []
        html = response.content.decode()
        for code in codes:
            assert re.search(rf">\s*{re.escape(code)}\s*<", html) is None, f"raw action code {code} shown"
        if not response.context["page"].has_next():
            break
        page += 1
    assert page > 3 and seen >= total


def test_the_action_filter_finds_rows_by_their_vietnamese_label(cast, client_for):
    record_event("units.unit_updated", unit=cast.commune, changes={"name": ["A", "B"]})
    record_event("broadcast.slot_removed", unit=cast.commune)
    client = client_for(cast.province_admin)
    for text in ("Đổi tên đơn vị", "doi ten don vi", "units.unit_up"):
        rows = client.get("/audit/", {"action": text}).context["rows"]
        assert [r.event.action for r in rows] == ["units.unit_updated"], text
        assert rows[0].changes[0].text == "A → B"
