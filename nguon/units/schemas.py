from datetime import date

from ninja import Field

from nguon.core.schemas import Schema


class UnitOut(Schema):
    code: str
    name: str
    name_en: str
    type: str = Field(..., alias="unit_type.slug")
    type_name: str = Field(..., alias="unit_type.name")
    parent_code: str | None
    path: str
    valid_from: date | None
    valid_to: date | None

    @staticmethod
    def resolve_parent_code(obj) -> str | None:
        return obj.parent.code if obj.parent_id else None


class UnitPatch(Schema):
    name: str | None = Field(None, max_length=200)
    name_en: str | None = Field(None, max_length=200)


class OrganisationOut(Schema):
    id: int
    name: str
    short_name: str
    kind: str
    unit_code: str = Field(..., alias="unit.code")
    email: str
    phone: str
    is_active: bool


class OrganisationIn(Schema):
    name: str = Field(..., max_length=255)
    kind: str
    short_name: str = Field("", max_length=60)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=30)
