"""Who sees which bulletins: their own units' subtree, plus live bulletins from above or aimed at them."""

from __future__ import annotations

import copy

from django.db.models import Q

from nguon.accounts.access import EVERYWHERE, can, grant_paths, require, scope_to_user
from nguon.accounts.roles import Capability
from nguon.content.models import Bulletin, MediaAsset
from nguon.core.errors import NotFound


def _ancestor_paths(paths: list[str]) -> set[str]:
    """Every strict ancestor path of the given unit paths ("75/26068/" → {"75/"})."""
    found = set()
    for path in paths:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            found.add("/".join(parts[:depth]) + "/")
    return found


def bulletins_for_user(user):
    paths = grant_paths(user, Capability.VIEW)
    base = Bulletin.objects.select_related("owner_unit", "category", "author")
    if not paths:
        return base.none()
    if EVERYWHERE in paths:
        return base
    own = Q()
    targeted = Q()
    for path in paths:
        own |= Q(owner_unit__path__startswith=path)
        targeted |= Q(published_revision__targets__path__startswith=path)
    from_above = Q(owner_unit__path__in=_ancestor_paths(paths))
    live_ids = Bulletin.objects.live().filter(from_above | targeted).values("pk")
    return base.filter(own | Q(pk__in=live_ids))


def get_bulletin_for_user(user, bulletin_id: int, capability: Capability = Capability.VIEW) -> Bulletin:
    """Return the bulletin, 404 when the user cannot see it, 403 when they lack `capability` on its unit."""
    bulletin = bulletins_for_user(user).filter(pk=bulletin_id).first()
    if bulletin is None:
        raise NotFound()
    if capability != Capability.VIEW:
        require(user, capability, bulletin.owner_unit)
    return bulletin


def presented_for(user, bulletin: Bulletin) -> Bulletin:
    """The bulletin as `user` may read it. Inside the issuing unit's subtree: as it stands (current revision). From
    above or as a target, only its published revision: a later revision awaiting approval is still a draft."""
    if can(user, Capability.VIEW, bulletin.owner_unit) or bulletin.published_revision_id is None:
        return bulletin
    published = bulletin.published_revision
    if published.pk == bulletin.current_revision_id:
        return bulletin
    shown = copy.copy(bulletin)  # a copy for display only, never saved
    shown.current_revision = published
    for name in ("title", "category", "priority", "language"):
        setattr(shown, name, getattr(published, name))
    return shown


def media_for_user(user):
    return scope_to_user(MediaAsset.objects.select_related("unit", "category"), user)


def library_for_user(user):
    """The library files a user may choose (attach, schedule): generated audio is never one of them."""
    return media_for_user(user).library()


def get_media_for_user(user, sha256: str) -> MediaAsset:
    asset = media_for_user(user).filter(sha256=sha256).first()
    if asset is None:
        # An attachment of a published revision the user can read (a province bulletin in a commune's repository).
        published = bulletins_for_user(user).live().values("published_revision")
        asset = MediaAsset.objects.filter(sha256=sha256, revisions__in=published).first()
    if asset is None:
        raise NotFound()
    return asset
