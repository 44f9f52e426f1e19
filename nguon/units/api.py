from ninja import Query, Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from nguon.accounts.access import get_unit_for_user, organisations_for_user, units_for_user
from nguon.accounts.roles import Capability
from nguon.core.schemas import ERRORS, Schema
from nguon.units import actions
from nguon.units.schemas import OrganisationIn, OrganisationOut, UnitOut, UnitPatch

router = Router(tags=["units"])


class UnitFilter(Schema):
    q: str = ""
    type: str = ""
    parent: str = ""
    include_retired: bool = False


@router.get("/", response=list[UnitOut])
@paginate(LimitOffsetPagination)
def list_units(request, filters: Query[UnitFilter]):
    """Units in the caller's subtrees."""
    units = units_for_user(request.auth).select_related("parent").search(filters.q)
    if filters.type:
        units = units.filter(unit_type__slug=filters.type)
    if filters.parent:
        units = units.filter(parent__code=filters.parent)
    if not filters.include_retired:
        units = units.current()
    return units.order_by("path")


@router.get("/{code}", response={200: UnitOut, **ERRORS})
def get_unit(request, code: str):
    return get_unit_for_user(request.auth, code)


@router.patch("/{code}", response={200: UnitOut, **ERRORS})
def update_unit(request, code: str, payload: UnitPatch):
    unit = get_unit_for_user(request.auth, code, Capability.MANAGE_UNITS)
    return actions.do_update_unit(unit, acting_user=request.auth, **payload.dict(exclude_unset=True))


@router.get("/{code}/organisations", response={200: list[OrganisationOut], **ERRORS})
def list_organisations(request, code: str):
    unit = get_unit_for_user(request.auth, code)
    return organisations_for_user(request.auth).filter(unit=unit)


@router.post("/{code}/organisations", response={201: OrganisationOut, **ERRORS})
def create_organisation(request, code: str, payload: OrganisationIn):
    unit = get_unit_for_user(request.auth, code, Capability.MANAGE_UNITS)
    return Status(201, actions.do_create_organisation(unit, acting_user=request.auth, **payload.dict()))
