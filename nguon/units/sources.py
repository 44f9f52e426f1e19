"""Official unit lists: read from the `vietnam-provinces` package or a file in its nested JSON format."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.utils.translation import gettext as _

from nguon.core.errors import Invalid

# The package's division types, mapped to our UnitType slugs.
DIVISION_TYPES = {
    "tỉnh": "tinh",
    "thành phố trung ương": "thanh-pho-tw",
    "xã": "xa",
    "phường": "phuong",
    "đặc khu": "dac-khu",
}

# (slug, Vietnamese name, English name, level). Intermediate levels are for provinces that want them.
DEFAULT_UNIT_TYPES = [
    ("tinh", "Tỉnh", "Province", 1),
    ("thanh-pho-tw", "Thành phố trực thuộc trung ương", "Centrally governed city", 1),
    ("huyen", "Huyện (trước 2025)", "District (before 2025)", 2),
    ("cum", "Cụm xã", "Commune cluster", 2),
    ("xa", "Xã", "Commune", 3),
    ("phuong", "Phường", "Ward", 3),
    ("dac-khu", "Đặc khu", "Special zone", 3),
]


@dataclass(frozen=True)
class DivisionData:
    code: str
    name: str
    type_slug: str


@dataclass(frozen=True)
class ProvinceData:
    province: DivisionData
    wards: list[DivisionData]
    source: str


def _division(raw: object, where: str) -> DivisionData:
    if not isinstance(raw, dict):
        raise Invalid(_("%(where)s is not an object.") % {"where": where}, code="bad_units_file")
    code, name, kind = raw.get("code"), raw.get("name"), raw.get("division_type")
    if not isinstance(code, int | str) or not str(code).strip().isdigit():
        raise Invalid(_("%(where)s has no valid numeric code.") % {"where": where}, code="bad_units_file")
    if not isinstance(name, str) or not name.strip():
        raise Invalid(
            _("%(where)s (code %(code)s) has no name.") % {"where": where, "code": code}, code="bad_units_file"
        )
    if kind not in DIVISION_TYPES:
        raise Invalid(
            _("%(where)s (code %(code)s) has an unknown division type: %(kind)s.")
            % {"where": where, "code": code, "kind": kind},
            code="bad_units_file",
        )
    return DivisionData(code=str(int(str(code).strip())), name=name.strip(), type_slug=DIVISION_TYPES[kind])


def parse_provinces(document: object, province_code: str, source: str) -> ProvinceData:
    """Validate a nested-divisions document and return one province from it."""
    if not isinstance(document, list):
        raise Invalid(_("The units file must hold a list of provinces."), code="bad_units_file")
    wanted = str(province_code).strip()
    for index, raw in enumerate(document):
        if isinstance(raw, dict) and str(raw.get("code", "")).strip() == wanted:
            province = _division(raw, _("Province #%(n)d") % {"n": index + 1})
            wards_raw = raw.get("wards")
            if not isinstance(wards_raw, list) or not wards_raw:
                raise Invalid(_("Province %(code)s lists no communes.") % {"code": wanted}, code="bad_units_file")
            wards = [_division(w, _("Commune #%(n)d") % {"n": i + 1}) for i, w in enumerate(wards_raw)]
            seen: set[str] = set()
            for ward in wards:
                if ward.code in seen or ward.code == province.code:
                    raise Invalid(_("Code %(code)s appears twice.") % {"code": ward.code}, code="bad_units_file")
                seen.add(ward.code)
            return ProvinceData(province=province, wards=wards, source=source)
    raise Invalid(_("Unknown province code: %(code)s.") % {"code": wanted}, code="unknown_province")


def load_from_package(province_code: str) -> ProvinceData:
    import vietnam_provinces

    document = json.loads(vietnam_provinces.NESTED_DIVISIONS_JSON_PATH.read_text(encoding="utf-8"))
    return parse_provinces(document, province_code, source=f"vietnam-provinces {vietnam_provinces.__version__}")


def load_from_file(path: Path, province_code: str) -> ProvinceData:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Invalid(_("File not found: %(path)s.") % {"path": path}, code="file_not_found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Invalid(
            _("The units file is not valid JSON: %(error)s.") % {"error": exc}, code="bad_units_file"
        ) from None
    return parse_provinces(document, province_code, source=f"file {Path(path).name}")
