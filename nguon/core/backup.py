"""Online backup and restore of one instance: the database, the media files and the keys, with a manifest.

A backup is a directory (mode 700: it holds the signing key):

    manifest.json          format, time, database engine, and every file below with its size and SHA-256
    database.sqlite3       SQLite: a consistent copy made through SQLite's backup API while the app runs
    database.pgdump        PostgreSQL: `pg_dump --format=custom` (one snapshot; the app keeps running)
    media/…                the media files (content-addressed: a file already in the backup is not copied again)
    keys/…                 the device signing key, the central link key, the secret key (when generated)

Restore checks every checksum before it touches anything, refuses a target that already holds data unless told
(`--force`), then writes the database, the media files and the keys where this instance's settings expect them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _

FORMAT = 1
MANIFEST = "manifest.json"
CHUNK = 1024 * 1024


class BackupError(Exception):
    """What is wrong, said for the operator (translated); `problems` lists one line per file when there are many."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


Progress = Callable[[str], None]


@dataclass
class Key:
    role: str  # signing, central, secret, icecast/<name>
    path: Path  # where this instance keeps it


def _keys() -> list[Key]:
    """The secrets an instance cannot be rebuilt without (devices are pinned to the signing key)."""
    data = settings.DATA_DIR
    keys = [
        Key("signing", Path(settings.SIGNING_KEY_FILE) if settings.SIGNING_KEY_FILE else data / "signing_key.pem"),
        Key("central", Path(settings.CENTRAL_KEY_FILE) if settings.CENTRAL_KEY_FILE else data / "central_key.pem"),
    ]
    if settings.SECRET_KEY_GENERATED:
        keys.append(Key("secret", data / "secret_key"))
    secrets = data / "icecast" / "secrets"
    for name in ("source", "admin", "relay"):
        keys.append(Key(f"icecast/{name}", secrets / f"{name}.password"))
    return keys


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def _copy(source: Path, target: Path) -> str:
    """Copy a file (to a temporary name, then renamed: a crash leaves no half file) and return its SHA-256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256()
    partial = target.with_name(target.name + ".part")
    with source.open("rb") as reader, partial.open("wb") as writer:
        while chunk := reader.read(CHUNK):
            sha.update(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    shutil.copystat(source, partial)
    partial.replace(target)
    return sha.hexdigest()


def _media_files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path


def _size(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB"


class _Ticker:
    """Calls `progress` at most every two seconds while a long loop runs, and once at the end."""

    def __init__(self, progress: Progress, every: float = 2.0):
        self.progress, self.every, self.last = progress, every, 0.0

    def __call__(self, text: str, *, last: bool = False) -> None:
        now = time.monotonic()
        if last or now - self.last >= self.every:
            self.last = now
            self.progress(text)


def _database() -> dict:
    return connections["default"].settings_dict


def _pg_env(db: dict) -> dict:
    env = {**os.environ, "PGDATABASE": str(db["NAME"]), "PGCONNECT_TIMEOUT": "10"}
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[name] = str(db[key])
    return env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            _("%(tool)s is not installed: install PostgreSQL's client tools (apt-get install postgresql-client).")
            % {"tool": name}
        )
    return found


def _engine() -> str:
    vendor = connections["default"].vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(_("Only SQLite and PostgreSQL databases can be backed up by this command."))
    return vendor


# ----- backup -----


@dataclass
class BackupResult:
    path: Path
    database_bytes: int
    media_files: int
    media_copied: int
    media_bytes: int
    keys: list[str] = field(default_factory=list)


def backup(dest: Path, *, progress: Progress) -> BackupResult:
    """Write a backup of this instance into `dest` (new or empty, or an earlier backup, which is brought up to date)."""
    dest = dest.resolve()
    engine = _engine()
    previous = _read_manifest(dest) if (dest / MANIFEST).exists() else None
    if previous is None and dest.exists() and any(dest.iterdir()):
        raise BackupError(
            _("%(path)s is not empty and holds no Nguồn backup: choose a new or empty directory.") % {"path": dest}
        )
    dest.mkdir(parents=True, exist_ok=True, mode=0o700)
    dest.chmod(0o700)
    # The manifest goes last: a backup interrupted half way has none and is refused by `restore`.
    (dest / MANIFEST).unlink(missing_ok=True)
    files: dict[str, dict] = {}

    database = _backup_sqlite(dest, progress) if engine == "sqlite" else _backup_postgres(dest, progress)
    files[database.name] = {"size": database.stat().st_size, "sha256": _digest(database)}
    for stale in {"database.sqlite3", "database.pgdump"} - {database.name}:
        (dest / stale).unlink(missing_ok=True)

    media_root = Path(settings.MEDIA_ROOT)
    known = {k: v for k, v in (previous or {}).get("files", {}).items() if k.startswith("media/")}
    sources = list(_media_files(media_root))
    copied = copied_bytes = 0
    tick = _Ticker(progress)
    for number, source in enumerate(sources, 1):
        name = "media/" + source.relative_to(media_root).as_posix()
        target = dest / name
        size = source.stat().st_size
        entry = known.get(name)
        if entry and entry["size"] == size and target.is_file() and target.stat().st_size == size:
            files[name] = entry  # already in this backup; the names are content hashes, so it is the same file
        else:
            files[name] = {"size": size, "sha256": _copy(source, target)}
            copied += 1
            copied_bytes += size
        tick(_("media: %(n)d of %(total)d files (%(copied)d copied, %(size)s)")
             % {"n": number, "total": len(sources), "copied": copied, "size": _size(copied_bytes)})  # fmt: skip
    tick(_("media: %(total)d files (%(copied)d copied, %(size)s)")
         % {"total": len(sources), "copied": copied, "size": _size(copied_bytes)}, last=True)  # fmt: skip
    for name in set(known) - set(files):
        (dest / name).unlink(missing_ok=True)  # deleted from the instance since the earlier backup

    saved_keys = []
    shutil.rmtree(dest / "keys", ignore_errors=True)
    for key in _keys():
        if key.path.is_file():
            name = f"keys/{key.role}"
            (dest / name).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            files[name] = {"size": key.path.stat().st_size, "sha256": _copy(key.path, dest / name), "role": key.role}
            (dest / name).chmod(0o600)
            saved_keys.append(key.role)

    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "engine": engine,
        "database": database.name,
        "files": dict(sorted(files.items())),
    }
    partial = dest / (MANIFEST + ".part")
    partial.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    partial.replace(dest / MANIFEST)
    return BackupResult(dest, files[database.name]["size"], len(sources), copied, copied_bytes, saved_keys)


def _backup_sqlite(dest: Path, progress: Progress) -> Path:
    source = Path(_database()["NAME"])
    if not source.is_file():
        raise BackupError(_("The database file %(path)s does not exist.") % {"path": source})
    target = dest / "database.sqlite3"
    partial = dest / "database.sqlite3.part"
    partial.unlink(missing_ok=True)
    progress(_("database: copying %(path)s (%(size)s)") % {"path": source, "size": _size(source.stat().st_size)})
    # One step (pages=-1): the copy reads one snapshot. In WAL mode writers go on meanwhile; a copy in several
    # steps would start over each time another connection writes, and might never end on a busy server.
    with sqlite3.connect(source, timeout=30) as reader, sqlite3.connect(partial) as writer:
        reader.backup(writer, pages=-1)
        writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    reader.close()
    writer.close()
    check = sqlite3.connect(partial)
    try:
        if check.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(_("The copy of the database does not pass SQLite's integrity check."))
    finally:
        check.close()
    partial.replace(target)
    return target


def _backup_postgres(dest: Path, progress: Progress) -> Path:
    db = _database()
    target = dest / "database.pgdump"
    partial = dest / "database.pgdump.part"
    progress(_("database: pg_dump of %(name)s on %(host)s") % {"name": db["NAME"], "host": db.get("HOST") or "local"})
    command = [_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", f"--file={partial}"]
    done = subprocess.run(command, env=_pg_env(db), capture_output=True, text=True)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(_("pg_dump failed: %(error)s") % {"error": done.stderr.strip()})
    partial.replace(target)
    return target


# ----- restore -----


def _read_manifest(source: Path) -> dict:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(
            _("%(path)s holds no manifest.json: it is not a Nguồn backup, or the backup did not finish.")
            % {"path": source}
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(_("manifest.json cannot be read: %(error)s") % {"error": exc}) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("This backup's format is not one this version can restore."))
    return manifest


def verify(source: Path, *, progress: Progress) -> dict:
    """Check every file of a backup against its manifest; return the manifest or raise BackupError listing each
    missing or damaged file."""
    source = source.resolve()
    manifest = _read_manifest(source)
    files = manifest.get("files", {})
    problems = []
    tick = _Ticker(progress)
    total = sum(entry["size"] for entry in files.values())
    done = 0
    for number, (name, entry) in enumerate(files.items(), 1):
        path = source / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            problems.append(_("%(name)s: not a path inside the backup") % {"name": name})
        elif not path.is_file():
            problems.append(_("%(name)s: missing") % {"name": name})
        elif path.stat().st_size != entry["size"]:
            problems.append(
                _("%(name)s: %(found)d bytes, the manifest says %(size)d")
                % {"name": name, "found": path.stat().st_size, "size": entry["size"]}
            )
        elif _digest(path) != entry["sha256"]:
            problems.append(_("%(name)s: damaged (its checksum differs from the manifest)") % {"name": name})
        done += entry["size"]
        tick(_("checking: %(n)d of %(total)d files (%(done)s of %(size)s)")
             % {"n": number, "total": len(files), "done": _size(done), "size": _size(total)})  # fmt: skip
    if manifest.get("database") not in files:
        problems.append(_("the database copy is not listed in the manifest"))
    if problems:
        raise BackupError(
            _("The backup in %(path)s is damaged: %(n)d problem(s); nothing was restored.")
            % {"path": source, "n": len(problems)},
            problems,
        )
    return manifest


def _target_holds_data() -> list[str]:
    """What this instance already holds (an empty list: a fresh instance)."""
    found = []
    with connections["default"].cursor():
        tables = connections["default"].introspection.table_names()
    if tables:
        found.append(_("the database has %(n)d tables") % {"n": len(tables)})
    media = next(_media_files(Path(settings.MEDIA_ROOT)), None)
    if media is not None:
        found.append(_("the media directory %(path)s holds files") % {"path": settings.MEDIA_ROOT})
    signing = next(k for k in _keys() if k.role == "signing")
    if signing.path.exists():
        found.append(_("a signing key exists at %(path)s") % {"path": signing.path})
    return found


@dataclass
class RestoreResult:
    engine: str
    media_files: int
    keys: list[str]


def restore(source: Path, *, force: bool, progress: Progress) -> RestoreResult:
    source = source.resolve()
    engine = _engine()
    manifest = verify(source, progress=progress)
    if manifest["engine"] != engine:
        raise BackupError(
            _("This backup is of a %(backup)s database and this instance uses %(here)s: restore it into the same kind.")
            % {"backup": manifest["engine"], "here": engine}
        )
    if not force:
        held = _target_holds_data()
        if held:
            raise BackupError(
                _(
                    "This instance is not empty (%(what)s). Restore into a fresh data directory and database, or add "
                    "--force to replace what is there."
                )
                % {"what": "; ".join(held)}  # fmt: skip
            )
    files = manifest["files"]
    database = source / manifest["database"]
    if engine == "sqlite":
        _restore_sqlite(database, progress)
    else:
        _restore_postgres(database, force=force, progress=progress)

    media_root = Path(settings.MEDIA_ROOT)
    media = [name for name in files if name.startswith("media/")]
    tick = _Ticker(progress)
    for number, name in enumerate(media, 1):
        target = media_root / name.removeprefix("media/")
        entry = files[name]
        same = target.is_file() and target.stat().st_size == entry["size"] and _digest(target) == entry["sha256"]
        if not same:
            _copy(source / name, target)
        tick(_("media: %(n)d of %(total)d files") % {"n": number, "total": len(media)})
    tick(_("media: %(total)d files") % {"total": len(media)}, last=True)

    restored = []
    where = {key.role: key.path for key in _keys()}
    where.setdefault("secret", settings.DATA_DIR / "secret_key")
    for name, entry in files.items():
        role = entry.get("role")
        if not name.startswith("keys/") or role not in where:
            continue
        if role == "secret" and not settings.SECRET_KEY_GENERATED:
            continue  # NGUON_SECRET_KEY is set here: the environment's key wins
        target = where[role]
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(source / name, target)
        target.chmod(0o600)
        restored.append(role)
    return RestoreResult(engine, len(media), restored)


def _restore_sqlite(database: Path, progress: Progress) -> None:
    target = Path(_database()["NAME"])
    progress(_("database: writing %(path)s") % {"path": target})
    connections.close_all()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=target.name, suffix=".part", delete=False) as handle:
        partial = Path(handle.name)
    try:
        with sqlite3.connect(database) as reader, sqlite3.connect(partial) as writer:
            reader.backup(writer, pages=-1)
        reader.close()
        writer.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _restore_postgres(database: Path, *, force: bool, progress: Progress) -> None:
    db = _database()
    progress(_("database: pg_restore into %(name)s") % {"name": db["NAME"]})
    connections.close_all()
    command = [_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
    if force:
        command += ["--clean", "--if-exists"]
    command += [f"--dbname={db['NAME']}", str(database)]
    done = subprocess.run(command, env=_pg_env(db), capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(_("pg_restore failed (nothing was changed in the database): %(error)s")
                          % {"error": done.stderr.strip()})  # fmt: skip
