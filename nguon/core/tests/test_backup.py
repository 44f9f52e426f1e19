"""`nguon backup` / `nguon restore`: an instance with bulletins, an alert, audit rows and media files is backed up
while it runs, restored into a fresh data directory (and a fresh PostgreSQL database when the suite runs on
PostgreSQL), and the restored instance holds every row and file, with an audit chain that still verifies."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from nguon.alerts.models import Alert
from nguon.alerts.tests.helpers import make_alert
from nguon.audit.actions import verify_chain
from nguon.audit.models import AuditEvent
from nguon.broadcast.keys import signer
from nguon.broadcast.tests.device_helpers import make_image
from nguon.central.tests.processes import databases, drop_databases
from nguon.content.models import Bulletin, MediaAsset
from nguon.content.tests.conftest import make_bulletin, publish

# What the restored instance prints about itself (run in its own process, with its own settings).
REPORT = """
import hashlib, json
from pathlib import Path
from django.conf import settings
from nguon.alerts.models import Alert
from nguon.audit.models import AuditEvent
from nguon.content.models import Bulletin, MediaAsset
def digest(name):
    path = Path(settings.MEDIA_ROOT) / name
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
print(json.dumps({
    "bulletins": sorted([b.pk, b.current_revision.title, b.status] for b in Bulletin.objects.all()),
    "alerts": sorted([a.pk, a.identifier, a.headline] for a in Alert.objects.all()),
    "audit": sorted(AuditEvent.objects.values_list("pk", "hash")),
    "media": sorted([m.sha256, digest(m.file.name)] for m in MediaAsset.objects.all()),
}))
"""


def _snapshot() -> dict:
    def digest(name):
        return hashlib.sha256((Path(settings.MEDIA_ROOT) / name).read_bytes()).hexdigest()

    return {
        "bulletins": sorted([b.pk, b.current_revision.title, b.status] for b in Bulletin.objects.all()),
        "alerts": sorted([a.pk, a.identifier, a.headline] for a in Alert.objects.all()),
        "audit": sorted([pk, h] for pk, h in AuditEvent.objects.values_list("pk", "hash")),
        "media": sorted([m.sha256, digest(m.file.name)] for m in MediaAsset.objects.all()),
    }


def _nguon(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nguon", *args], env=env, cwd=settings.PROJECT_DIR, capture_output=True, text=True
    )


@pytest.fixture
def fresh(tmp_path):
    """The environment of a fresh instance: an empty data directory, and an empty database."""
    urls = databases(["restore"])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "nguon.config.settings",
        "NGUON_DATA_DIR": str(tmp_path / "fresh"),
        "NGUON_DATABASE_URL": urls.get("restore", ""),  # empty: SQLite in the fresh data directory
        "NGUON_DEBUG": "false",
    }
    env.pop("NGUON_SECRET_KEY", None)
    yield env
    drop_databases(list(urls.values()))


def test_a_backup_restores_into_a_fresh_instance_with_every_row_and_file(cast, transactional_db, tmp_path, fresh):
    bulletins = [make_bulletin(cast.commune, cast.commune_editor, title=f"Bản tin số {n}") for n in range(3)]
    publish(bulletins[0], editor=cast.commune_editor, approver=cast.approver)
    make_alert(cast)
    images = [make_image(cast, seed=n) for n in (11, 12, 13)]
    signer()  # the signing key devices are pinned to
    assert verify_chain(record=False).ok
    before = _snapshot()
    assert len(before["bulletins"]) == 3 and len(before["alerts"]) == 1 and len(before["media"]) == 3
    assert len(before["audit"]) >= 7

    dest = tmp_path / "backup"
    call_command("backup", str(dest))
    manifest = json.loads((dest / "manifest.json").read_text())
    assert manifest["engine"] in ("sqlite", "postgresql")
    assert {f"media/{image.file.name}" for image in images} <= set(manifest["files"])
    assert (dest / "keys" / "signing").read_bytes() == (settings.DATA_DIR / "signing_key.pem").read_bytes()
    assert oct(dest.stat().st_mode & 0o777) == "0o700"

    # Again into the same directory: nothing new to copy, the manifest is rewritten.
    call_command("backup", str(dest))

    restored = _nguon(fresh, "restore", str(dest))
    assert restored.returncode == 0, restored.stderr
    data = Path(fresh["NGUON_DATA_DIR"])
    assert (data / "signing_key.pem").read_bytes() == (settings.DATA_DIR / "signing_key.pem").read_bytes()

    verified = _nguon(fresh, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    report = _nguon(fresh, "shell", "-c", REPORT)
    assert report.returncode == 0, report.stderr
    after = json.loads(report.stdout.strip().splitlines()[-1])  # the shell may print a line of its own first
    assert after == before

    # The restored instance now holds data: a second restore is refused, and says why.
    again = _nguon(fresh, "restore", str(dest))
    assert again.returncode == 1
    assert "--force" in again.stderr  # the message is in the instance's language; the option is not


def test_restore_refuses_a_damaged_backup_and_names_the_file(cast, transactional_db, tmp_path, fresh):
    image = make_image(cast, seed=21)
    dest = tmp_path / "backup"
    call_command("backup", str(dest))
    damaged = dest / "media" / image.file.name
    damaged.write_bytes(b"x" + damaged.read_bytes()[1:])
    (dest / "keys" / "signing").unlink(missing_ok=True)

    checked = _nguon(fresh, "restore", "--check", str(dest))
    assert checked.returncode == 1
    assert f"media/{image.file.name}:" in checked.stderr
    restored = _nguon(fresh, "restore", str(dest))
    assert restored.returncode == 1
    assert f"media/{image.file.name}:" in restored.stderr
    assert not list(Path(fresh["NGUON_DATA_DIR"]).rglob("*.png")), "a damaged backup was partly restored"
    assert not (Path(fresh["NGUON_DATA_DIR"]) / "signing_key.pem").exists()


def test_a_directory_that_is_not_a_backup_is_refused(db, tmp_path, fresh):
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "notes.txt").write_text("not a backup")
    result = _nguon(fresh, "backup", str(stray))
    assert result.returncode == 1
    assert str(stray) in result.stderr
    result = _nguon(fresh, "restore", str(stray))
    assert result.returncode == 1
    assert "manifest.json" in result.stderr
