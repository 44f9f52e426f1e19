"""Outside channels a notification can go through, behind one interface. E-mail is built in.

A channel adapter (SMS, Zalo OA, …) subclasses `Channel` and is registered once, from its app's `ready()`:

    from nguon.notifications import channels

    class ZaloChannel(channels.Channel):
        name = "zalo"
        label = _("Zalo")

        def address(self, user) -> str:
            return user.phone  # "" when the person cannot be reached this way

        def send(self, notification, address) -> None:
            ...  # raise TemporaryFailure to be retried, PermanentFailure to give up

    channels.register(ZaloChannel())

From then on the preferences page offers it, `notify()` queues a `Delivery` row for each person who wants it and
has an address, and the worker calls `send()` (once per row: the claim makes retries and several workers safe).
"""

from __future__ import annotations

import smtplib
from email.utils import formataddr
from urllib.parse import urljoin

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from nguon.notifications.kinds import KINDS


class TemporaryFailure(Exception):
    """The channel could not deliver now; the delivery is retried later."""


class PermanentFailure(Exception):
    """The channel will never deliver this one (a refused address): no retry."""


class Channel:
    """An outside channel. `name` is stored in delivery rows and preferences: never rename it."""

    name: str = ""
    label = ""

    def default_enabled(self, kind: str) -> bool:
        """Whether people get `kind` through this channel until they choose otherwise."""
        return False

    def address(self, user) -> str:
        """Where to reach `user` on this channel, "" when they cannot be reached."""
        raise NotImplementedError

    def send(self, notification, address: str) -> None:
        """Deliver one notification; return normally once the provider has accepted it."""
        raise NotImplementedError


def absolute(link: str) -> str:
    return urljoin(settings.PUBLIC_URL.rstrip("/") + "/", link.lstrip("/")) if link else ""


class EmailChannel(Channel):
    name = "email"
    label = gettext_lazy("E-mail")

    def default_enabled(self, kind: str) -> bool:
        info = KINDS.get(kind)
        return bool(info and info.email_default)

    def address(self, user) -> str:
        return (user.email or "").strip()

    def message(self, notification, address: str) -> EmailMessage:
        with translation.override(settings.LANGUAGE_CODE):
            lines = [notification.title, ""]
            if notification.body:
                lines += [notification.body, ""]
            if notification.link:
                lines += [_("Open: %(url)s") % {"url": absolute(notification.link)}, ""]
            lines += [
                "-- ",
                _("Nguồn — Provincial source information system"),
                _("Choose which notifications reach you by e-mail: %(url)s")
                % {"url": absolute("/notifications/settings/")},
            ]
            subject = f"[{_('Nguồn')}] {notification.title}"
        name = notification.recipient.full_name or notification.recipient.get_username()
        return EmailMessage(
            subject=subject.replace("\n", " ")[:250],
            body="\n".join(lines),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[formataddr((name, address))],
            headers={"Auto-Submitted": "auto-generated", "X-Nguon-Notification": str(notification.pk)},
        )

    def send(self, notification, address: str) -> None:
        message = self.message(notification, address)
        try:
            with get_connection(fail_silently=False) as connection:
                message.connection = connection
                message.send()
        except smtplib.SMTPRecipientsRefused as exc:
            # 5xx refusals are final; 4xx (a full mailbox, greylisting) may pass later.
            codes = [code for code, _message in exc.recipients.values()]
            failure = PermanentFailure if codes and all(code >= 500 for code in codes) else TemporaryFailure
            raise failure(_short(exc)) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused connection, timeout, 4xx answers
            raise TemporaryFailure(_short(exc)) from exc


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


_REGISTRY: dict[str, Channel] = {}


def register(channel: Channel) -> Channel:
    if not channel.name:
        raise ValueError("a channel needs a name")
    _REGISTRY[channel.name] = channel
    return channel


def get(name: str) -> Channel | None:
    return _REGISTRY.get(name)


def all_channels() -> list[Channel]:
    return list(_REGISTRY.values())


register(EmailChannel())
