"""Bulletins, their revisions and workflow history, the media library and the shared repository."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.content.text import speech_source
from nguon.core.collation import vi


class Priority(models.TextChoices):
    """TT 39/2020/TT-BTTTT priority classes for bulletins sent to commune stations."""

    NORMAL = "normal", _("Normal (thông thường)")
    PRIORITY = "priority", _("Priority (ưu tiên)")
    EMERGENCY = "emergency", _("Emergency (khẩn cấp)")


class Language(models.TextChoices):
    VI = "vi", _("Vietnamese")
    EN = "en", _("English")


class Status(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting approval")
    RETURNED = "returned", _("Returned for changes")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ARCHIVED = "archived", _("Archived")


class Source(models.TextChoices):
    LOCAL = "local", _("Written here")
    CENTRAL = "central", _("Central system")
    PROVINCE = "province", _("Another province")


class Category(models.Model):
    """A topic of the plan (II.1.5): data that staff can extend."""

    slug = models.SlugField(_("code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", vi("name")]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self) -> str:
        return self.name


class BulletinQuerySet(models.QuerySet):
    def awaiting_approval(self):
        return self.filter(status=Status.SUBMITTED)

    def live(self, now=None):
        """Published, not withdrawn, inside the validity window."""
        now = now or timezone.now()
        return (
            self.filter(status__in=[Status.PUBLISHED, Status.SUBMITTED, Status.APPROVED, Status.RETURNED])
            .filter(published_revision__isnull=False)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        )

    def search(self, text: str):
        from nguon.content.search import search_bulletins

        return search_bulletins(self, text)


class Bulletin(models.Model):
    """One piece of source information. Its content lives in revisions; these columns mirror the current one."""

    owner_unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="bulletins", verbose_name=_("owning unit")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        related_name="bulletins",
        verbose_name=_("author"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.LOCAL)
    external_id = models.CharField(_("external ID"), max_length=200, blank=True)
    # Mirrors of the current revision, for lists, filters and search.
    title = models.CharField(_("title"), max_length=300)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("category"))
    priority = models.CharField(_("priority"), max_length=20, choices=Priority.choices, default=Priority.NORMAL)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.VI)
    search_folded = models.TextField(editable=False, blank=True)
    current_revision = models.ForeignKey(
        "Revision", on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("current revision")
    )
    approved_revision = models.ForeignKey(
        "Revision",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved revision"),
    )
    published_revision = models.ForeignKey(
        "Revision",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("published revision"),
    )
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = BulletinQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = _("bulletin")
        verbose_name_plural = _("bulletins")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], condition=~Q(external_id=""), name="bulletin_unique_external_id"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True)
                | Q(publish_at__isnull=True)
                | Q(expires_at__gt=models.F("publish_at")),
                name="bulletin_expires_after_publish",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def is_editable(self) -> bool:
        return self.status not in (Status.WITHDRAWN, Status.ARCHIVED)

    def can_be_approved_by(self, user) -> bool:
        """Approvers act inside their subtree, never on their own bulletin unless the unit allows it."""
        from nguon.accounts.access import can
        from nguon.accounts.roles import Capability

        if self.status != Status.SUBMITTED or not can(user, Capability.APPROVE_CONTENT, self.owner_unit):
            return False
        own = user.pk in {self.author_id, self.current_revision.created_by_id if self.current_revision else None}
        return not own or self.owner_unit.allow_self_approval


class Revision(models.Model):
    """An immutable version of a bulletin's content. Approval points at exactly one revision."""

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(_("revision"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    title = models.CharField(_("title"), max_length=300)
    summary = models.TextField(_("summary"), blank=True)
    body = models.TextField(_("body"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    priority = models.CharField(_("priority"), max_length=20, choices=Priority.choices)
    language = models.CharField(_("language"), max_length=5, choices=Language.choices)
    targets = models.ManyToManyField("units.Unit", blank=True, related_name="targeted_revisions")
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_to = models.DateTimeField(_("valid until"), null=True, blank=True)
    # Renderings per channel: loudspeakers, e-boards, the web.
    spoken_text = models.TextField(_("text for loudspeakers"), blank=True)
    board_text = models.CharField(_("short text for e-boards"), max_length=500, blank=True)
    web_html = models.TextField(_("web text (HTML)"), blank=True)
    attachments = models.ManyToManyField("MediaAsset", blank=True, related_name="revisions")
    content_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["bulletin", "-number"]
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        constraints = [models.UniqueConstraint(fields=["bulletin", "number"], name="revision_unique_number")]

    def __str__(self) -> str:
        return f"{self.bulletin_id} r{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("revisions are immutable; create a new one")
        super().save(*args, **kwargs)

    def speech_source(self) -> str:
        """The text to speak: the loudspeaker rendering, else the title and body."""
        return speech_source(title=self.title, summary=self.summary, body=self.body, spoken_text=self.spoken_text)


class WorkflowEvent(models.Model):
    """Append-only history of a bulletin: each workflow step with who, when, from, to and why."""

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        EDIT = "edit", _("edited")
        SUBMIT = "submit", _("submitted")
        APPROVE = "approve", _("approved")
        RETURN = "return", _("returned")
        PUBLISH = "publish", _("published")
        WITHDRAW = "withdraw", _("withdrawn")
        ARCHIVE = "archive", _("archived")
        EXPIRE = "expire", _("expired")
        IMPORT = "import", _("imported")

    bulletin = models.ForeignKey(Bulletin, on_delete=models.CASCADE, related_name="history")
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, null=True, related_name="+")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=Status.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    at = models.DateTimeField(_("time"), default=timezone.now)
    comment = models.TextField(_("comment"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("workflow event")
        verbose_name_plural = _("workflow events")


class Adoption(models.Model):
    """A bulletin taken into a unit's programme: chosen by the commune (normal) or pushed (priority, emergency)."""

    class How(models.TextChoices):
        CHOSEN = "chosen", _("Chosen by the unit")
        PUSHED = "pushed", _("Pushed by priority class")

    bulletin = models.ForeignKey(
        Bulletin, on_delete=models.CASCADE, related_name="adoptions", verbose_name=_("bulletin")
    )
    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="adoptions", verbose_name=_("unit"))
    how = models.CharField(_("how"), max_length=10, choices=How.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("adoption")
        verbose_name_plural = _("adoptions")
        ordering = ["-at"]
        constraints = [models.UniqueConstraint(fields=["bulletin", "unit"], name="adoption_unique")]


class MediaKind(models.TextChoices):
    AUDIO = "audio", _("Audio")
    IMAGE = "image", _("Image")
    VIDEO = "video", _("Video")
    DOCUMENT = "document", _("Document")


class MediaAssetQuerySet(models.QuerySet):
    def of_kind(self, kind):
        return self.filter(kind=kind)

    def library(self):
        """Files people put in the library. Audio the system rendered (a bulletin's speech, an alert's audio) is not
        a library item: it plays only through its bulletin's approved revision or its alert, never on its own."""
        return self.filter(is_generated=False)

    def usable_in(self, unit):
        """Library files a programme of `unit` may play: shared ones, the unit's own and those of the units above."""
        codes = unit.path.strip("/").split("/")
        paths = ["/".join(codes[: depth + 1]) + "/" for depth in range(len(codes))]
        return self.library().filter(Q(unit__isnull=True) | Q(unit__path__in=paths))


class MediaAsset(models.Model):
    """A stored file, named by its SHA-256, checked by content at ingest."""

    sha256 = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(_("kind"), max_length=10, choices=MediaKind.choices)
    mime_type = models.CharField(_("type"), max_length=100)
    extension = models.CharField(_("extension"), max_length=10)
    size = models.BigIntegerField(_("size (bytes)"))
    file = models.FileField(_("file"), max_length=255)
    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, null=True, related_name="media", verbose_name=_("unit")
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("uploaded by")
    )
    created_at = models.DateTimeField(_("added at"), auto_now_add=True)
    title = models.CharField(_("title"), max_length=300, blank=True)
    author = models.CharField(_("author"), max_length=200, blank=True)
    rights = models.CharField(_("rights"), max_length=300, blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("topic"))
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    is_generated = models.BooleanField(_("generated by the system"), default=False)
    duration = models.FloatField(_("duration (s)"), null=True, blank=True)
    loudness_lufs = models.FloatField(_("loudness (LUFS)"), null=True, blank=True)
    true_peak_dbtp = models.FloatField(_("true peak (dBTP)"), null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    objects = MediaAssetQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("media file")
        verbose_name_plural = _("media library")
        # One library entry per unit; the stored file itself is shared by hash.
        constraints = [models.UniqueConstraint(fields=["sha256", "unit"], name="media_unique_per_unit")]

    def __str__(self) -> str:
        return self.title or self.original_name or self.sha256[:12]

    def is_usable_in(self, unit) -> bool:
        """Whether a programme of `unit` may play this file by itself (see `MediaAssetQuerySet.usable_in`)."""
        return not self.is_generated and (self.unit_id is None or self.unit.contains(unit))
