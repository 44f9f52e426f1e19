"""Deployment checks: warn about production settings left at their defaults (`nguon check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register("nguon", Tags.security, deploy=True)
def production_defaults(app_configs, **kwargs):
    warnings = []
    if settings.DEBUG:
        warnings.append(Warning("NGUON_DEBUG is on.", hint="Unset it in production.", id="nguon.W001"))
    if settings.SECRET_KEY_GENERATED:
        warnings.append(
            Warning(
                "The secret key was generated into the data directory.",
                hint="Set NGUON_SECRET_KEY from your secret store so that every server shares it.",
                id="nguon.W002",
            )
        )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        warnings.append(
            Warning(
                "The database is SQLite.",
                hint="Set NGUON_DATABASE_URL to PostgreSQL for a province-wide installation.",
                id="nguon.W003",
            )
        )
    if not settings.REDIS_URL:
        warnings.append(
            Warning(
                "Background tasks use the SQLite queue.",
                hint="Set NGUON_REDIS_URL for production.",
                id="nguon.W004",
            )
        )
    if not settings.SECURE_COOKIES:
        warnings.append(
            Warning(
                "Cookies are not marked Secure.",
                hint="Serve over HTTPS and set NGUON_SECURE_COOKIES=1.",
                id="nguon.W005",
            )
        )
    if set(settings.ALLOWED_HOSTS) <= {"127.0.0.1", "localhost", "[::1]"}:
        warnings.append(
            Warning(
                "NGUON_ALLOWED_HOSTS only lists this machine.",
                hint="List the public host name.",
                id="nguon.W006",
            )
        )
    if not settings.SMTP_HOST:
        warnings.append(
            Warning(
                "No SMTP server: e-mail (notifications, password reset) is only written to the log.",
                hint="Set NGUON_SMTP_HOST (and NGUON_SMTP_USER, NGUON_SMTP_PASSWORD, NGUON_EMAIL_FROM).",
                id="nguon.W008",
            )
        )
    warnings.extend(_demo_accounts())
    return warnings


def _demo_accounts():
    from django.db import DatabaseError

    from nguon.core.demo import DEMO_USERS

    try:
        from nguon.accounts.models import User

        present = User.objects.filter(username__in=[u.username for u in DEMO_USERS], is_active=True).exists()
    except DatabaseError:
        return []
    if present:
        return [
            Warning(
                "Demo accounts with published passwords are active.",
                hint="Deactivate them before going live.",
                id="nguon.W007",
            )
        ]
    return []
