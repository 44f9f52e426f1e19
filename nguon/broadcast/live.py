"""Live broadcasts through Icecast, and checking that a relay or live stream answers.

An operator (or an encoder such as BUTT or OBS) sends audio to a mount of the Icecast server that
scripts/icecast.sh runs; `do_start_live` tells the chosen devices to play that mount until a given time, and
`do_stop_live` tells them to go back to their schedule. Each broadcast is one LiveBroadcast row.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.broadcast.actions import do_push_command
from nguon.broadcast.models import Device, LiveBroadcast
from nguon.core.errors import Conflict, Invalid
from nguon.lib import netguard

MOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
LONGEST_LIVE = timedelta(hours=24)
# Content types a loudspeaker can play: audio, HLS playlists, Ogg, or a server that does not say.
STREAM_TYPES = ("audio/", "video/", "application/ogg", "application/octet-stream", "mpegurl")
HEADERS = {"User-Agent": "Nguon-stream-check/1"}


@dataclass(frozen=True)
class StreamCheck:
    """What asking a stream address found: `ok` True (answers with audio), False, or None (not checked)."""

    ok: bool | None
    status: int | None = None
    content_type: str = ""
    reason: str = ""


def stream_allow() -> list[netguard.Rule]:
    """Where a stream check may go besides public addresses: NGUON_STREAM_ALLOW, and our own Icecast (host and port
    only: allowing its whole host would open every other service on it)."""
    rules = netguard.parse_allow(settings.STREAM_ALLOW)
    icecast = urlsplit(settings.ICECAST_URL)
    if icecast.hostname:
        host = f"[{icecast.hostname}]" if ":" in icecast.hostname else icecast.hostname
        port = icecast.port or (443 if icecast.scheme == "https" else 80)
        rules.append(netguard.parse_rule(f"{host}:{port}"))
    return rules


def _reason(code: str, timeout: float) -> str:
    """A fixed sentence per outcome: nothing the remote side sent is ever shown (a banner, a header, a page)."""
    reasons = {
        "scheme": _("Not an http:// or https:// address."),
        "url": _("The address is not valid."),
        "address": _(
            "The address leads to this server, an internal network or a reserved address: only public stream servers "
            "are asked. An administrator can allow an in-house stream server with NGUON_STREAM_ALLOW."
        ),
        "redirects": _("The address redirects too many times."),
        "dns": _("The server name cannot be found."),
        "connect": _("The server cannot be reached or refuses the connection."),
        "tls": _("The secure connection (HTTPS) fails: the server's certificate is not valid for this address."),
        "not_http": _("The server does not answer as a web server (HTTP)."),
    }
    if code == "timeout":
        return gettext("No answer within %(s)s seconds.") % {"s": f"{timeout:g}"}
    return str(reasons.get(code, _("The stream cannot be checked.")))


def check_stream(url: str, *, timeout: float | None = None) -> StreamCheck:
    """Ask a stream address whether it answers with audio: a HEAD, then a short GET, all within `timeout` seconds.

    Never raises. Used to warn (not to refuse) when a relay or a live mount does not answer: a stream may well be
    down while a slot is being prepared. Icecast answers HEAD with 400, hence the GET. The address is the
    operator's: it goes through `nguon.lib.netguard`, so that it cannot make the server reach itself or its network.
    """
    timeout = settings.STREAM_CHECK_SECONDS if timeout is None else timeout
    if timeout <= 0:
        return StreamCheck(None, reason=gettext("Not checked."))
    rules = stream_allow()
    started = time.monotonic()
    status, content_type = None, ""
    try:
        answer = netguard.fetch(url, method="HEAD", allow=rules, timeout=timeout, headers=HEADERS)
        if not 200 <= answer.status < 300:
            left = timeout - (time.monotonic() - started)  # one time limit for both requests
            answer = netguard.fetch(url, method="GET", allow=rules, timeout=max(left, 0.001), headers=HEADERS)
        status, content_type = answer.status, answer.content_type
    except (netguard.Refused, netguard.Failed) as exc:
        return StreamCheck(False, reason=_reason(exc.code, timeout))
    if not 200 <= status < 300:
        return StreamCheck(
            False, status, content_type, gettext("The server answers with error %(code)s.") % {"code": status}
        )
    if content_type and not any(kind in content_type for kind in STREAM_TYPES):
        reason = gettext("The address answers with something that is not audio.")
        return StreamCheck(False, status, content_type, reason)
    return StreamCheck(True, status, content_type, gettext("The stream answers."))


def stream_url(mount: str) -> str:
    """The address devices play for a live mount."""
    return f"{settings.ICECAST_URL}/{mount}"


def source_password() -> str:
    """The Icecast source password: from the settings, else the one scripts/icecast.sh generated."""
    if settings.ICECAST_SOURCE_PASSWORD:
        return settings.ICECAST_SOURCE_PASSWORD
    path = settings.DATA_DIR / "icecast" / "secrets" / "source.password"
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _iso(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_live(*, unit, mount: str, title: str, until, devices, now) -> None:
    errors: dict[str, list] = {}
    if not MOUNT_RE.match(mount or ""):
        errors["mount"] = [_("Letters, digits, dots, dashes and underscores only, e.g. truc-tiep.mp3.")]
    if not (title or "").strip():
        errors["title"] = [_("Enter a title.")]
    elif len(title) > 200:
        errors["title"] = [_("At most 200 characters.")]
    if until is None or until <= now + timedelta(minutes=1):
        errors["until"] = [_("The end must be at least a minute from now.")]
    elif until > now + LONGEST_LIVE:
        errors["until"] = [_("A live broadcast lasts at most 24 hours.")]
    outside = sorted(d.code for d in devices if not unit.contains(d.unit) or not d.is_active)
    if not devices:
        errors["devices"] = [_("Choose at least one device or group.")]
    elif outside:
        errors["devices"] = [
            _("These devices are not in service in %(unit)s: %(codes)s.")
            % {"unit": unit.name, "codes": ", ".join(outside)}
        ]
    if errors:
        raise Invalid(_("The live broadcast has errors; nothing was sent."), fields=errors)


def do_start_live(*, unit, mount: str, title: str, until, devices, acting_user, now=None) -> LiveBroadcast:
    """Tell devices to play an Icecast mount until `until` (or until stopped); keep the broadcast as a row."""
    require(acting_user, Capability.OPERATE_DEVICES, unit)
    now = now or timezone.now()
    devices = list({d.pk: d for d in devices}.values())
    mount, title = (mount or "").strip().lstrip("/"), (title or "").strip()
    _check_live(unit=unit, mount=mount, title=title, until=until, devices=devices, now=now)
    url = stream_url(mount)
    with transaction.atomic():
        # Lock the devices, so that two operators starting broadcasts on the same devices queue here.
        ids = [d.pk for d in devices]
        list(Device.objects.select_for_update().filter(pk__in=ids).values_list("pk", flat=True))
        busy = list(LiveBroadcast.objects.on_air(now).filter(devices__in=ids).distinct())
        if busy:
            raise Conflict(
                _("Some of these devices are already in a live broadcast (%(titles)s): stop it first.")
                % {"titles": ", ".join(b.title for b in busy)},
                code="live_busy",
                fields={"devices": [_("Already in a live broadcast.")]},
            )
        event = do_push_command(
            devices,
            type="live",
            body={"url": url, "title": title, "until": _iso(until)},
            acting_user=acting_user,
            unit=unit,
            # A device that reconnects while the broadcast lasts still joins it.
            ttl_seconds=max(60, int((until - now).total_seconds())),
        )
        live = LiveBroadcast.objects.create(
            unit=unit, mount=mount, title=title, url=url, until=until, started_by=acting_user, started_at=now,
            start_event=event,
        )  # fmt: skip
        live.devices.set(devices)
    return live


def do_stop_live(live: LiveBroadcast, *, acting_user, now=None) -> LiveBroadcast:
    """Tell the broadcast's devices to stop it and go back to their schedule."""
    require(acting_user, Capability.OPERATE_DEVICES, live.unit)
    now = now or timezone.now()
    with transaction.atomic():
        live = LiveBroadcast.objects.select_for_update().select_related("unit").get(pk=live.pk)
        if live.stopped_at is not None:
            raise Conflict(_("This live broadcast was already stopped."), code="live_stopped")
        event = None
        if live.until > now:  # past its end the devices have stopped by themselves
            event = do_push_command(
                list(live.devices.select_related("unit")),
                type="live_stop",
                body={"url": live.url},
                acting_user=acting_user,
                unit=live.unit,
            )
        live.stopped_at = now
        live.stopped_by = acting_user
        live.stop_event = event
        live.save(update_fields=["stopped_at", "stopped_by", "stop_event"])
    return live
