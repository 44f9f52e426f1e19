"""`import_units`: loading a province's official units from the vietnam-provinces package or a file."""

from __future__ import annotations

import copy
import json
from io import StringIO
from pathlib import Path

import pytest
import vietnam_provinces
from django.core.management import CommandError, call_command
from django.utils import timezone

from nguon.audit.actions import verify_chain
from nguon.audit.models import AuditEvent
from nguon.core.errors import Invalid
from nguon.units.actions import do_import_units
from nguon.units.models import Unit
from nguon.units.sources import load_from_file, load_from_package, parse_provinces

pytestmark = pytest.mark.django_db


def package_document() -> list[dict]:
    return json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))


def dong_nai(document: list[dict]) -> dict:
    return next(p for p in document if p["code"] == 75)


def write(tmp_path: Path, document, name: str = "units.json") -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document, ensure_ascii=False), "utf-8")
    return path


def tree() -> list[tuple[str, str, str | None, str]]:
    return [
        (u.code, u.name, u.parent.code if u.parent_id else None, u.path)
        for u in Unit.objects.select_related("parent").order_by("code")
    ]


def run(*args: str) -> str:
    out = StringIO()
    call_command("import_units", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def imported_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="units.imported").order_by("seq"))


# --- from the package --------------------------------------------------------------------------


def test_import_province_75_from_the_package():
    output = run("--province", "75")

    assert Unit.objects.count() == 96
    province = Unit.objects.get(code="75")
    assert (province.name, province.parent, province.path, province.unit_type.slug) == ("Đồng Nai", None, "75/", "tinh")
    communes = Unit.objects.filter(parent=province)
    assert communes.count() == 95
    assert all(u.path == f"75/{u.code}/" for u in communes)
    assert {u.unit_type.slug for u in communes} == {"xa", "phuong"}
    bien_hoa = Unit.objects.get(code="26068")
    assert (bien_hoa.name, bien_hoa.name_folded, bien_hoa.parent_id) == (
        "Phường Biên Hòa",
        "phuong bien hoa",
        province.pk,
    )
    assert all(u.source == f"vietnam-provinces {vietnam_provinces.__version__}" for u in Unit.objects.all())
    assert Unit.objects.current().count() == 96
    assert "75" in output and "95" in output

    [event] = imported_events()
    assert event.unit == province
    assert event.channel == "cli:import_units"
    assert len(event.changes["created"]) == 96
    assert event.changes["updated"] == event.changes["retired"] == []


def test_second_import_changes_nothing():
    run("--province", "75")
    before = tree()
    events_before = AuditEvent.objects.count()
    updated_at = dict(Unit.objects.values_list("code", "updated_at"))

    report = do_import_units(load_from_package("75"))
    assert (report.created, report.updated, report.retired) == ([], [], [])
    assert report.unchanged == 96
    assert not report.changed

    output = run("--province", "75")  # returns normally: no change is not an error
    assert tree() == before
    assert dict(Unit.objects.values_list("code", "updated_at")) == updated_at  # nothing re-saved
    assert AuditEvent.objects.count() == events_before  # no "units.imported" without a change
    assert len(imported_events()) == 1
    assert "96" in output  # the unchanged count is reported
    assert "26068" not in output  # no code listed as created, updated or retired
    assert verify_chain(record=False).ok


def test_unknown_province_is_an_error_and_writes_nothing():
    with pytest.raises(CommandError) as info:
        run("--province", "99")
    assert "99" in str(info.value)
    assert Unit.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_dry_run_reports_but_writes_nothing():
    output = run("--province", "75", "--dry-run")
    assert "96" in output
    assert Unit.objects.count() == 0
    assert AuditEvent.objects.count() == 0

    report = do_import_units(load_from_package("75"), dry_run=True)
    assert len(report.created) == 96
    assert Unit.objects.count() == 0


def test_dry_run_on_an_existing_tree_writes_nothing(tmp_path):
    run("--province", "75")
    before, events = tree(), AuditEvent.objects.count()
    document = package_document()
    wards = dong_nai(document)["wards"]
    wards[0]["name"] = "Phường Đổi Tên"
    del wards[1]
    report = do_import_units(load_from_file(write(tmp_path, document), "75"), dry_run=True)
    assert report.updated == [str(wards[0]["code"])]
    assert len(report.retired) == 1
    run("--province", "75", "--file", str(write(tmp_path, document)), "--dry-run")
    assert tree() == before
    assert Unit.objects.current().count() == 96
    assert AuditEvent.objects.count() == events


# --- from a file -------------------------------------------------------------------------------


def test_import_from_a_file_in_the_package_format(tmp_path):
    path = write(tmp_path, [dong_nai(package_document())], "dong-nai.json")
    run("--province", "75", "--file", str(path))
    assert Unit.objects.count() == 96
    assert set(Unit.objects.values_list("source", flat=True)) == {"file dong-nai.json"}


def corrupt_documents() -> dict[str, object]:
    document = package_document()
    missing_name = copy.deepcopy(document)
    wards = dong_nai(missing_name)["wards"]
    del wards[len(wards) // 2]["name"]
    blank_name = copy.deepcopy(document)
    wards = dong_nai(blank_name)["wards"]
    wards[len(wards) // 2]["name"] = "   "
    duplicate = copy.deepcopy(document)
    wards = dong_nai(duplicate)["wards"]
    wards.append(dict(wards[3], name="Xã Trùng Mã"))
    province_code_reused = copy.deepcopy(document)
    wards = dong_nai(province_code_reused)["wards"]
    wards[10] = dict(wards[10], code=75)
    bad_code = copy.deepcopy(document)
    dong_nai(bad_code)["wards"][40]["code"] = "26A"
    bad_type = copy.deepcopy(document)
    dong_nai(bad_type)["wards"][50]["division_type"] = "thôn"
    no_wards = copy.deepcopy(document)
    dong_nai(no_wards)["wards"] = []
    return {
        "invalid_json": '[{"code": 75, "name": "Đồng Nai", "wards": [',
        "not_a_list": {"code": 75},
        "ward_missing_name": missing_name,
        "ward_blank_name": blank_name,
        "duplicate_code": duplicate,
        "ward_uses_province_code": province_code_reused,
        "non_numeric_code": bad_code,
        "unknown_division_type": bad_type,
        "no_wards": no_wards,
    }


@pytest.mark.parametrize("case", list(corrupt_documents()))
def test_corrupt_file_is_an_error_and_writes_nothing(tmp_path, case):
    run("--province", "75")
    before, events = tree(), AuditEvent.objects.count()
    path = write(tmp_path, corrupt_documents()[case])

    with pytest.raises(CommandError):
        run("--province", "75", "--file", str(path))

    assert Unit.objects.count() == 96
    assert tree() == before
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("case", ["invalid_json", "ward_missing_name", "duplicate_code"])
def test_corrupt_file_into_an_empty_database_writes_nothing(tmp_path, case):
    path = write(tmp_path, corrupt_documents()[case])
    with pytest.raises(CommandError):
        run("--province", "75", "--file", str(path))
    assert Unit.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError):
        run("--province", "75", "--file", str(tmp_path / "nope.json"))
    assert Unit.objects.count() == 0


def test_a_failure_during_writing_rolls_everything_back(monkeypatch):
    """Atomic: an error after some units were written leaves the database as it was."""
    import nguon.units.actions as actions

    run("--province", "75")
    before = tree()
    document = package_document()
    wards = dong_nai(document)["wards"]
    for ward in wards:
        ward["name"] += " (mới)"
    data = parse_provinces(document, "75", source="test")
    real_upsert, calls = actions._upsert, []

    def failing_upsert(code, **kwargs):
        calls.append(code)
        if len(calls) == 50:
            raise RuntimeError("disk full")
        return real_upsert(code, **kwargs)

    monkeypatch.setattr(actions, "_upsert", failing_upsert)
    with pytest.raises(RuntimeError):
        do_import_units(data)
    assert tree() == before
    assert len(imported_events()) == 1


# --- changes between lists ---------------------------------------------------------------------


def test_commune_gone_from_the_list_is_retired_not_deleted(tmp_path):
    run("--province", "75")
    document = package_document()
    wards = dong_nai(document)["wards"]
    gone = wards.pop(7)
    gone_code = str(gone["code"])
    renamed = wards[3]
    renamed_code, old_name = str(renamed["code"]), renamed["name"]
    renamed["name"] = "Phường Tên Mới"

    report = do_import_units(load_from_file(write(tmp_path, document), "75"))

    assert report.retired == [gone_code]
    assert report.updated == [renamed_code]
    assert report.created == []
    assert report.unchanged == 94

    retired = Unit.objects.get(code=gone_code)  # still there
    assert retired.valid_to == timezone.localdate()
    assert not retired.is_current()
    assert Unit.objects.count() == 96
    assert Unit.objects.current().count() == 95
    assert not Unit.objects.current().filter(code=gone_code).exists()

    unit = Unit.objects.get(code=renamed_code)
    assert (unit.name, unit.name_folded) == ("Phường Tên Mới", "phuong ten moi")
    assert unit.name != old_name

    event = imported_events()[-1]
    assert event.changes["retired"] == [gone_code]
    assert event.changes["updated"] == [renamed_code]
    assert event.changes["created"] == []
    assert verify_chain(record=False).ok

    # Importing the same list again changes nothing more (a retired unit stays retired).
    again = do_import_units(load_from_file(write(tmp_path, document), "75"))
    assert not again.changed
    assert Unit.objects.get(code=gone_code).valid_to == timezone.localdate()


def test_command_reports_retired_and_updated(tmp_path):
    run("--province", "75")
    document = package_document()
    wards = dong_nai(document)["wards"]
    gone_code = str(wards.pop(0)["code"])
    wards[0]["name"] = "Xã Đổi Tên"
    output = run("--province", "75", "--file", str(write(tmp_path, document)))
    assert gone_code in output
    assert str(wards[0]["code"]) in output


def test_commune_listed_again_is_back_in_force(tmp_path):
    run("--province", "75")
    document = package_document()
    full = write(tmp_path, document, "full.json")
    wards = dong_nai(document)["wards"]
    code = str(wards.pop(5)["code"])
    do_import_units(load_from_file(write(tmp_path, document, "short.json"), "75"))
    assert not Unit.objects.get(code=code).is_current()

    report = do_import_units(load_from_file(full, "75"))
    assert report.updated == [code]
    assert Unit.objects.get(code=code).valid_to is None
    assert Unit.objects.current().count() == 96


def test_new_commune_is_created(tmp_path):
    run("--province", "75")
    document = package_document()
    dong_nai(document)["wards"].append({"code": 99999, "name": "Đặc khu Thử", "division_type": "đặc khu"})
    report = do_import_units(load_from_file(write(tmp_path, document), "75"))
    assert report.created == ["99999"]
    unit = Unit.objects.get(code="99999")
    assert (unit.path, unit.unit_type.slug) == ("75/99999/", "dac-khu")


def test_commune_under_a_cluster_stays_there(tmp_path):
    """A province may place communes under an intermediate unit; re-importing keeps them there."""
    from nguon.units.actions import ensure_unit_types

    run("--province", "75")
    province = Unit.objects.get(code="75")
    cluster = Unit.objects.create(code="C1", name="Cụm 1", unit_type=ensure_unit_types()["cum"], parent=province)
    commune = Unit.objects.get(code="26068")
    commune.parent = cluster
    commune.save()

    report = do_import_units(load_from_package("75"))
    assert not report.changed
    commune.refresh_from_db()
    assert (commune.parent_id, commune.path) == (cluster.pk, "75/C1/26068/")
    assert Unit.objects.get(code="C1").is_current()  # not a commune type: never retired by an import


def test_renamed_province_is_updated(tmp_path):
    run("--province", "75")
    document = package_document()
    dong_nai(document)["name"] = "Tỉnh Đồng Nai"
    report = do_import_units(load_from_file(write(tmp_path, document), "75"))
    assert report.updated == ["75"]
    assert Unit.objects.get(code="75").name == "Tỉnh Đồng Nai"
    assert all(u.path.startswith("75/") for u in Unit.objects.all())


def test_parse_errors_are_invalid_with_a_code():
    with pytest.raises(Invalid) as info:
        parse_provinces(package_document(), "99", source="x")
    assert info.value.code == "unknown_province"
    with pytest.raises(Invalid) as info:
        parse_provinces({"not": "a list"}, "75", source="x")
    assert info.value.code == "bad_units_file"
