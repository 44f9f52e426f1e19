"""State changes of the central link: pairing codes, pairing with a parent, suspending and resuming a link."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from nguon.audit.actions import record_event
from nguon.central import pairing
from nguon.central.federation import client
from nguon.central.link_models import Link
from nguon.core.errors import Conflict, Invalid


def do_create_pairing_code(name: str, *, acting_user) -> tuple[Link, str]:
    """Create a pending link for a named child and a one-time code for it; the code is returned once, here."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise Invalid(
            _("Enter the child's name (at most 200 characters)."), code="name", fields={"name": [_("Required.")]}
        )
    with transaction.atomic():
        link = Link.objects.create(role=Link.Role.CHILD, name=name, created_by=acting_user)
        code = pairing.issue_code(link, acting_user=acting_user)
        record_event("central.pairing_code_created", actor=acting_user, obj=link, changes={"name": name})
    return link, code


def do_pair_with_parent(base_url: str, code: str, *, acting_user, name: str = "") -> Link:
    """Present a parent's one-time code with our key, pin the parent's key, and start the link."""
    base_url = (base_url or "").strip().rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise Invalid(_("Enter the parent's address, starting with http:// or https://."), code="url")
    if not (code or "").strip():
        raise Invalid(_("Enter the pairing code."), code="code")
    if Link.objects.parents().exclude(state=Link.State.PENDING).exists():
        raise Conflict(_("This instance already has a parent."), code="already_paired")
    try:
        client.check_url(base_url)
        peer = pairing.request(base_url, code)
    except client.PeerError as exc:
        raise Invalid(_("Pairing failed: %(reason)s") % {"reason": exc}, code="pairing_failed") from None
    with transaction.atomic():
        if Link.objects.filter(peer_instance_id=peer["instance_id"]).exists():
            raise Conflict(_("This instance is already paired with us."), code="already_paired")
        link = Link.objects.create(
            role=Link.Role.PARENT,
            name=(name or peer["name"])[:200],
            base_url=base_url,
            peer_instance_id=peer["instance_id"],
            peer_public_key=peer["public_key"],
            peer_unit_code=peer["unit_code"][:20],
            state=Link.State.ACTIVE,
            created_by=acting_user,
        )
        record_event(
            "central.paired",
            actor=acting_user,
            obj=link,
            changes={"base_url": base_url, "peer_instance_id": link.peer_instance_id},
        )
    return link


def do_suspend_link(link: Link, *, acting_user) -> Link:
    return _set_state(link, Link.State.SUSPENDED, acting_user, "central.link_suspended")


def do_resume_link(link: Link, *, acting_user) -> Link:
    return _set_state(link, Link.State.ACTIVE, acting_user, "central.link_resumed")


def _set_state(link: Link, state: str, acting_user, action: str) -> Link:
    with transaction.atomic():
        locked = Link.objects.select_for_update().get(pk=link.pk)
        if locked.state == Link.State.PENDING:
            raise Conflict(_("This link is not paired yet."), code="pending")
        if locked.state != state:
            previous = locked.state
            locked.state = state
            # A resumed link is tried at once, not at the end of a backoff pause.
            locked.failures, locked.next_attempt_at = 0, None
            locked.save(update_fields=["state", "failures", "next_attempt_at"])
            if action == "central.link_suspended":
                record_event(
                    "central.link_suspended", actor=acting_user, obj=locked, changes={"state": [previous, state]}
                )
            else:
                record_event(
                    "central.link_resumed", actor=acting_user, obj=locked, changes={"state": [previous, state]}
                )
    return locked
