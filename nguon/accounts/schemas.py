from datetime import datetime

from ninja import Field

from nguon.core.schemas import Schema


class GrantOut(Schema):
    id: int
    role: str
    unit_code: str = Field(..., alias="unit.code")
    granted_at: datetime
    revoked_at: datetime | None


class UserOut(Schema):
    id: int
    username: str
    full_name: str
    email: str
    unit_code: str | None
    is_active: bool

    @staticmethod
    def resolve_unit_code(obj) -> str | None:
        return obj.unit.code if obj.unit_id else None


class MeOut(UserOut):
    grants: list[GrantOut]
    two_factor_verified: bool

    @staticmethod
    def resolve_grants(obj):
        return obj.active_grants()

    @staticmethod
    def resolve_two_factor_verified(obj) -> bool:
        return bool(obj.is_verified())


class UserIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=256)
    unit_code: str
    full_name: str = Field("", max_length=150)
    email: str = Field("", max_length=254)


class GrantIn(Schema):
    user_id: int
    role: str
    unit_code: str
