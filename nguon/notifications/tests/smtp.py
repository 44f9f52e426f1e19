"""A real SMTP server on loopback (aiosmtpd in a thread) that keeps what it receives, with AUTH and refusals."""

from __future__ import annotations

import email
import email.policy
import queue
import socket
import time
import warnings
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

USER, PASSWORD = "nguon", "smtp-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    at: float  # time.monotonic() when the message was accepted
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage


@dataclass
class Sink:
    """The handler: accepts mail for any address except those in `refuse` (550), records each message."""

    refuse: set[str] = field(default_factory=set)
    inbox: queue.Queue = field(default_factory=queue.Queue)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.inbox.put(Received(time.monotonic(), envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def next(self, timeout: float = 15) -> Received:
        return self.inbox.get(timeout=timeout)


def _authenticate(server, session, envelope, mechanism, auth_data):
    ok = getattr(auth_data, "login", b"") == USER.encode() and getattr(auth_data, "password", b"") == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """Start and stop a server on one port (stop() then start() again: an outage and a recovery)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.sink = Sink()
        self.controller = None

    def start(self) -> SmtpServer:
        # aiosmtpd warns that AUTH without TLS is unsafe: true, and wanted here (loopback, no certificate).
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
        self.controller = Controller(
            self.sink,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticate,
            auth_required=True,
            # Loopback in tests has no certificate; production uses STARTTLS (NGUON_SMTP_SECURITY).
            auth_require_tls=False,
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(settings):
    """A running server, and Django's SMTP backend pointed at it with credentials, as NGUON_SMTP_* would."""
    server = SmtpServer().start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = USER, PASSWORD
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.stop()
