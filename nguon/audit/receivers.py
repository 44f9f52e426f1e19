"""Sign-in events go to the audit log like any other action."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.dispatch import receiver

from nguon.audit.actions import record_event


@receiver(user_logged_in, dispatch_uid="audit_login")
def _logged_in(sender, request, user, **kwargs):
    with transaction.atomic():
        record_event("accounts.login", actor=user, obj=user)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        with transaction.atomic():
            record_event("accounts.logout", actor=user, obj=user)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    # Never record the password; the username alone says who was tried.
    with transaction.atomic():
        record_event("accounts.login_failed", actor_label=str(credentials.get("username", ""))[:150])


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def _locked_out(sender, request, username, ip_address, **kwargs):
    with transaction.atomic():
        record_event("accounts.locked_out", actor_label=str(username or "")[:150], changes={"ip": ip_address})
