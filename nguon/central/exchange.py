"""The documented file exchange with a provincial data-sharing platform (LGSP/NGSP), behind `CentralAdapter`.

The platform speaks its own contract; what it needs from us is files (docs/central.md, "File exchange"):

- export: every pending UP message of the parent link becomes one JSON file (an envelope: format, kind, key, seq,
  created_at, body), named `<seq:08d>-<kind>.json`, with `manifest.json` listing each file's SHA-256 and size.
  Files are written into a fresh temporary directory and moved into place only when all are written; the
  messages are marked delivered in the same step, so an export that fails leaves them pending.
- import: envelopes of DOWN kinds (a directory, with or without its manifest, or one file) are checked first, all
  of them: JSON, fields, known kind and direction, the manifest's hashes, the sequence without gaps. Then they are
  applied in sequence order in one transaction, each recorded in the inbox by its idempotency key (a file given
  twice is applied once). Any problem: a clear error, nothing applied.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from nguon.audit.actions import record_event
from nguon.central import kinds
from nguon.central.adapters import CentralAdapter, Envelope, SyncResult
from nguon.central.link_models import InboxMessage, Link, OutboxMessage
from nguon.core.errors import DomainError, Invalid

MESSAGE_FORMAT = "nguon-central-message/1"
MANIFEST_FORMAT = "nguon-central-exchange/1"
MANIFEST = "manifest.json"
MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_FILES = 10_000


class ExchangeError(Invalid):
    """A file or directory that cannot be taken in; says which file and why."""

    def __init__(self, message: str, *, file: str = ""):
        text = f"{file}: {message}" if file else message
        super().__init__(text, code="bad_exchange_file", fields={"file": [file or "-"]})


@dataclass
class ExportResult:
    directory: Path
    files: list[str] = field(default_factory=list)


@dataclass
class ImportResult:
    applied: list[str] = field(default_factory=list)  # keys applied now
    repeated: list[str] = field(default_factory=list)  # keys applied before (skipped)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def envelope_json(message: OutboxMessage) -> dict:
    return {
        "format": MESSAGE_FORMAT,
        "kind": message.kind,
        "direction": kinds.get(message.kind).direction if kinds.get(message.kind) else "",
        "key": message.key,
        "seq": message.seq,
        "created_at": message.created_at.isoformat(),
        "body": message.body,
    }


def file_name(seq: int, kind: str) -> str:
    return f"{seq:08d}-{kind}.json"


def export_messages(link: Link, out: Path, *, include_delivered: bool = False) -> ExportResult:
    """Write the link's pending messages as files into `out` (created; must be empty) and mark them delivered."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ExchangeError(_("The output directory is not empty."), file=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".nguon-export-", dir=out.parent))
    try:
        with transaction.atomic():
            messages = link.outbox.order_by("seq")
            if not include_delivered:
                messages = messages.filter(delivered_at__isnull=True)
            messages = list(messages.select_for_update())
            entries = []
            for message in messages:
                data = json.dumps(envelope_json(message), ensure_ascii=False, indent=1, sort_keys=True).encode()
                name = file_name(message.seq, message.kind)
                (staging / name).write_bytes(data)
                entries.append({"name": name, "kind": message.kind, "key": message.key, "seq": message.seq,
                                "size": len(data), "sha256": _sha256(data)})  # fmt: skip
            manifest = {
                "format": MANIFEST_FORMAT,
                "link": link.name,
                "created_at": timezone.now().isoformat(),
                "files": entries,
            }
            (staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
            OutboxMessage.objects.filter(pk__in=[m.pk for m in messages], delivered_at__isnull=True).update(
                delivered_at=timezone.now()
            )
            if messages:
                Link.objects.filter(pk=link.pk).update(
                    acked_seq=max(m.seq for m in messages), last_ok_at=timezone.now()
                )
            record_event(
                "central.files_exported",
                obj=link,
                changes={"link": link.pk, "files": len(entries), "key": entries[-1]["key"] if entries else ""},
            )
            # Into place before the commit: if the move fails, the messages stay pending.
            if out.exists():
                out.rmdir()
            os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(directory=out, files=[e["name"] for e in entries])


# --- import ---------------------------------------------------------------------------------------------------------


def _read_json(path: Path) -> object:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ExchangeError(_("The file is too large."), file=path.name)
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExchangeError(_("The file is not valid JSON: %(error)s") % {"error": exc}, file=path.name) from None
    except OSError as exc:
        raise ExchangeError(_("The file cannot be read: %(error)s") % {"error": exc}, file=path.name) from None


def parse_envelope(document: object, name: str, *, direction: str = kinds.DOWN) -> Envelope:
    """Check one envelope's fields; raise ExchangeError naming the file."""
    if not isinstance(document, dict):
        raise ExchangeError(_("The file does not hold a message object."), file=name)
    if document.get("format") != MESSAGE_FORMAT:
        raise ExchangeError(_("Unknown message format (expected %(f)s).") % {"f": MESSAGE_FORMAT}, file=name)
    kind = kinds.get(str(document.get("kind") or ""))
    if kind is None:
        raise ExchangeError(_("Unknown message kind “%(k)s”.") % {"k": document.get("kind")}, file=name)
    if kind.direction != direction:
        raise ExchangeError(_("A message of kind “%(k)s” cannot be received here.") % {"k": kind.name}, file=name)
    key, seq, body = document.get("key"), document.get("seq"), document.get("body")
    if not isinstance(key, str) or not 1 <= len(key) <= 200:
        raise ExchangeError(_("The idempotency key is missing or longer than 200 characters."), file=name)
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        raise ExchangeError(_("The sequence number is not a positive whole number."), file=name)
    if not isinstance(body, dict):
        raise ExchangeError(_("The message has no body object."), file=name)
    created = parse_datetime(str(document.get("created_at") or ""))
    if created is None or created.tzinfo is None:
        raise ExchangeError(_("created_at is not a time with its offset."), file=name)
    return Envelope(kind=kind.name, key=key, seq=seq, body=body, created_at=created.isoformat())


def _files(path: Path) -> list[Path]:
    """The message files of a directory (checked against its manifest when there is one), or the one file."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ExchangeError(_("No such file or directory."), file=str(path))
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        files = sorted(p for p in path.glob("*.json") if p.name != MANIFEST)
    else:
        manifest = _read_json(manifest_path)
        listed = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT or not isinstance(listed, list):
            raise ExchangeError(_("The manifest is not of the documented format."), file=MANIFEST)
        files = []
        for entry in listed:
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
                raise ExchangeError(_("The manifest lists a file name that is not allowed."), file=MANIFEST)
            file = path / name
            if not file.is_file():
                raise ExchangeError(_("The manifest lists a file that is missing."), file=name)
            if _sha256(file.read_bytes()) != str(entry.get("sha256") or "").lower():
                raise ExchangeError(_("The file's SHA-256 differs from the manifest's."), file=name)
            files.append(file)
    if len(files) > MAX_FILES:
        raise ExchangeError(_("Too many files in one import."), file=str(path))
    return files


def read_envelopes(path: Path) -> list[Envelope]:
    """Every envelope under `path`, checked, in sequence order; raise ExchangeError at the first bad file."""
    envelopes = [parse_envelope(_read_json(f), f.name) for f in _files(path)]
    envelopes.sort(key=lambda e: e.seq)
    seen: dict[int, str] = {}
    for envelope in envelopes:
        if seen.get(envelope.seq, envelope.key) != envelope.key:
            raise ExchangeError(_("Two messages carry the sequence number %(n)d.") % {"n": envelope.seq})
        seen[envelope.seq] = envelope.key
    return envelopes


def receive(link: Link, envelope: Envelope) -> bool:
    """Apply one message once (by its key) and record it in the inbox; False when it was applied before.

    The caller holds the transaction: the inbox row and the message's effect commit together or not at all.
    """
    if InboxMessage.objects.filter(link=link, key=envelope.key).exists():
        return False
    kinds.get(envelope.kind).apply(link, envelope.body)
    InboxMessage.objects.create(
        link=link,
        seq=envelope.seq,
        key=envelope.key,
        kind=envelope.kind,
        body=envelope.body,
        signature=envelope.signature,
        created_at=parse_datetime(envelope.created_at),
    )
    return True


def import_path(link: Link, path: Path) -> ImportResult:
    """Apply the DOWN messages in a file or directory, all or nothing (see the module's docstring)."""
    envelopes = read_envelopes(path)
    result = ImportResult()
    with transaction.atomic():
        locked = Link.objects.select_for_update().get(pk=link.pk)
        expected = locked.received_seq + 1
        for envelope in envelopes:
            if envelope.seq < expected:
                # At or below the cursor: a file given again. Applied once by key; never re-applied.
                result.repeated.append(envelope.key)
                continue
            if envelope.seq != expected:
                raise ExchangeError(
                    _("Message %(n)d is missing: the files jump from %(a)d to %(b)d.")
                    % {"n": expected, "a": expected - 1, "b": envelope.seq}
                )
            try:
                with transaction.atomic():
                    applied = receive(locked, envelope)
            except DomainError as exc:
                raise ExchangeError(
                    _("Message %(n)d (%(kind)s) was refused: %(why)s")
                    % {"n": envelope.seq, "kind": envelope.kind, "why": exc.message}
                ) from None
            (result.applied if applied else result.repeated).append(envelope.key)
            expected += 1
        Link.objects.filter(pk=locked.pk).update(
            received_seq=expected - 1, last_ok_at=timezone.now(), last_error="", failures=0
        )
        record_event(
            "central.files_imported",
            obj=locked,
            changes={"link": locked.pk, "files": len(envelopes), "applied": len(result.applied)},
        )
    return result


class FileExchangeAdapter(CentralAdapter):
    """Push writes the pending messages into `outgoing/<time>/`; pull applies what lies in `incoming/`."""

    name = "file"

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def push(self, link) -> SyncResult:
        stamp = timezone.now().strftime("%Y%m%dT%H%M%S%fZ")
        if not link.pending_messages().exists():
            return SyncResult()
        result = export_messages(link, self.directory / "outgoing" / stamp)
        return SyncResult(sent=len(result.files))

    def pull(self, link) -> SyncResult:
        incoming = self.directory / "incoming"
        if not incoming.is_dir() or not any(incoming.glob("*.json")):
            return SyncResult()
        try:
            result = import_path(link, incoming)
        except ExchangeError as exc:
            return SyncResult(errors=[str(exc.message)])
        return SyncResult(received=len(result.applied))
