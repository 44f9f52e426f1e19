"""The documented file exchange (LGSP/NGSP): `central_export` writes envelopes and a manifest, `central_import`
applies DOWN files once each, in order, all or nothing."""

from __future__ import annotations

import hashlib
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from nguon.broadcast.tests.schedule_helpers import published
from nguon.central import up
from nguon.central.exchange import MESSAGE_FORMAT, FileExchangeAdapter, import_path
from nguon.central.models import InboxMessage, Link, OutboxMessage
from nguon.central.tests.test_apply import ninjs_body
from nguon.content.models import Bulletin, Source, Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def parent(cast):
    return Link.objects.create(
        role=Link.Role.PARENT, name="lgsp", state=Link.State.ACTIVE, adapter=Link.Adapter.FILE, peer_instance_id="p"
    )


def write(directory, seq, kind, body, key=None, **extra):
    key = f"{kind}:{seq}" if key is None else key
    directory.mkdir(parents=True, exist_ok=True)
    document = {"format": MESSAGE_FORMAT, "kind": kind, "key": key, "seq": seq,
                "created_at": timezone.now().isoformat(), "body": body, **extra}  # fmt: skip
    path = directory / f"{seq:08d}-{kind}.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_export_writes_one_envelope_per_message_with_a_manifest_and_marks_them_delivered(cast, parent, tmp_path):
    bulletin = published(cast, title="Chia sẻ lên trên")
    up.do_share_bulletin_up(bulletin, acting_user=cast.approver)
    up.queue_inventory()
    out = tmp_path / "out"
    call_command("central_export", "--out", str(out))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "nguon-central-exchange/1"
    names = [f["name"] for f in manifest["files"]]
    assert names == ["00000001-shared_bulletin.json", "00000002-inventory.json"]
    for entry in manifest["files"]:
        data = (out / entry["name"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] and len(data) == entry["size"]
    envelope = json.loads((out / names[0]).read_text())
    assert envelope["format"] == MESSAGE_FORMAT and envelope["direction"] == "up" and envelope["seq"] == 1
    assert envelope["body"]["item"]["headlines"][0]["value"] == "Chia sẻ lên trên"
    assert envelope["key"] == OutboxMessage.objects.get(seq=1, link=parent).key
    assert not parent.pending_messages().exists()
    # Nothing pending: an empty export, and a directory already used is refused.
    call_command("central_export", "--out", str(tmp_path / "again"))
    assert json.loads((tmp_path / "again" / "manifest.json").read_text())["files"] == []
    with pytest.raises(CommandError):
        call_command("central_export", "--out", str(out))


def test_import_applies_down_files_once_and_in_order(cast, parent, tmp_path, django_capture_on_commit_callbacks):
    incoming = tmp_path / "in"
    write(incoming, 2, "bulletin", ninjs_body("normal", uri="urn:c:2", title="Thông báo hai"))
    write(incoming, 1, "bulletin", ninjs_body("emergency", uri="urn:c:1", title="Khẩn cấp một"))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("central_import", str(incoming))
    assert Bulletin.objects.get(external_id="urn:c:1").status == Status.PUBLISHED
    assert Bulletin.objects.get(external_id="urn:c:2").status == Status.SUBMITTED
    parent.refresh_from_db()
    assert parent.received_seq == 2
    # The same files again: nothing new. One more file after them: applied.
    result = import_path(parent, incoming)
    assert result.applied == [] and len(result.repeated) == 2
    write(incoming, 3, "bulletin", ninjs_body("normal", uri="urn:c:3", title="Thông báo ba"))
    assert import_path(parent, incoming).applied == ["bulletin:3"]
    assert Bulletin.objects.filter(source=Source.CENTRAL).count() == 3 and InboxMessage.objects.count() == 3


@pytest.mark.parametrize(
    "make_bad",
    [
        lambda d: (d / "00000002-bulletin.json").write_text("{not json"),
        lambda d: write(d, 2, "figures", {"report": {}}),  # an UP kind cannot come down
        lambda d: write(d, 2, "nonsense", {}),
        lambda d: write(d, 2, "bulletin", {"priority": "emergency"}),  # refused by the kind
        lambda d: write(d, 3, "bulletin", ninjs_body("normal", uri="urn:c:3")),  # message 2 is missing
        lambda d: write(d, 2, "bulletin", "a string body"),
        lambda d: write(d, 2, "bulletin", ninjs_body("normal", uri="urn:c:9"), key=""),
        lambda d: write(d, 2, "bulletin", ninjs_body("normal", uri="urn:c:9"), format="other/1"),
    ],
)
def test_a_bad_file_is_named_and_nothing_is_applied(cast, parent, tmp_path, make_bad):
    incoming = tmp_path / "in"
    write(incoming, 1, "bulletin", ninjs_body("normal", uri="urn:c:1", title="Tốt"))
    make_bad(incoming)
    with pytest.raises(CommandError) as caught:
        call_command("central_import", str(incoming))
    assert "Nothing was applied" in str(caught.value) or "Chưa áp dụng" in str(caught.value)
    assert not Bulletin.objects.exists() and not InboxMessage.objects.exists()
    parent.refresh_from_db()
    assert parent.received_seq == 0


def test_a_manifest_whose_hash_does_not_match_refuses_the_import(cast, parent, tmp_path):
    incoming = tmp_path / "in"
    path = write(incoming, 1, "bulletin", ninjs_body("normal", uri="urn:c:1"))
    manifest = {"format": "nguon-central-exchange/1", "files": [{"name": path.name, "sha256": "0" * 64}]}
    (incoming / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError) as caught:
        call_command("central_import", str(incoming))
    assert path.name in str(caught.value)
    manifest["files"][0]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (incoming / "manifest.json").write_text(json.dumps(manifest))
    call_command("central_import", str(incoming))
    assert Bulletin.objects.count() == 1
    manifest["files"][0]["name"] = "../escape.json"
    (incoming / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CommandError):
        call_command("central_import", str(incoming))


def test_an_exported_directory_imports_at_the_other_end(cast, parent, tmp_path, django_capture_on_commit_callbacks):
    """What a parent exports for its child (DOWN) is what the child's import reads."""
    child = Link.objects.create(role=Link.Role.CHILD, name="con", state=Link.State.ACTIVE, peer_instance_id="c")
    with django_capture_on_commit_callbacks(execute=True):
        published(cast, priority="normal", title="Gửi xuống")
    from nguon.central.exchange import export_messages

    export_messages(child, tmp_path / "down")
    result = import_path(parent, tmp_path / "down")
    assert len(result.applied) == 1
    assert Bulletin.objects.get(source=Source.CENTRAL).title == "Gửi xuống"


def test_the_adapter_pushes_to_outgoing_and_pulls_from_incoming(cast, parent, tmp_path):
    adapter = FileExchangeAdapter(tmp_path)
    up.queue_inventory()
    assert adapter.push(parent).sent == 1
    assert len(list((tmp_path / "outgoing").glob("*/00000001-inventory.json"))) == 1
    assert adapter.push(parent).sent == 0
    write(tmp_path / "incoming", 1, "bulletin", ninjs_body("normal", uri="urn:c:1"))
    assert adapter.pull(parent).received == 1
    write(tmp_path / "incoming", 5, "bulletin", ninjs_body("normal", uri="urn:c:5"))
    result = adapter.pull(parent)
    assert result.received == 0 and ("missing" in result.errors[0].lower() or "Thiếu" in result.errors[0])
