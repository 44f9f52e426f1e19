"""The audit chain: what actions write, what `audit verify` detects, and what the database refuses."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from nguon.audit.actions import record_event, verify_chain
from nguon.audit.models import AppendOnlyError, AuditCheck, AuditEvent, AuditHead
from nguon.audit.tests.conftest import (
    drop_append_only_trigger,
    raw_delete,
    raw_insert,
    raw_update,
    trigger_exists,
)
from nguon.lib.hashchain import link_hash

# --- what actions write -------------------------------------------------------------------------


def test_web_action_records_actor_address_and_changes(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.post(
        f"/units/{cast.commune.code}/edit/", {"name": "Phường Biên Hòa Mới", "name_en": ""}, REMOTE_ADDR="10.9.8.7"
    )
    assert response.status_code == 302

    event = AuditEvent.objects.filter(action="units.unit_updated").get()
    assert event.actor == cast.commune_admin
    assert event.actor_label == cast.commune_admin.username
    assert event.ip == "10.9.8.7"
    assert event.channel == "web"
    assert event.unit == cast.commune
    assert event.unit_path == cast.commune.path
    assert event.object_id == str(cast.commune.pk)
    assert event.changes == {"name": ["Phường Biên Hòa", "Phường Biên Hòa Mới"]}


def test_sign_in_is_recorded_with_the_test_clients_address(cast, client_for):
    client_for(cast.commune_editor)
    event = AuditEvent.objects.filter(action="accounts.login").get()
    assert event.actor == cast.commune_editor
    assert event.ip == "127.0.0.1"  # the Django test client's REMOTE_ADDR
    assert event.channel == "web"


def test_api_action_records_channel_api(cast, client_for):
    client = client_for(cast.commune_admin)
    response = client.patch(
        f"/api/v1/units/{cast.commune.code}",
        data={"name": "Phường Biên Hòa (API)"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    event = AuditEvent.objects.filter(action="units.unit_updated").get()
    assert (event.actor, event.ip, event.channel) == (cast.commune_admin, "127.0.0.1", "api")
    assert event.changes == {"name": ["Phường Biên Hòa", "Phường Biên Hòa (API)"]}


def test_events_form_a_chain_and_the_head_follows(chain):
    head = AuditHead.objects.get(pk=1)
    assert [e.seq for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].prev_hash == "0" * 64
    for before, after in zip(chain, chain[1:], strict=False):
        assert after.prev_hash == before.hash
    for event in chain:
        assert link_hash(event.prev_hash, event.chain_payload()) == event.hash
    assert (head.count, head.last_event_id, head.last_hash) == (len(chain), chain[-1].pk, chain[-1].hash)


def test_event_rolls_back_with_the_callers_transaction(cast):
    before = AuditHead.objects.get(pk=1)
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event("test.rolled_back", unit=cast.commune)
        raise RuntimeError
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    after = AuditHead.objects.get(pk=1)
    assert (after.count, after.last_hash) == (before.count, before.last_hash)
    assert verify_chain(record=False).ok


# --- verify ---------------------------------------------------------------------------------------


def run_verify() -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("audit", "verify", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failed_verify() -> tuple[CommandError, str, AuditCheck]:
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("audit", "verify", stdout=StringIO(), stderr=err)
    return info.value, err.getvalue(), AuditCheck.objects.latest()


def names(text: str, event_id: int) -> bool:
    return re.search(rf"\b{event_id}\b", text) is not None


def test_verify_passes_on_an_intact_chain(chain):
    out, err = run_verify()
    assert str(len(chain)) in out
    assert err == ""
    check = AuditCheck.objects.latest()
    assert check.ok
    assert check.checked == len(chain)
    assert check.last_event_id == chain[-1].pk
    assert check.last_hash == chain[-1].hash
    assert check.problems == []
    assert check.channel == "cli:audit"


def test_verify_passes_on_an_empty_log(db):
    run_verify()
    check = AuditCheck.objects.latest()
    assert (check.ok, check.checked) == (True, 0)


def test_verify_detects_an_edited_row(chain):
    victim = chain[len(chain) // 2]
    drop_append_only_trigger()
    raw_update(victim.pk, ip="6.6.6.6")

    _, err, check = failed_verify()
    assert not check.ok
    assert check.problems == [{"event_id": victim.pk, "reason": "edited"}]
    assert names(err, victim.pk)


def test_verify_detects_an_edited_json_field(chain):
    victim = chain[-2]
    drop_append_only_trigger()
    raw_update(victim.pk, changes='{"n": 99}')
    _, err, check = failed_verify()
    assert check.problems == [{"event_id": victim.pk, "reason": "edited"}]
    assert names(err, victim.pk)


def test_verify_detects_a_row_deleted_in_the_middle(chain):
    victim, successor = chain[len(chain) // 2], chain[len(chain) // 2 + 1]
    drop_append_only_trigger()
    raw_delete(victim.pk)

    _, err, check = failed_verify()
    assert not check.ok
    # The successor now points at a hash that is gone: it is the row named.
    assert check.problems == [{"event_id": successor.pk, "reason": "unlinked"}]
    assert names(err, successor.pk)
    assert check.checked == len(chain) - 1


def test_verify_detects_the_last_row_deleted(chain):
    last = chain[-1]
    drop_append_only_trigger()
    raw_delete(last.pk)

    _, err, check = failed_verify()
    assert not check.ok
    # Nothing links to a removed tail: the head names the missing row.
    assert check.problems == [{"event_id": last.pk, "reason": "head_mismatch"}]
    assert names(err, last.pk)


def test_verify_detects_the_last_row_deleted_after_an_earlier_good_check(chain):
    run_verify()  # records an anchor at the current last row
    last = chain[-1]
    drop_append_only_trigger()
    raw_delete(last.pk)

    _, err, check = failed_verify()
    assert {"event_id": last.pk, "reason": "head_mismatch"} in check.problems
    assert {"event_id": last.pk, "reason": "anchor_missing"} in check.problems
    assert names(err, last.pk)


def test_verify_detects_a_forged_row_appended_without_the_head(chain):
    """A row added by hand after the last link (the head not moved) is not part of the chain."""
    last = chain[-1]
    forged = AuditEvent(
        seq=last.seq + 1,
        at=last.at,
        actor_label="ghost",
        action="accounts.login",
        object_repr="ghost",
        changes={},
        ip="1.2.3.4",
        channel="web",
        prev_hash=last.hash,
    )
    forged.hash = link_hash(forged.prev_hash, forged.chain_payload())
    forged_id = raw_insert(forged)  # an INSERT needs no trigger dropped

    _, err, check = failed_verify()
    assert check.problems == [{"event_id": forged_id, "reason": "not_in_chain"}]
    assert names(err, forged_id)


def test_verify_keeps_working_after_new_rows_follow_a_break(chain, cast):
    victim = chain[1]
    drop_append_only_trigger()
    raw_update(victim.pk, actor_label="someone else")
    record_event("test.after_break", unit=cast.province)
    _, _, check = failed_verify()
    assert check.problems == [{"event_id": victim.pk, "reason": "edited"}]


# --- the database and the ORM refuse changes ----------------------------------------------------


def test_database_refuses_raw_update(chain):
    assert trigger_exists()
    victim = chain[0]
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw_update(victim.pk, ip="6.6.6.6")
    victim.refresh_from_db()
    assert victim.ip == chain[0].ip
    assert verify_chain(record=False).ok


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_postgresql_refuses_raw_delete(chain):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw_delete(chain[0].pk)
    assert AuditEvent.objects.filter(pk=chain[0].pk).exists()


def test_dropping_the_trigger_is_rolled_back_with_the_transaction(chain):
    """DDL is transactional on SQLite and PostgreSQL: tampering tests leave the guard in place."""

    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        drop_append_only_trigger()
        assert not trigger_exists()
        raise Rollback
    assert trigger_exists()
    with pytest.raises(DatabaseError), transaction.atomic():
        raw_update(chain[0].pk, ip="6.6.6.6")


def test_orm_refuses_save_of_an_existing_row(chain):
    event = chain[0]
    event.ip = "6.6.6.6"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.save(update_fields=["ip"])


def test_orm_refuses_delete(chain):
    with pytest.raises(AppendOnlyError):
        chain[0].delete()
    assert AuditEvent.objects.filter(pk=chain[0].pk).exists()


def test_orm_refuses_queryset_update_and_delete(chain):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=chain[0].pk).update(ip="6.6.6.6")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(ip="6.6.6.6")
    assert AuditEvent.objects.count() == len(chain)
    assert verify_chain(record=False).ok


def test_the_trigger_is_in_place_for_this_backend(db):
    assert connection.vendor in {"sqlite", "postgresql"}
    assert trigger_exists()
