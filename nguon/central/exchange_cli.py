"""What the `central_export` and `central_import` commands share: choosing the parent link."""

from __future__ import annotations

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from nguon.central.link_models import Link


def parent_link(name: str | None) -> Link:
    """The parent link named (by name or id), or the only one there is."""
    links = Link.objects.parents()
    if name:
        found = links.filter(pk=int(name)) if name.isdigit() else links.filter(name=name)
        link = found.first()
        if link is None:
            raise CommandError(_("No parent link named %(name)s.") % {"name": name})
        return link
    candidates = list(links.order_by("pk")[:2])
    if not candidates:
        raise CommandError(_("This system has no parent link. Add one first (the /central/ page)."))
    if len(candidates) > 1:
        raise CommandError(_("There are several parent links: name one with --link."))
    return candidates[0]
