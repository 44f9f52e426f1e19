"""The "share with the level above" button on a bulletin's page, drawn by the central app (content knows nothing
of it: its template only loads this tag)."""

from django import template

from nguon.accounts.access import can
from nguon.accounts.roles import Capability

register = template.Library()


@register.inclusion_tag("central/_share_button.html", takes_context=True)
def share_up_button(context, bulletin):
    from nguon.central.content_models import BulletinShare
    from nguon.central.up import has_parent
    from nguon.content.models import Bulletin, Source

    request = context.get("request")
    user = getattr(request, "user", None)
    show = (
        user is not None
        and bulletin.source == Source.LOCAL
        and bulletin.published_revision_id is not None
        and can(user, Capability.APPROVE_CONTENT, bulletin.owner_unit)
        and Bulletin.objects.live().filter(pk=bulletin.pk).exists()
        and has_parent()
    )
    shared = (
        BulletinShare.objects.filter(bulletin=bulletin, revision=bulletin.published_revision.number).first()
        if show
        else None
    )
    return {"show": show, "bulletin": bulletin, "shared": shared, "csrf_token": context.get("csrf_token")}
