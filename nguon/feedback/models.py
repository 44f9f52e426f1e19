"""Citizens' feedback (phản ánh, kiến nghị): topics, the items themselves, their history, files and partner keys."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from nguon.core.collation import vi


class Topic(models.Model):
    """A kind of feedback (street lights, waste, land, …): who answers it and within how many working days.

    Topics are data. `code` is also the Open311 `service_code`. When `organisation` is empty the commune where
    the problem is (its people's committee) handles it; otherwise that organisation does, unless a routing rule for
    the commune says otherwise.
    """

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=150)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    organisation = models.ForeignKey(
        "units.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="feedback_topics",
        verbose_name=_("responsible organisation"),
    )
    deadline_days = models.PositiveSmallIntegerField(
        _("deadline (working days)"),
        default=10,
        help_text=_("Counted from acceptance, skipping weekends and holidays."),
    )
    keywords = models.CharField(_("keywords"), max_length=500, blank=True, help_text=_("Comma-separated; for search."))
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["position", vi("name")]
        verbose_name = _("feedback topic")
        verbose_name_plural = _("feedback topics")

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Send a topic's feedback from a unit's subtree to a given organisation (overrides the topic's default)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="rules", verbose_name=_("topic"))
    unit = models.ForeignKey("units.Unit", on_delete=models.CASCADE, related_name="+", verbose_name=_("unit"))
    organisation = models.ForeignKey(
        "units.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [models.UniqueConstraint(fields=["topic", "unit"], name="feedback_rule_unique")]

    def __str__(self) -> str:
        return f"{self.topic} · {self.unit} → {self.organisation}"


class Channel(models.TextChoices):
    WEB = "web", _("Public form")
    OPEN311 = "open311", _("Partner app (Open311)")
    PHONE = "phone", _("Phone call")
    LETTER = "letter", _("Letter")
    MEETING = "meeting", _("Meeting with citizens")
    IN_PERSON = "in_person", _("At the office")
    EMAIL = "email", _("E-mail")


STAFF_CHANNELS = (Channel.PHONE, Channel.LETTER, Channel.MEETING, Channel.IN_PERSON, Channel.EMAIL)


class Status(models.TextChoices):
    RECEIVED = "received", _("Received")
    ACCEPTED = "accepted", _("Accepted")
    REFUSED = "refused", _("Refused")
    ASSIGNED = "assigned", _("Assigned")
    IN_PROGRESS = "in_progress", _("In progress")
    DRAFTED = "drafted", _("Answer drafted")
    APPROVED = "approved", _("Answer approved")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")


# Work not yet answered: what deadlines and reminders are about.
OPEN_STATUSES = (
    Status.RECEIVED,
    Status.ACCEPTED,
    Status.ASSIGNED,
    Status.IN_PROGRESS,
    Status.DRAFTED,
    Status.APPROVED,
)
DONE_STATUSES = (Status.ANSWERED, Status.CLOSED)


class RefusalReason(models.TextChoices):
    SPAM = "spam", _("Spam or abuse")
    OUT_OF_SCOPE = "out_of_scope", _("Not a matter for the authorities here")
    DUPLICATE = "duplicate", _("Duplicate of another feedback")
    INCOMPLETE = "incomplete", _("Not enough information to act on")


class FeedbackQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_STATUSES)

    def overdue(self, now=None):
        return self.open().filter(due_at__lt=now or timezone.now())

    def published(self):
        return self.filter(published_at__isnull=False, unpublished_at__isnull=True)

    def in_subtree(self, path: str):
        """Feedback about a place in the subtree, or handled by a unit in it."""
        return self.filter(Q(unit__path__startswith=path) | Q(handler_unit__path__startswith=path))


def hash_code(code: str) -> str:
    """The stored form of a tracking code: a keyed hash, so the table alone never yields a usable code."""
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return salted_hmac("nguon.feedback.tracking_code", normalised, algorithm="sha256").hexdigest()


class Feedback(models.Model):
    """One item of feedback. `number` is the public reference staff quote; `code` (held only as a hash) unlocks the
    citizen's status page."""

    number = models.CharField(_("number"), max_length=20, unique=True)
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.WEB)
    topic = models.ForeignKey(Topic, on_delete=models.PROTECT, related_name="feedback", verbose_name=_("topic"))
    # Where the problem is (a commune).
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="feedback", verbose_name=_("commune"))
    address = models.CharField(_("address"), max_length=300, blank=True)
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    text = models.TextField(_("content"))
    text_folded = models.TextField(editable=False, blank=True)
    # Personal data (NĐ 13/2023): shown only to the assigned staff, each view audited, erased after retention.
    name = models.CharField(_("name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), max_length=254, blank=True)
    consent_publish = models.BooleanField(_("agrees to publication of the answer"), default=False)
    language = models.CharField(_("language"), max_length=5, default="vi")
    # Who handles it: a unit (the commune, or the organisation's unit) and optionally an organisation and a person.
    handler_unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="handled_feedback", verbose_name=_("handling unit")
    )
    handler_organisation = models.ForeignKey(
        "units.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="handled_feedback",
        verbose_name=_("handling organisation"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_feedback",
        verbose_name=_("assigned to"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.RECEIVED)
    refusal_reason = models.CharField(_("refusal reason"), max_length=20, choices=RefusalReason.choices, blank=True)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("duplicate of")
    )
    answer = models.TextField(_("answer"), blank=True)
    answer_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # True once answered, when the answer came by the deadline (kept: figures must not change when a deadline rule
    # does).
    on_time = models.BooleanField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    rating = models.PositiveSmallIntegerField(_("satisfaction"), null=True, blank=True)
    rating_comment = models.CharField(_("rating comment"), max_length=500, blank=True)
    # Public Q&A: the masked texts a person checked, and when.
    published_question = models.TextField(_("published question"), blank=True)
    published_answer = models.TextField(_("published answer"), blank=True)
    published_folded = models.TextField(editable=False, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unpublished_at = models.DateTimeField(null=True, blank=True)
    # The bulletin that carries the answer on air (made by the "draft bulletin" action).
    bulletin = models.ForeignKey(
        "content.Bulletin",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("bulletin"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("entered by"),
    )
    api_key = models.ForeignKey(
        "feedback.PartnerKey", on_delete=models.PROTECT, null=True, blank=True, related_name="requests"
    )
    # Near-duplicate detection: a few hashes of word shingles (see lib/shingles.py).
    fingerprint = models.CharField(max_length=200, blank=True, db_index=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    personal_data_erased_at = models.DateTimeField(null=True, blank=True)

    objects = FeedbackQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("feedback")
        verbose_name_plural = _("feedback")
        indexes = [
            models.Index(fields=["status", "due_at"], name="feedback_status_due"),
            models.Index(fields=["handler_unit", "status"], name="feedback_handler_status"),
            models.Index(fields=["unit", "received_at"], name="feedback_unit_received"),
            models.Index(fields=["topic", "received_at"], name="feedback_topic_received"),
        ]

    def __str__(self) -> str:
        return self.number

    def matches_code(self, code: str) -> bool:
        return hmac.compare_digest(self.code_hash, hash_code(code))

    def is_overdue(self, now=None) -> bool:
        if self.status not in OPEN_STATUSES or self.due_at is None:
            return False
        return (now or timezone.now()) > self.due_at

    @property
    def is_published(self) -> bool:
        return self.published_at is not None and self.unpublished_at is None

    @property
    def has_contact(self) -> bool:
        return bool(self.name or self.phone or self.email)


class Event(models.Model):
    """One step in a feedback's life (append-only): who, when, from which status to which, and what was said.

    `public` steps are shown to the citizen on the status page; internal notes and transfers are not.
    """

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # "citizen", a partner key's name, or "system" when there is no user.
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=30)
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    note = models.TextField(blank=True)
    public = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.feedback} {self.action}"


class AttachmentKind(models.TextChoices):
    IMAGE = "image", _("Photo")
    AUDIO = "audio", _("Audio clip")
    VIDEO = "video", _("Video clip")


class Attachment(models.Model):
    """A photo or short clip sent with feedback, checked by content; images are re-encoded without EXIF data."""

    feedback = models.ForeignKey(Feedback, on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(max_length=10, choices=AttachmentKind.choices)
    file = models.FileField(upload_to="feedback/%Y/%m/", max_length=200)
    mime_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)
    original_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.feedback} {self.kind}"


class PartnerKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)


class PartnerKey(models.Model):
    """An Open311 API key of a partner app. Only a hash is stored; the key is shown once when issued."""

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key prefix"), max_length=12, unique=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    # What the key may do: submit requests, and read the contact-free request list (reading needs no key).
    can_submit = models.BooleanField(_("may submit requests"), default=True)
    # Requests submitted with the key must be about this unit's subtree (empty: anywhere).
    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("limited to")
    )
    contact = models.CharField(_("contact"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("issued by"),
    )
    created_at = models.DateTimeField(_("issued at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = PartnerKeyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("partner API key")
        verbose_name_plural = _("partner API keys")

    def __str__(self) -> str:
        return self.name
