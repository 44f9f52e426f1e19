"""The parent's side: what it sends down to its children when a bulletin is published or a CAP alert issued.

Connected to the content and alerts apps' signals (sent after commit), so those apps never import this one. Each
message is queued in its own transaction with an idempotency key per bulletin version or alert: a signal handled
twice (a retry, two workers) queues it once. Bulletins that came from above are not sent further down here: a
province passes its own bulletins to its children, the centre's reach them through their own chain.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver

from nguon.alerts.signals import alert_issued
from nguon.content.actions import bulletin_published

log = logging.getLogger(__name__)


def _active_children() -> bool:
    from nguon.central.link_models import Link

    # Suspended links keep queueing (the outbox's own rule): they catch up when resumed.
    return Link.objects.children().filter(state__in=[Link.State.ACTIVE, Link.State.SUSPENDED]).exists()


def send_bulletin_down(bulletin) -> bool:
    """Queue a published bulletin for every child link (once per published revision); True when queued."""
    from nguon.central import outbox
    from nguon.central.ninjs import bulletin_body
    from nguon.content.models import Bulletin, Source

    bulletin = Bulletin.objects.select_related("owner_unit", "published_revision").get(pk=bulletin.pk)
    if bulletin.source != Source.LOCAL or bulletin.published_revision is None or not _active_children():
        return False
    body = bulletin_body(bulletin)
    key = f"bulletin:{body['item']['uri']}:{bulletin.published_revision.number}"
    with transaction.atomic():
        outbox.enqueue("bulletin", body, key=key)
    return True


def send_alert_down(alert) -> bool:
    """Queue an issued CAP alert for every child link (once per alert); True when queued."""
    from nguon.alerts.export import cap_xml
    from nguon.central import outbox

    if not _active_children():
        return False
    body = {"cap_xml": cap_xml(alert).decode("utf-8"), "identifier": alert.identifier, "sender": alert.sender}
    with transaction.atomic():
        outbox.enqueue("alert", body, key=f"alert:{alert.sender}:{alert.identifier}")
    return True


# Sent after the publisher's commit: an error here must not turn a published bulletin or an issued alert into an
# error page (and the receivers after this one must still run). It is logged; publishing the bulletin again, or
# the next version, queues it (the key is per version).
@receiver(bulletin_published, dispatch_uid="central_bulletin_down")
def _on_bulletin_published(sender, bulletin, **kwargs):
    try:
        send_bulletin_down(bulletin)
    except Exception:
        log.exception("central: bulletin %s could not be queued for the child instances", bulletin.pk)


@receiver(alert_issued, dispatch_uid="central_alert_down")
def _on_alert_issued(sender, alert, **kwargs):
    try:
        send_alert_down(alert)
    except Exception:
        log.exception("central: alert %s could not be queued for the child instances", alert.pk)
