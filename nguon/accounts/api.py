from ninja import Router, Status
from ninja.pagination import LimitOffsetPagination, paginate

from nguon.accounts import actions
from nguon.accounts.access import get_unit_for_user, get_user_for_user, users_for_user
from nguon.accounts.models import RoleGrant
from nguon.accounts.roles import Capability
from nguon.accounts.schemas import GrantIn, GrantOut, MeOut, UserIn, UserOut
from nguon.core.errors import NotFound
from nguon.core.schemas import ERRORS

router = Router(tags=["accounts"])


@router.get("/me", response=MeOut)
def me(request):
    return request.auth


@router.get("/users", response=list[UserOut])
@paginate(LimitOffsetPagination)
def list_users(request):
    """Accounts in units the caller manages."""
    return users_for_user(request.auth, Capability.MANAGE_USERS)


@router.post("/users", response={201: UserOut, **ERRORS})
def create_user(request, payload: UserIn):
    unit = get_unit_for_user(request.auth, payload.unit_code, Capability.MANAGE_USERS)
    user = actions.do_create_user(
        username=payload.username,
        password=payload.password,
        unit=unit,
        full_name=payload.full_name,
        email=payload.email,
        acting_user=request.auth,
    )
    return Status(201, user)


@router.get("/users/{user_id}/grants", response={200: list[GrantOut], **ERRORS})
def list_grants(request, user_id: int):
    target = get_user_for_user(request.auth, user_id, Capability.MANAGE_USERS)
    return RoleGrant.objects.filter(user=target).select_related("unit")


@router.post("/grants", response={201: GrantOut, **ERRORS})
def create_grant(request, payload: GrantIn):
    target = get_user_for_user(request.auth, payload.user_id, Capability.MANAGE_USERS)
    unit = get_unit_for_user(request.auth, payload.unit_code, Capability.MANAGE_USERS)
    return Status(201, actions.do_grant_role(target, role=payload.role, unit=unit, acting_user=request.auth))


@router.post("/grants/{grant_id}/revoke", response={200: GrantOut, **ERRORS})
def revoke_grant(request, grant_id: int):
    grant = RoleGrant.objects.select_related("unit", "user").filter(pk=grant_id).first()
    if grant is None or not users_for_user(request.auth, Capability.MANAGE_USERS).filter(pk=grant.user_id).exists():
        raise NotFound()
    return actions.do_revoke_role(grant, acting_user=request.auth)


@router.post("/users/{user_id}/deactivate", response={200: UserOut, **ERRORS})
def deactivate_user(request, user_id: int):
    """Switch the account off; its sessions end at once."""
    target = get_user_for_user(request.auth, user_id, Capability.MANAGE_USERS)
    return actions.do_deactivate_user(target, acting_user=request.auth)


@router.post("/users/{user_id}/reactivate", response={200: UserOut, **ERRORS})
def reactivate_user(request, user_id: int):
    target = get_user_for_user(request.auth, user_id, Capability.MANAGE_USERS)
    return actions.do_reactivate_user(target, acting_user=request.auth)


@router.post("/users/{user_id}/reset-totp", response={200: UserOut, **ERRORS})
def reset_user_totp(request, user_id: int):
    """Remove the user's authenticator (a lost phone); they set up a new one at the next sign-in."""
    target = get_user_for_user(request.auth, user_id, Capability.MANAGE_USERS)
    actions.do_reset_totp(target, acting_user=request.auth)
    return target
