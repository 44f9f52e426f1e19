"""Devices, groups, schedules, compiled manifests, reports and monitoring history."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.core.collation import vi


class DeviceKind(models.TextChoices):
    SPEAKER = "speaker", _("Loudspeaker cluster")
    BOARD = "board", _("Public e-board")


class Technology(models.TextChoices):
    IP = "ip", _("IT-telecom (IP)")
    FM = "fm", _("FM radio")
    WIRED = "wired", _("Wired")


class Connectivity(models.TextChoices):
    CELLULAR = "cellular", _("3G/4G")
    ETHERNET = "ethernet", _("Ethernet")
    WIFI = "wifi", _("Wi-Fi")
    OTHER = "other", _("Other")


class DeviceQuerySet(models.QuerySet):
    def in_unit(self, unit):
        return self.filter(unit__path__startswith=unit.path)

    def active(self):
        return self.filter(is_active=True)

    def online(self):
        return self.filter(is_online=True)

    def overdue(self, now=None):
        """Online devices silent for longer than their grace time."""
        return self.filter(is_online=True, silent_after__lt=now or timezone.now())


class Device(models.Model):
    """A loudspeaker cluster (cụm loa) or a public e-board (bảng tin điện tử)."""

    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="devices", verbose_name=_("unit"))
    kind = models.CharField(_("kind"), max_length=10, choices=DeviceKind.choices, default=DeviceKind.SPEAKER)
    code = models.CharField(_("device code"), max_length=64, unique=True, help_text=_("Serial or inventory code."))
    name = models.CharField(_("name"), max_length=200)
    model = models.CharField(_("model"), max_length=100, blank=True)
    technology = models.CharField(_("technology"), max_length=10, choices=Technology.choices, default=Technology.IP)
    connectivity = models.CharField(
        _("connectivity"), max_length=10, choices=Connectivity.choices, default=Connectivity.CELLULAR
    )
    station = models.ForeignKey(
        "units.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="devices",
        verbose_name=_("radio station"),
    )
    latitude = models.FloatField(_("latitude"), null=True, blank=True)
    longitude = models.FloatField(_("longitude"), null=True, blank=True)
    volume = models.PositiveSmallIntegerField(_("volume (%)"), default=80)
    is_drill = models.BooleanField(_("takes drills and tests"), default=False)
    is_active = models.BooleanField(_("in service"), default=True)
    grace_seconds = models.PositiveIntegerField(_("offline after (s)"), default=180)
    # Monitoring state, updated from reports (history lives in DeviceStatusChange and Heartbeat rows).
    is_online = models.BooleanField(_("online"), default=False, db_index=True)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    # last_seen_at + grace_seconds, kept in step on every report so that "overdue" is one indexed comparison.
    silent_after = models.DateTimeField(null=True, blank=True, db_index=True)
    clock_skew_ms = models.IntegerField(_("clock skew (ms)"), null=True, blank=True)
    current_item = models.CharField(_("playing"), max_length=200, blank=True)
    last_status = models.JSONField(_("last status"), default=dict, blank=True)
    report_seq = models.BigIntegerField(default=0, help_text="highest report sequence number stored")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["unit__path", vi("name")]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        constraints = [
            models.CheckConstraint(condition=Q(volume__lte=100), name="device_volume_max_100"),
            models.CheckConstraint(
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | (Q(latitude__gte=-90) & Q(latitude__lte=90) & Q(longitude__gte=-180) & Q(longitude__lte=180)),
                name="device_coordinates_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def is_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        return self.last_seen_at is None or self.last_seen_at < now - timedelta(seconds=self.grace_seconds)


class DeviceGroup(models.Model):
    """Devices chosen together (a zone along a river, all boards of a town), possibly across communes."""

    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="device_groups", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    devices = models.ManyToManyField(Device, related_name="groups", blank=True, verbose_name=_("devices"))

    class Meta:
        ordering = [vi("name")]
        verbose_name = _("device group")
        verbose_name_plural = _("device groups")
        constraints = [models.UniqueConstraint(fields=["unit", "name"], name="device_group_unique_name")]

    def __str__(self) -> str:
        return self.name


class EnrolmentCode(models.Model):
    """A one-time code that a device exchanges for its token. Only the hash is kept."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="enrolment_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True)


class DeviceToken(models.Model):
    """A device's bearer token, stored hashed; revoking it cuts the device off at once."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["token_hash"], condition=Q(revoked_at__isnull=True), name="token_active")]


class Recurrence(models.TextChoices):
    ONCE = "once", _("Once")
    DAILY = "daily", _("Every day")
    WEEKDAYS = "weekdays", _("On chosen weekdays")


class SlotQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True)


class Slot(models.Model):
    """A time-anchored programme slot for a unit's devices (never a play queue).

    Wall-clock times are local (Asia/Ho_Chi_Minh); occurrences are expanded into exact UTC instants in manifests.
    """

    unit = models.ForeignKey("units.Unit", on_delete=models.PROTECT, related_name="slots", verbose_name=_("unit"))
    name = models.CharField(_("name"), max_length=200)
    group = models.ForeignKey(
        DeviceGroup,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="slots",
        verbose_name=_("device group"),
        help_text=_("Empty: every device of the unit."),
    )
    device_kind = models.CharField(_("device kind"), max_length=10, choices=DeviceKind.choices, blank=True)
    recurrence = models.CharField(_("repeats"), max_length=10, choices=Recurrence.choices, default=Recurrence.DAILY)
    weekdays = models.CharField(
        _("weekdays"), max_length=13, blank=True, help_text=_("ISO weekday numbers, e.g. 1,2,3,4,5 for Mon–Fri.")
    )
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("until"), null=True, blank=True)
    start_time = models.TimeField(_("starts"))
    end_time = models.TimeField(_("ends"))
    volume = models.PositiveSmallIntegerField(_("volume (%)"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SlotQuerySet.as_manager()

    class Meta:
        ordering = ["unit__path", "start_time"]
        verbose_name = _("programme slot")
        verbose_name_plural = _("programme slots")
        constraints = [
            models.CheckConstraint(condition=Q(end_time__gt=models.F("start_time")), name="slot_ends_after_start"),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                name="slot_end_date_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def weekday_set(self) -> set[int]:
        return {int(d) for d in self.weekdays.split(",") if d.strip().isdigit()}

    def occurs_on(self, day) -> bool:
        if day < self.start_date or (self.end_date and day > self.end_date):
            return False
        if self.recurrence == Recurrence.ONCE:
            return day == self.start_date
        if self.recurrence == Recurrence.WEEKDAYS:
            return day.isoweekday() in self.weekday_set()
        return True


class ItemKind(models.TextChoices):
    BULLETIN = "bulletin", _("Bulletin")
    MEDIA = "media", _("Media file")
    RELAY = "relay", _("Stream relay")


class SlotItem(models.Model):
    """One thing a slot plays, in order: a bulletin's audio, a media file, or a relay of an external stream."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind.choices)
    bulletin = models.ForeignKey(
        "content.Bulletin", on_delete=models.PROTECT, null=True, blank=True, related_name="slot_items"
    )
    media = models.ForeignKey(
        "content.MediaAsset", on_delete=models.PROTECT, null=True, blank=True, related_name="slot_items"
    )
    stream_url = models.URLField(_("stream URL"), blank=True)
    stream_name = models.CharField(_("stream name"), max_length=200, blank=True)
    # Inserted because of a TT 39 priority bulletin (not chosen by the commune).
    pushed = models.BooleanField(default=False)

    class Meta:
        ordering = ["slot", "position"]
        verbose_name = _("slot item")
        verbose_name_plural = _("slot items")


class CompiledManifest(models.Model):
    """The last signed manifest of a device: canonical JSON bytes, signature, version and ETag."""

    device = models.OneToOneField(Device, on_delete=models.CASCADE, related_name="manifest")
    version = models.BigIntegerField(default=0)
    etag = models.CharField(max_length=80)
    body = models.BinaryField()
    signature = models.CharField(max_length=100, help_text="Ed25519 signature of body, base64")
    content_hash = models.CharField(max_length=64)
    compiled_at = models.DateTimeField()


class Heartbeat(models.Model):
    """A device's status report (append-only)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="heartbeats")
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    received_at = models.DateTimeField()
    volume = models.SmallIntegerField(null=True)
    temperature = models.FloatField(null=True)
    signal = models.SmallIntegerField(null=True)
    storage_free_mb = models.IntegerField(null=True)
    clock_skew_ms = models.IntegerField(null=True)
    current_item = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="heartbeat_unique_seq")]


class PlayResult(models.TextChoices):
    PLAYED = "played", _("Played")
    PARTIAL = "partial", _("Interrupted")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class PlayRecord(models.Model):
    """Proof of play: what a device played, when, and how it ended (append-only)."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="plays")
    seq = models.BigIntegerField()
    slot = models.ForeignKey(Slot, on_delete=models.SET_NULL, null=True, related_name="plays")
    occurrence = models.CharField(max_length=80, help_text="slot id and local start, as in the manifest")
    item = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True)
    result = models.CharField(max_length=10, choices=PlayResult.choices)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="play_unique_seq")]


class DeviceLog(models.Model):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="logs")
    seq = models.BigIntegerField()
    at = models.DateTimeField()
    level = models.CharField(max_length=10)
    message = models.TextField()
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "seq"], name="log_unique_seq")]


class DeviceStatusChange(models.Model):
    """Online/offline history (append-only): each change with when and why."""

    device = models.ForeignKey(
        Device, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("device")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    online = models.BooleanField(_("online"))
    reason = models.CharField(_("reason"), max_length=100)

    class Meta:
        ordering = ["-at"]


class DeviceFault(models.Model):
    """A fault a device reported (amplifier, storage, power…), open until cleared."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="faults")
    code = models.CharField(max_length=60)
    message = models.TextField(blank=True)
    at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at"]


class PushEventQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        from nguon.broadcast.gateway.wake import outbox_written

        created = super().bulk_create(objs, *args, **kwargs)
        outbox_written()
        return created


class PushEvent(models.Model):
    """Outbox of push events for connected devices. Every device gateway (any process, any machine) reads it and
    fans out, woken at commit (nguon.broadcast.gateway.wake: PostgreSQL NOTIFY, Redis pub/sub, or a short poll).

    A table rather than in-process calls because the worker that compiles manifests is another process; it stays
    the record of what was pushed, and what a gateway that missed a wake-up reads at its next safety poll.
    """

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    type = models.CharField(max_length=20)
    device_ids = models.JSONField(default=list, help_text="empty list: every device")
    body = models.JSONField(default=dict)
    expires_at = models.DateTimeField(null=True, blank=True)
    # The devices named in the signed payload (protocol §4.2), worked out from device_ids when the row is written.
    audience = models.JSONField(default=dict, blank=True)

    objects = PushEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    # Consumed by the gateway itself, never sent to devices (nguon.broadcast.events.INTERNAL_TYPES): `revoke` drops
    # the devices' tokens and streams, `enrolled` forgets what they acknowledged (their storage starts empty).
    UNSIGNED_TYPES = frozenset({"revoke", "enrolled"})

    def save(self, *args, **kwargs):
        if self._state.adding and not self.audience and self.type not in self.UNSIGNED_TYPES:
            from nguon.broadcast.audience import audience_for

            self.audience = audience_for(self.device_ids, loose=self.type == "manifest")
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:
            from nguon.broadcast.gateway.wake import outbox_written

            outbox_written()  # wakes the gateways after commit (Redis; PostgreSQL's trigger does it by itself)


class ProgrammeTemplate(models.Model):
    """A programme a unit reuses ("morning programme 5:30–6:00: national news relay, provincial bulletin, local
    news"): default times and items, copied into a new slot where the operator adjusts them."""

    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="programme_templates", verbose_name=_("unit")
    )
    name = models.CharField(_("name"), max_length=200)
    start_time = models.TimeField(_("starts"))
    end_time = models.TimeField(_("ends"))
    # Items as a slot holds them: [{"kind", "bulletin": id | "media": id | "stream_url", "stream_name"}], in order.
    items = models.JSONField(_("items"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["unit__path", "start_time", vi("name")]
        verbose_name = _("programme template")
        verbose_name_plural = _("programme templates")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="programme_template_unique_name"),
            models.CheckConstraint(
                condition=Q(end_time__gt=models.F("start_time")), name="programme_template_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.start_time:%H:%M}–{self.end_time:%H:%M}"


class LiveBroadcastQuerySet(models.QuerySet):
    def on_air(self, now=None):
        return self.filter(stopped_at__isnull=True, until__gt=now or timezone.now())


class LiveBroadcast(models.Model):
    """A live broadcast sent to devices through Icecast: who started it, to which devices, and when it stopped.

    One row per broadcast; the start and stop commands are its PushEvent rows.
    """

    unit = models.ForeignKey(
        "units.Unit", on_delete=models.PROTECT, related_name="live_broadcasts", verbose_name=_("unit")
    )
    mount = models.CharField(_("mount"), max_length=100)
    title = models.CharField(_("title"), max_length=200)
    url = models.URLField(_("stream URL"), max_length=500)
    until = models.DateTimeField(_("until"))
    devices = models.ManyToManyField(Device, related_name="live_broadcasts", verbose_name=_("devices"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("started by")
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("stopped by"),
    )
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    start_event = models.ForeignKey(PushEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    stop_event = models.ForeignKey(PushEvent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    objects = LiveBroadcastQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("live broadcast")
        verbose_name_plural = _("live broadcasts")
        constraints = [
            models.CheckConstraint(condition=Q(until__gt=models.F("started_at")), name="live_until_after_start")
        ]

    def __str__(self) -> str:
        return self.title

    def is_on_air(self, now=None) -> bool:
        return self.stopped_at is None and self.until > (now or timezone.now())
