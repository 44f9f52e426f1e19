"""Database work of the notifications benchmark, run as subprocesses with NGUON_DATA_DIR set.

python -m bench.notifications.setup populate    migrate; province 75 and one commune; a commune approver with an
                                                e-mail address and a session already past TOTP, and an editor;
                                                prints {"cookie": the approver's session id}
python -m bench.notifications.setup submit      reads one line per alert from stdin; for each, the editor saves an
                                                alert awaiting approval (do_create_alert: the receivers run after
                                                its commit, in this process, as in a web request) and prints
                                                {"id", "submitted_at": just before, "committed_at": after}
"""

from __future__ import annotations

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")
os.environ.setdefault("NGUON_SPEECH_AUTO_RENDER", "0")  # no speech render behind the benchmark's back

APPROVER, EDITOR = "bench.approver", "bench.editor"
APPROVER_EMAIL = "pheduyet@bench.nguon.test"


def populate() -> None:
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from nguon.accounts.actions import do_create_user, do_grant_role
    from nguon.accounts.roles import Role
    from nguon.units.actions import ensure_unit_types
    from nguon.units.models import Unit

    call_command("migrate", verbosity=0, interactive=False)
    types = ensure_unit_types()
    province = Unit.objects.create(code="75", name="Đồng Nai", unit_type=types["tinh"])
    commune = Unit.objects.create(code="26068", name="Phường Biên Hòa", unit_type=types["phuong"], parent=province)
    approver = do_create_user(username=APPROVER, password="bench-password-1", unit=commune, acting_user=None)
    approver.email = APPROVER_EMAIL
    approver.save(update_fields=["email"])
    do_grant_role(approver, role=Role.APPROVER, unit=commune, acting_user=None)
    editor = do_create_user(username=EDITOR, password="bench-password-1", unit=commune, acting_user=None)
    do_grant_role(editor, role=Role.EDITOR, unit=commune, acting_user=None)
    # A signed-in session past the second factor, as the browser would hold after the real steps.
    client = Client()
    client.force_login(approver, backend="nguon.accounts.backends.RoleBackend")
    device = TOTPDevice.objects.create(user=approver, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    print(json.dumps({"cookie": client.cookies[settings.SESSION_COOKIE_NAME].value}))


def submit() -> None:
    from datetime import timedelta

    from django.utils import timezone

    from nguon.accounts.models import User
    from nguon.alerts.actions import do_create_alert
    from nguon.units.models import Unit

    editor = User.objects.get(username=EDITOR)
    commune = Unit.objects.get(code="26068")
    print(json.dumps({"ready": True}), flush=True)
    for n, _line in enumerate(sys.stdin, 1):
        now = timezone.now()
        data = {
            "event": "Lũ lụt",
            "categories": ["Met"],
            "urgency": "Immediate",
            "severity": "Severe",
            "certainty": "Likely",
            "headline": f"Cảnh báo lũ số {n}",
            "description": "Mực nước sông Đồng Nai đang lên nhanh.",
            "expires": now + timedelta(hours=6),
            "area_units": [commune],
        }
        submitted_at = time.time()
        alert = do_create_alert(data, unit=commune, acting_user=editor)
        print(json.dumps({"id": alert.pk, "submitted_at": submitted_at, "committed_at": time.time()}), flush=True)


if __name__ == "__main__":
    django.setup()
    {"populate": populate, "submit": submit}[sys.argv[1]]()
