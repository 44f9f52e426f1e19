"""Labels of the accounts app's audit actions (see nguon/audit/labels.py)."""

from django.utils.translation import gettext_lazy as _

from nguon.accounts.roles import Role
from nguon.audit.labels import Field, register

register(
    "accounts",
    actions={
        "accounts.login": _("Signed in"),
        "accounts.logout": _("Signed out"),
        "accounts.login_failed": _("Failed sign-in"),
        "accounts.locked_out": _("Locked out after failed sign-ins"),
        "accounts.user_created": _("Account created"),
        "accounts.role_granted": _("Role granted"),
        "accounts.role_revoked": _("Role revoked"),
        "accounts.totp_enrolled": _("Authenticator app set up"),
        "accounts.totp_verified": _("Two-factor code accepted"),
        "accounts.totp_failed": _("Wrong two-factor code"),
        "accounts.totp_throttled": _("Two-factor attempts throttled"),
        "accounts.totp_reused": _("Two-factor code used twice"),
        "accounts.totp_reset": _("Two-factor authentication reset"),
        "accounts.user_deactivated": _("Account deactivated"),
        "accounts.user_reactivated": _("Account reactivated"),
        "accounts.password_reset": _("Password set through an e-mailed link"),
    },
    fields={"role": Field(_("Role"), values=Role)},
)
