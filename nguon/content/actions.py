"""Bulletin workflow: every step is an action that owns its transaction, history row and audit row."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import can, require
from nguon.accounts.roles import Capability
from nguon.audit.actions import diff, record_event
from nguon.content.models import Adoption, Bulletin, Category, Language, Priority, Revision, Status, WorkflowEvent
from nguon.content.text import has_words, plain, plain_title, safe_html
from nguon.core.errors import Conflict, Forbidden, Invalid
from nguon.core.validators import xml_text_problem
from nguon.lib.folding import fold
from nguon.units.models import Unit

MAX_TITLE = 300
MAX_BODY = 50_000
MAX_BOARD = 500

# Sent after commit; the broadcast app listens (schedules, manifests, push).
bulletin_published = Signal()
bulletin_withdrawn = Signal()
# Workflow steps other apps (notifications) react to; sent after commit with `bulletin` and `actor`
# (`comment` too for a return).
bulletin_submitted = Signal()
bulletin_returned = Signal()
bulletin_approved = Signal()


@dataclass
class BulletinData:
    """What an editor submits; cleaned and checked by `clean_bulletin_data`."""

    title: str
    body: str
    summary: str = ""
    category: Category | None = None
    priority: str = Priority.NORMAL
    language: str = Language.VI
    targets: list[Unit] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    spoken_text: str = ""
    board_text: str = ""
    web_html: str = ""
    publish_at: datetime | None = None
    expires_at: datetime | None = None
    attachments: list = field(default_factory=list)


def clean_text_fields(data: BulletinData) -> BulletinData:
    """Strip markup as a saved revision stores it (the editor's preview reads the same text)."""
    data.title = plain_title(data.title)
    data.summary = plain(data.summary)
    data.body = plain(data.body)
    data.spoken_text = plain(data.spoken_text)
    data.board_text = plain(data.board_text)
    data.web_html = safe_html(data.web_html)
    return data


def clean_bulletin_data(data: BulletinData, owner_unit: Unit) -> BulletinData:
    """Strip markup, check lengths, windows and targets; raise Invalid with every problem at once."""
    errors: dict[str, list] = {}
    for name in ("title", "summary", "body", "spoken_text", "board_text", "web_html"):
        # Imports and the API reach here without a form: text XML cannot carry is refused here too.
        problem = xml_text_problem(getattr(data, name) or "")
        if problem:
            errors[name] = [problem]
    if errors:
        raise Invalid(_("The bulletin has errors; nothing was saved."), fields=errors)
    clean_text_fields(data)
    if not data.title:
        errors["title"] = [_("Enter a title.")]
    elif len(data.title) > MAX_TITLE:
        errors["title"] = [_("The title is too long (at most %(n)s characters).") % {"n": MAX_TITLE}]
    if not data.body:
        errors["body"] = [_("Enter the content.")]
    elif len(data.body) > MAX_BODY:
        errors["body"] = [
            _("The content is too long: %(len)s characters, at most %(max)s.")
            % {"len": f"{len(data.body):,}".replace(",", "."), "max": f"{MAX_BODY:,}".replace(",", ".")}
        ]
    elif not has_words(data.body):
        errors["body"] = [_("The content has no words to read (only symbols or emoji).")]
    if data.spoken_text and not has_words(data.spoken_text):
        errors["spoken_text"] = [_("The loudspeaker text has no words to read.")]
    if len(data.spoken_text) > MAX_BODY:
        errors["spoken_text"] = [_("The loudspeaker text is too long.")]
    if len(data.board_text) > MAX_BOARD:
        errors["board_text"] = [_("The e-board text is too long (at most %(n)s characters).") % {"n": MAX_BOARD}]
    if data.priority not in Priority.values:
        errors["priority"] = [_("Choose one of the listed priority classes.")]
    if data.language not in Language.values:
        errors["language"] = [_("Choose one of the listed languages.")]
    if data.valid_from and data.valid_to and data.valid_to <= data.valid_from:
        errors["valid_to"] = [_("The end of validity must come after its start.")]
    if data.publish_at and data.expires_at and data.expires_at <= data.publish_at:
        errors["expires_at"] = [_("The expiry must come after the publication time.")]
    outside = [u for u in data.targets if not owner_unit.contains(u)]
    if outside:
        errors["targets"] = [
            _("These units are outside %(unit)s: %(names)s.")
            % {"unit": owner_unit.name, "names": ", ".join(u.name for u in outside)}
        ]
    if any(asset.is_generated for asset in data.attachments):
        # Rendered speech (of a draft, perhaps) is no library file: attached elsewhere it would skip approval.
        errors["attachments"] = [_("Rendered speech cannot be attached: it plays only through its own bulletin.")]
    if errors:
        raise Invalid(_("The bulletin has errors; nothing was saved."), fields=errors)
    return data


def _content_hash(data: BulletinData) -> str:
    payload = {
        "title": data.title,
        "summary": data.summary,
        "body": data.body,
        "category": data.category.pk if data.category else None,
        "priority": data.priority,
        "language": data.language,
        "targets": sorted(u.pk for u in data.targets),
        "valid_from": data.valid_from.isoformat() if data.valid_from else None,
        "valid_to": data.valid_to.isoformat() if data.valid_to else None,
        "spoken_text": data.spoken_text,
        "board_text": data.board_text,
        "web_html": data.web_html,
        "attachments": sorted(a.pk for a in data.attachments),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _new_revision(bulletin: Bulletin, data: BulletinData, acting_user, content_hash: str) -> Revision:
    number = (bulletin.revisions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    revision = Revision.objects.create(
        bulletin=bulletin,
        number=number,
        created_by=acting_user,
        title=data.title,
        summary=data.summary,
        body=data.body,
        category=data.category,
        priority=data.priority,
        language=data.language,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
        spoken_text=data.spoken_text,
        board_text=data.board_text,
        web_html=data.web_html,
        content_hash=content_hash,
    )
    revision.targets.set(data.targets)
    revision.attachments.set(data.attachments)
    return revision


def _queue_speech(revision: Revision) -> None:
    """Render the revision's audio in the worker once the revision is committed (editors hear it while approving)."""
    if not settings.SPEECH_AUTO_RENDER:
        return

    def queue():
        from nguon.speech.actions import request_render_for_revision
        from nguon.speech.engines import SpeechError

        # Nothing to say, or no engine: the editor sees why on the bulletin page.
        with contextlib.suppress(Invalid, SpeechError):
            request_render_for_revision(revision)

    transaction.on_commit(queue)


def _mirror(bulletin: Bulletin, revision: Revision, data: BulletinData) -> None:
    bulletin.current_revision = revision
    bulletin.publish_at = data.publish_at
    bulletin.expires_at = data.expires_at
    # While a revision is live, lists and search (which units below also use) keep showing it: an edit awaiting
    # approval must not leak. The new text takes over when it is published.
    if bulletin.published_revision_id is None:
        _present(bulletin, revision)


def _present(bulletin: Bulletin, revision: Revision) -> None:
    """Copy a revision's title, class and searchable text onto the bulletin row (lists, filters, search)."""
    bulletin.title = revision.title
    bulletin.category = revision.category
    bulletin.priority = revision.priority
    bulletin.language = revision.language
    bulletin.search_folded = fold(" ".join([revision.title, revision.summary, revision.body, revision.board_text]))


def _history(bulletin, action, from_status, *, actor, revision=None, comment="") -> WorkflowEvent:
    return WorkflowEvent.objects.create(
        bulletin=bulletin,
        revision=revision or bulletin.current_revision,
        action=action,
        from_status=from_status,
        to_status=bulletin.status,
        actor=actor,
        comment=comment,
    )


def _lock(bulletin: Bulletin) -> Bulletin:
    """Re-read the bulletin under a row lock so two approvers cannot act on stale state."""
    # of=("self",): lock the bulletin row only. PostgreSQL refuses FOR UPDATE on the nullable side of the outer
    # join that select_related makes for current_revision, and the unit's row needs no lock.
    return (
        Bulletin.objects.select_for_update(of=("self",))
        .select_related("owner_unit", "current_revision")
        .get(pk=bulletin.pk)
    )


def do_create_bulletin(*, owner_unit: Unit, data: BulletinData, acting_user) -> Bulletin:
    require(acting_user, Capability.EDIT_CONTENT, owner_unit)
    data = clean_bulletin_data(data, owner_unit)
    content_hash = _content_hash(data)
    with transaction.atomic():
        bulletin = Bulletin(owner_unit=owner_unit, author=acting_user, status=Status.DRAFT, title=data.title)
        bulletin.save()
        revision = _new_revision(bulletin, data, acting_user, content_hash)
        _mirror(bulletin, revision, data)
        bulletin.save()
        _history(bulletin, WorkflowEvent.Action.CREATE, "", actor=acting_user)
        _queue_speech(revision)
        record_event(
            "content.bulletin_created",
            actor=acting_user,
            obj=bulletin,
            unit=owner_unit,
            changes={"title": bulletin.title, "priority": bulletin.priority, "revision": revision.number},
        )
    return bulletin


def do_edit_bulletin(bulletin: Bulletin, *, data: BulletinData, acting_user) -> Bulletin:
    """Save a new revision. Editing after approval sends the bulletin back for approval."""
    require(acting_user, Capability.EDIT_CONTENT, bulletin.owner_unit)
    data = clean_bulletin_data(data, bulletin.owner_unit)
    content_hash = _content_hash(data)
    with transaction.atomic():
        bulletin = _lock(bulletin)
        if not bulletin.is_editable():
            raise Conflict(_("A withdrawn or archived bulletin cannot be edited."), code="not_editable")
        previous = bulletin.current_revision
        schedule_same = (bulletin.publish_at, bulletin.expires_at) == (data.publish_at, data.expires_at)
        if previous.content_hash == content_hash and schedule_same:
            return bulletin
        from_status = bulletin.status
        if previous.content_hash != content_hash:
            revision = _new_revision(bulletin, data, acting_user, content_hash)
            _queue_speech(revision)
        else:
            revision = previous
        _mirror(bulletin, revision, data)
        if from_status in (Status.APPROVED, Status.PUBLISHED):
            bulletin.status = Status.SUBMITTED
        bulletin.save()
        _history(bulletin, WorkflowEvent.Action.EDIT, from_status, actor=acting_user)
        record_event(
            "content.bulletin_edited",
            actor=acting_user,
            obj=bulletin,
            unit=bulletin.owner_unit,
            changes={
                "revision": [previous.number, revision.number],
                **({"status": [from_status, bulletin.status]} if from_status != bulletin.status else {}),
                **diff({"title": previous.title}, {"title": revision.title}),
            },
        )
    return bulletin


def _transition(bulletin, *, allowed_from, to, action, acting_user, comment="", audit_action, extra=None):
    if bulletin.status not in allowed_from:
        raise Conflict(
            _("This step is not possible while the bulletin is “%(status)s”.")
            % {"status": Status(bulletin.status).label},
            code="wrong_status",
        )
    from_status = bulletin.status
    bulletin.status = to
    for name, value in (extra or {}).items():
        setattr(bulletin, name, value)
    bulletin.save()
    _history(bulletin, action, from_status, actor=acting_user, comment=comment)
    record_event(
        audit_action,
        actor=acting_user,
        obj=bulletin,
        unit=bulletin.owner_unit,
        changes={
            "status": [from_status, to],
            "revision": bulletin.current_revision.number,
            **({"comment": comment} if comment else {}),
        },
    )
    return bulletin


def do_submit_bulletin(bulletin: Bulletin, *, acting_user) -> Bulletin:
    require(acting_user, Capability.EDIT_CONTENT, bulletin.owner_unit)
    with transaction.atomic():
        bulletin = _lock(bulletin)
        _transition(
            bulletin,
            allowed_from={Status.DRAFT, Status.RETURNED},
            to=Status.SUBMITTED,
            action=WorkflowEvent.Action.SUBMIT,
            acting_user=acting_user,
            audit_action="content.bulletin_submitted",
        )
        transaction.on_commit(lambda: bulletin_submitted.send(sender=Bulletin, bulletin=bulletin, actor=acting_user))
    return bulletin


def do_approve_bulletin(bulletin: Bulletin, *, acting_user, revision_number: int, now=None) -> Bulletin:
    """Approve exactly the revision the approver read; publish at once unless a later time is set."""
    now = now or timezone.now()
    with transaction.atomic():
        bulletin = _lock(bulletin)
        if not can(acting_user, Capability.APPROVE_CONTENT, bulletin.owner_unit):
            raise Forbidden()
        if bulletin.current_revision.number != revision_number:
            raise Conflict(
                _("The bulletin was edited after you opened it (revision %(now)s, you read %(read)s). Read it again.")
                % {"now": bulletin.current_revision.number, "read": revision_number},
                code="stale_revision",
            )
        if bulletin.status == Status.SUBMITTED and not bulletin.can_be_approved_by(acting_user):
            raise Forbidden(_("You cannot approve your own bulletin in this unit."), code="self_approval")
        _transition(
            bulletin,
            allowed_from={Status.SUBMITTED},
            to=Status.APPROVED,
            action=WorkflowEvent.Action.APPROVE,
            acting_user=acting_user,
            audit_action="content.bulletin_approved",
            extra={"approved_revision": bulletin.current_revision},
        )
        transaction.on_commit(lambda: bulletin_approved.send(sender=Bulletin, bulletin=bulletin, actor=acting_user))
        if bulletin.publish_at is None or bulletin.publish_at <= now:
            _publish(bulletin, acting_user=acting_user, now=now)
    return bulletin


def do_return_bulletin(bulletin: Bulletin, *, acting_user, comment: str) -> Bulletin:
    comment = plain(comment)
    if not comment:
        raise Invalid(_("Say what needs changing."), fields={"comment": [_("A comment is required.")]})
    with transaction.atomic():
        bulletin = _lock(bulletin)
        require(acting_user, Capability.APPROVE_CONTENT, bulletin.owner_unit)
        _transition(
            bulletin,
            allowed_from={Status.SUBMITTED},
            to=Status.RETURNED,
            action=WorkflowEvent.Action.RETURN,
            acting_user=acting_user,
            comment=comment,
            audit_action="content.bulletin_returned",
        )
        transaction.on_commit(
            lambda: bulletin_returned.send(sender=Bulletin, bulletin=bulletin, actor=acting_user, comment=comment)
        )
    return bulletin


def _publish(bulletin: Bulletin, *, acting_user, now) -> Bulletin:
    _transition(
        bulletin,
        allowed_from={Status.APPROVED},
        to=Status.PUBLISHED,
        action=WorkflowEvent.Action.PUBLISH,
        acting_user=acting_user,
        audit_action="content.bulletin_published",
        extra={"published_revision": bulletin.approved_revision, "published_at": now},
    )
    _present(bulletin, bulletin.published_revision)
    bulletin.save(update_fields=["title", "category", "priority", "language", "search_folded", "updated_at"])
    if bulletin.priority in (Priority.PRIORITY, Priority.EMERGENCY):
        # TT 39: priority and emergency bulletins are pushed into the targets' programmes.
        targets = list(bulletin.published_revision.targets.all()) or [bulletin.owner_unit]
        for unit in targets:
            Adoption.objects.get_or_create(
                bulletin=bulletin, unit=unit, defaults={"how": Adoption.How.PUSHED, "by": acting_user}
            )
    transaction.on_commit(lambda: bulletin_published.send(sender=Bulletin, bulletin=bulletin))
    return bulletin


def do_publish_due(now=None) -> int:
    """Publish approved bulletins whose time has come (periodic job); return how many."""
    now = now or timezone.now()
    count = 0
    for pk in Bulletin.objects.filter(status=Status.APPROVED, publish_at__lte=now).values_list("pk", flat=True):
        with transaction.atomic():
            bulletin = Bulletin.objects.select_for_update().filter(pk=pk, status=Status.APPROVED).first()
            if bulletin is None:  # another worker got there first
                continue
            _publish(bulletin, acting_user=None, now=now)
            count += 1
    return count


def do_expire_due(now=None) -> int:
    """Archive published bulletins whose expiry has passed (periodic job)."""
    now = now or timezone.now()
    count = 0
    live = [Status.PUBLISHED, Status.APPROVED, Status.SUBMITTED, Status.RETURNED]
    for pk in Bulletin.objects.filter(
        status__in=live, published_revision__isnull=False, expires_at__lte=now
    ).values_list("pk", flat=True):
        with transaction.atomic():
            bulletin = Bulletin.objects.select_for_update().filter(pk=pk, status__in=live).first()
            if bulletin is None:
                continue
            _transition(
                bulletin,
                allowed_from=set(live),
                to=Status.ARCHIVED,
                action=WorkflowEvent.Action.EXPIRE,
                acting_user=None,
                audit_action="content.bulletin_expired",
            )
            transaction.on_commit(lambda b=bulletin: bulletin_withdrawn.send(sender=Bulletin, bulletin=b))
            count += 1
    return count


def do_withdraw_bulletin(bulletin: Bulletin, *, acting_user, comment: str = "") -> Bulletin:
    with transaction.atomic():
        bulletin = _lock(bulletin)
        require(acting_user, Capability.APPROVE_CONTENT, bulletin.owner_unit)
        _transition(
            bulletin,
            allowed_from={Status.PUBLISHED, Status.APPROVED, Status.SUBMITTED, Status.RETURNED},
            to=Status.WITHDRAWN,
            action=WorkflowEvent.Action.WITHDRAW,
            acting_user=acting_user,
            comment=plain(comment),
            audit_action="content.bulletin_withdrawn",
        )
        transaction.on_commit(lambda: bulletin_withdrawn.send(sender=Bulletin, bulletin=bulletin))
    return bulletin


def do_archive_bulletin(bulletin: Bulletin, *, acting_user) -> Bulletin:
    with transaction.atomic():
        bulletin = _lock(bulletin)
        require(acting_user, Capability.EDIT_CONTENT, bulletin.owner_unit)
        return _transition(
            bulletin,
            allowed_from={Status.DRAFT, Status.RETURNED, Status.WITHDRAWN},
            to=Status.ARCHIVED,
            action=WorkflowEvent.Action.ARCHIVE,
            acting_user=acting_user,
            audit_action="content.bulletin_archived",
        )


def do_adopt_bulletin(bulletin: Bulletin, *, unit: Unit, acting_user) -> Adoption:
    """A unit takes a published normal-class bulletin from above into its own programme."""
    require(acting_user, Capability.ADOPT_CONTENT, unit)
    if not Bulletin.objects.live().filter(pk=bulletin.pk).exists():
        raise Conflict(_("Only published bulletins can be taken into a programme."), code="not_live")
    if not bulletin.owner_unit.contains(unit):
        raise Forbidden(_("This bulletin was not issued for your unit."), code="not_for_unit")
    with transaction.atomic():
        adoption, created = Adoption.objects.get_or_create(
            bulletin=bulletin, unit=unit, defaults={"how": Adoption.How.CHOSEN, "by": acting_user}
        )
        if created:
            record_event(
                "content.bulletin_adopted",
                actor=acting_user,
                obj=bulletin,
                unit=unit,
                changes={"unit": unit.code, "bulletin": bulletin.pk},
            )
    return adoption
