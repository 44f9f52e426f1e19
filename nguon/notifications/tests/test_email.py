"""E-mail through a real SMTP server on loopback (aiosmtpd), sent by a real worker; failures kept and retried."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from nguon.alerts.tests.helpers import make_alert
from nguon.audit.tests.test_worker import live_consumer  # noqa: F401  (a real Huey consumer)
from nguon.notifications.actions import MAX_ATTEMPTS, deliver_due
from nguon.notifications.models import Delivery, DeliveryState, Kind
from nguon.notifications.tests.helpers import office  # noqa: F401  (fixture)
from nguon.notifications.tests.smtp import smtp_server  # noqa: F401  (fixture)


def wait_until(condition, timeout: float = 10.0) -> bool:
    """Poll a condition another thread makes true (the worker's write after the SMTP answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.django_db(transaction=True)
def test_worker_sends_the_alert_email_through_smtp(cast, office, smtp_server, live_consumer, settings):  # noqa: F811
    settings.DEFAULT_FROM_EMAIL = "Nguồn <no-reply@nguon.test>"
    alert = make_alert(cast, unit=cast.commune, user=cast.commune_editor, headline="Lũ trên sông Đồng Nai")

    received = {smtp_server.sink.next().recipients[0] for _ in range(2)}
    assert received == {"approver.bienhoa@example.vn", "approver.tinh@example.vn"}
    delivery = Delivery.objects.get(address="approver.bienhoa@example.vn")
    assert delivery.notification.kind == Kind.ALERT_PENDING
    assert delivery.notification.link == f"/alerts/{alert.pk}/"
    # The worker records the outcome right after the server accepted the message.
    assert wait_until(lambda: Delivery.objects.filter(state=DeliveryState.SENT).count() == 2)
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_error) == (1, "")
    assert smtp_server.sink.inbox.empty()  # each approver once, nobody else


@pytest.mark.django_db
def test_message_content(cast, office, smtp_server, django_capture_on_commit_callbacks, settings):  # noqa: F811
    settings.DEFAULT_FROM_EMAIL = "Nguồn <no-reply@nguon.test>"
    with django_capture_on_commit_callbacks(execute=True):
        alert = make_alert(cast, unit=cast.commune, user=cast.commune_editor, headline="Lũ trên sông Đồng Nai")
    got = {r.recipients[0]: r for r in (smtp_server.sink.next(), smtp_server.sink.next())}
    message = got["approver.bienhoa@example.vn"].message
    # Python folds the encoded header after "Subject:"; mail readers drop the space.
    assert message["Subject"].strip() == "[Nguồn] Cảnh báo chờ phê duyệt: Lũ trên sông Đồng Nai"
    assert message["To"].addresses[0].addr_spec == "approver.bienhoa@example.vn"
    assert message["From"] == "Nguồn <no-reply@nguon.test>"
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_content()
    assert f"http://127.0.0.1:8000/alerts/{alert.pk}/" in text
    assert "Người trình: editor.bienhoa." in text
    assert "http://127.0.0.1:8000/notifications/settings/" in text
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 2


@pytest.mark.django_db
def test_server_down_the_action_goes_on_and_the_delivery_is_retried(
    cast,
    office,  # noqa: F811
    smtp_server,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        alert = make_alert(cast, unit=cast.commune, user=cast.commune_editor)
    alert.refresh_from_db()
    assert alert.state == "pending"  # the alert stands; only the e-mail waits
    delivery = Delivery.objects.get(address="approver.bienhoa@example.vn")
    assert delivery.notification.recipient == office.commune_approver
    assert (delivery.state, delivery.attempts) == (DeliveryState.QUEUED, 1)
    assert "ConnectionRefusedError" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=20)

    # Not due yet: the periodic job leaves it.
    assert deliver_due()["sent"] == 0
    # The server is back; once the delay has passed the periodic job sends it.
    smtp_server.start()
    outcome = deliver_due(now=delivery.next_attempt_at + timedelta(seconds=1))
    assert outcome["sent"] == 2
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == (DeliveryState.SENT, 2, "")


@pytest.mark.django_db
def test_gives_up_after_the_last_attempt(cast, office, smtp_server, django_capture_on_commit_callbacks):  # noqa: F811
    smtp_server.stop()
    with django_capture_on_commit_callbacks(execute=True):
        make_alert(cast, unit=cast.commune, user=cast.commune_editor)
    delivery = Delivery.objects.get(address="approver.bienhoa@example.vn")
    for _ in range(MAX_ATTEMPTS - 1):
        delivery.refresh_from_db()
        deliver_due(now=delivery.next_attempt_at)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, MAX_ATTEMPTS)
    assert deliver_due(now=timezone.now() + timedelta(days=1))["skipped"] == 0


@pytest.mark.django_db
def test_a_refused_address_is_not_retried(cast, office, smtp_server, django_capture_on_commit_callbacks):  # noqa: F811
    smtp_server.sink.refuse.add("approver.bienhoa@example.vn")
    with django_capture_on_commit_callbacks(execute=True):
        make_alert(cast, unit=cast.commune, user=cast.commune_editor)
    refused = Delivery.objects.get(address="approver.bienhoa@example.vn")
    assert (refused.state, refused.attempts) == (DeliveryState.FAILED, 1)
    assert "550" in refused.last_error
    assert Delivery.objects.get(address="approver.tinh@example.vn").state == DeliveryState.SENT
    assert smtp_server.sink.next().recipients == ["approver.tinh@example.vn"]


@pytest.mark.django_db
def test_wrong_smtp_password_is_recorded(cast, office, smtp_server, settings, django_capture_on_commit_callbacks):  # noqa: F811
    settings.EMAIL_HOST_PASSWORD = "wrong"
    with django_capture_on_commit_callbacks(execute=True):
        make_alert(cast, unit=cast.commune, user=cast.commune_editor)
    delivery = Delivery.objects.get(address="approver.bienhoa@example.vn")
    assert delivery.state == DeliveryState.QUEUED
    assert "SMTPAuthenticationError" in delivery.last_error
    assert smtp_server.sink.inbox.empty()
