from nguon.accounts.access import EVERYWHERE, covers_everything, grant_paths
from nguon.accounts.roles import Capability
from nguon.audit.models import AuditEvent


def events_for_user(user):
    """Audit events the user may read (their subtrees; system-wide rows only for province-wide readers), or None."""
    paths = grant_paths(user, Capability.VIEW_AUDIT)
    if not paths:
        return None
    if EVERYWHERE in paths:
        return AuditEvent.objects.all()
    return AuditEvent.objects.within_paths(paths, include_unscoped=covers_everything(user, Capability.VIEW_AUDIT))
