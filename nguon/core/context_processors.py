from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import covers_everything, grant_paths, is_root_admin
from nguon.accounts.roles import Capability

ROOT_ADMIN = "root_admin"  # the link with the central system is managed by administrators of the whole tree

# (label, url name or None for apps still to come, capability needed)
NAVIGATION = [
    (_("Overview"), "core:dashboard", Capability.VIEW),
    (_("Units"), "units:list", Capability.VIEW),
    (_("Accounts"), "accounts:user_list", Capability.MANAGE_USERS),
    (_("Audit log"), "audit:list", Capability.VIEW_AUDIT),
    (_("Bulletins"), "content:list", Capability.VIEW),
    (_("Media library"), "content:media_list", Capability.EDIT_CONTENT),
    (_("Devices"), "broadcast:fleet", Capability.VIEW),
    (_("Schedules"), "schedules:index", Capability.VIEW),
    (_("Alerts"), "alerts:list", Capability.VIEW),
    (_("Feedback"), "feedback:list", Capability.VIEW),
    (_("Reports"), "reports:catalogue", Capability.VIEW),
    (_("Central link"), "central:links", ROOT_ADMIN),
]


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    items = []
    for label, url_name, capability in NAVIGATION:
        if capability == ROOT_ADMIN:
            if not is_root_admin(user):
                continue
        elif not grant_paths(user, capability):
            continue
        url = reverse(url_name) if url_name else None
        items.append(
            {"label": label, "url": url, "active": bool(url) and _is_active(request.path, url), "soon": url is None}
        )
    return {"nav_items": items, "audit_alarm": _audit_alarm(user)}


def _is_active(path: str, url: str) -> bool:
    return path == url if url == "/" else path.startswith(url)


def _audit_alarm(user):
    """The latest chain check, when it failed and the user is responsible for the whole log."""
    from nguon.audit.models import AuditCheck

    if not covers_everything(user, Capability.VIEW_AUDIT):
        return None
    latest = AuditCheck.objects.order_by("-id").first()
    return latest if latest is not None and not latest.ok else None
