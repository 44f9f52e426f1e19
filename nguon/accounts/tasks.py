"""Background jobs of the accounts app."""

from django.core.mail import EmailMultiAlternatives
from huey.contrib.djhuey import db_task


@db_task(retries=3, retry_delay=30)
def send_password_reset_mail(subject: str, body: str, from_email: str | None, to_email: str) -> None:
    # Sent by the worker, not the request: the answer to "reset my password" takes the same time whether or not
    # the address belongs to an account, so the page reveals nothing about who has one.
    EmailMultiAlternatives(subject, body, from_email, [to_email]).send()
