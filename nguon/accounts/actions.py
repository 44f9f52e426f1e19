"""State changes on accounts: each owns its transaction and writes its audit row."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from nguon.accounts.access import require
from nguon.accounts.models import RoleGrant, User
from nguon.accounts.roles import Capability, Role
from nguon.audit.actions import record_event
from nguon.core.errors import Conflict, Invalid
from nguon.units.models import Organisation, Unit


def do_create_user(
    *,
    username: str,
    password: str,
    unit: Unit,
    acting_user: User | None,
    full_name: str = "",
    email: str = "",
    organisation: Organisation | None = None,
) -> User:
    """Create an account in `unit`; `acting_user` None means the system itself (commands, demo)."""
    if acting_user is not None:
        require(acting_user, Capability.MANAGE_USERS, unit)
    username = User.normalize_username(username.strip())
    errors: dict[str, list] = {}
    if not username:
        errors["username"] = [_("Enter a username.")]
    else:
        try:
            User.username_validator(username)
        except ValidationError:
            errors["username"] = [_("Use letters, digits and . @ + - _ only.")]
    if organisation is not None and organisation.unit_id != unit.pk:
        errors["organisation"] = [_("The organisation does not belong to this unit.")]
    candidate = User(username=username, full_name=full_name, email=email)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise Invalid(_("The account could not be created."), fields=errors)
    with transaction.atomic():
        # Case-insensitive: "NguyenVanA" and "nguyenvana" are the same person to a human.
        if _username_taken(username):
            raise Conflict(
                _("The username “%(username)s” is already taken.") % {"username": username},
                code="username_taken",
                fields={"username": [_("This username is already taken.")]},
            )
        user = User(username=username, full_name=full_name, email=email, unit=unit, organisation=organisation)
        user.set_password(password)
        user.save()
        record_event(
            "accounts.user_created",
            actor=acting_user,
            obj=user,
            changes={"username": username, "unit": unit.code, "full_name": full_name},
        )
    return user


def _username_taken(username: str) -> bool:
    """Case-insensitive for every letter: SQLite's LIKE (and PostgreSQL's upper() under a C locale) folds ASCII only."""
    if User.objects.filter(username__iexact=username).exists():
        return True
    if username.isascii():
        return False
    folded = username.casefold()
    return any(name.casefold() == folded for name in User.objects.values_list("username", flat=True).iterator())


def do_grant_role(user: User, *, role: str, unit: Unit, acting_user: User | None) -> RoleGrant:
    """Grant `role` on `unit` (and so its subtree); the granter must manage users on that unit."""
    if role not in Role.values:
        raise Invalid(_("Unknown role."), fields={"role": [_("Choose one of the listed roles.")]})
    if acting_user is not None:
        require(acting_user, Capability.MANAGE_USERS, unit)
    with transaction.atomic():
        if RoleGrant.objects.active().filter(user=user, role=role, unit=unit).exists():
            raise Conflict(_("This user already holds this role on this unit."), code="grant_exists")
        grant = RoleGrant.objects.create(user=user, role=role, unit=unit, granted_by=acting_user)
        record_event(
            "accounts.role_granted",
            actor=acting_user,
            obj=grant,
            unit=unit,
            changes={"user": user.username, "role": role, "unit": unit.code},
        )
    return grant


def do_revoke_role(grant: RoleGrant, *, acting_user: User | None) -> RoleGrant:
    if acting_user is not None:
        require(acting_user, Capability.MANAGE_USERS, grant.unit)
    with transaction.atomic():
        updated = RoleGrant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=acting_user
        )
        if not updated:
            raise Conflict(_("This role has already been revoked."), code="grant_revoked")
        grant.refresh_from_db()
        record_event(
            "accounts.role_revoked",
            actor=acting_user,
            obj=grant,
            unit=grant.unit,
            changes={"user": grant.user.username, "role": grant.role, "unit": grant.unit.code},
        )
    return grant


def do_start_totp_setup(user: User) -> TOTPDevice:
    """Return the user's pending (unconfirmed) TOTP device, creating one if needed."""
    with transaction.atomic():
        device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    return device


def do_confirm_totp_setup(request, user: User, token: str) -> TOTPDevice:
    """Confirm the pending device with a first code and mark this session as verified."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        raise Invalid(_("There is no pending authenticator to confirm."), code="no_pending_device")
    if not device.verify_token(_clean_token(token)):
        raise Invalid(
            _("The code is wrong or has expired. Enter the 6 digits your app shows now."),
            code="wrong_otp",
            fields={"token": [_("Wrong or expired code.")]},
        )
    with transaction.atomic():
        # One authenticator per user: the new one replaces any earlier one.
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        record_event("accounts.totp_enrolled", actor=user, obj=user)
    otp_login(request, device)
    return device


def do_verify_totp(request, user: User, token: str) -> TOTPDevice:
    """Check a sign-in code against the user's confirmed device and mark the session verified."""
    token = _clean_token(token)
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        allowed, _info = device.verify_is_allowed()
        if not allowed:
            with transaction.atomic():
                record_event("accounts.totp_throttled", actor=user, obj=user)
            raise Invalid(
                _("Too many wrong codes. Wait a moment and try again."),
                code="otp_throttled",
                fields={"token": [_("Too many attempts.")]},
            )
        if device.verify_token(token):
            otp_login(request, device)
            with transaction.atomic():
                record_event("accounts.totp_verified", actor=user, obj=user)
            return device
        if _already_used(device, token):
            with transaction.atomic():
                record_event("accounts.totp_reused", actor=user, obj=user)
            message = _("This code has already been used. Wait until your app shows a new code, then enter that one.")
            raise Invalid(message, code="otp_reused", fields={"token": [message]})
    with transaction.atomic():
        record_event("accounts.totp_failed", actor=user, obj=user)
    raise Invalid(
        _("The code is wrong or has expired. Enter the 6 digits your app shows now."),
        code="wrong_otp",
        fields={"token": [_("Wrong or expired code.")]},
    )


def _clean_token(token: str) -> str:
    return "".join(ch for ch in (token or "") if ch.isdigit())


def _already_used(device: TOTPDevice, token: str) -> bool:
    """Whether `token` is a right code that was already accepted (django-otp refuses a step twice, silently)."""
    if not token.isdigit():
        return False
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    # Right now, but at or before the last accepted step: a replay, not a typing mistake.
    return totp.verify(int(token), device.tolerance) and totp.t() <= device.last_t


def _require_manager(acting_user: User, target: User) -> None:
    require(acting_user, Capability.MANAGE_USERS, target.unit)
    if acting_user.pk == target.pk:
        raise Conflict(_("You cannot do this to your own account."), code="own_account")


def _end_sessions(user: User) -> None:
    """Every session of the user stops matching (see User._get_session_auth_hash)."""
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    user.refresh_from_db(fields=["session_epoch"])


def do_deactivate_user(target: User, *, acting_user: User, reason: str = "") -> User:
    """Switch an account off: it can no longer sign in, and its open sessions end now."""
    _require_manager(acting_user, target)
    with transaction.atomic():
        if not User.objects.filter(pk=target.pk, is_active=True).update(is_active=False):
            raise Conflict(_("This account is already deactivated."), code="already_inactive")
        target.is_active = False
        _end_sessions(target)
        record_event(
            "accounts.user_deactivated",
            actor=acting_user,
            obj=target,
            changes={"username": target.username, **({"reason": reason} if reason else {})},
        )
    return target


def do_reactivate_user(target: User, *, acting_user: User) -> User:
    """Let a deactivated account sign in again (its old sessions stay ended)."""
    _require_manager(acting_user, target)
    with transaction.atomic():
        if not User.objects.filter(pk=target.pk, is_active=False).update(is_active=True):
            raise Conflict(_("This account is already active."), code="already_active")
        target.is_active = True
        record_event("accounts.user_reactivated", actor=acting_user, obj=target, changes={"username": target.username})
    return target


def do_reset_totp(target: User, *, acting_user: User) -> int:
    """Remove the user's authenticators (a lost phone); they set up a new one at the next sign-in.

    Their sessions end too: one verified by the old authenticator must not outlive it."""
    _require_manager(acting_user, target)
    with transaction.atomic():
        count, _deleted = TOTPDevice.objects.filter(user=target).delete()
        _end_sessions(target)
        record_event(
            "accounts.totp_reset", actor=acting_user, obj=target, changes={"username": target.username, "count": count}
        )
    return count


def do_record_password_reset(user: User) -> None:
    """Audit a password set through an e-mailed link (the form has already saved it)."""
    with transaction.atomic():
        record_event("accounts.password_reset", actor=user, obj=user)
