"""Database work on one real instance of the two-instance test and the federation benchmark, run as a subprocess
with that instance's NGUON_DATA_DIR (and NGUON_DATABASE_URL) so that each instance keeps its own database.

python -m nguon.central.tests.instance setup [--devices N]   migrate, province 75 with two communes, an editor and an
                                                             approver; with N > 0 that many devices (every other an
                                                             e-board) in the first commune, tokens
                                                             nd1_fed_000000…; prints JSON
python -m nguon.central.tests.instance enrol CODE            a loudspeaker CODE and its one-time enrolment code
python -m nguon.central.tests.instance publish CLASS TITLE   a bulletin written, approved and published at the province
python -m nguon.central.tests.instance share TITLE           a bulletin published, then shared up by the approver
python -m nguon.central.tests.instance figures               the scheduled UP messages (figures, inventory)
python -m nguon.central.tests.instance state                 what arrived here, as JSON
python -m nguon.central.tests.instance tamper                (at a child) a signed message altered after signing,
                                                             sent to the parent; prints the parent's answer
python -m nguon.central.tests.instance received URI          seconds since the epoch when URI arrived here, or null
"""

from __future__ import annotations

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")

EDITOR, APPROVER = "fed.editor", "fed.approver"
PASSWORD = "q7Lw-vang-trang-9041"


def token(i: int) -> str:
    return f"nd1_fed_{i:06d}"


def _province():
    from nguon.units.models import Unit

    return Unit.objects.get(code="75")


def _commune():
    from nguon.units.models import Unit

    return Unit.objects.get(code="26068")


def setup(devices: int) -> dict:
    from django.core.management import call_command

    from nguon.accounts.actions import do_create_user, do_grant_role
    from nguon.accounts.models import User
    from nguon.accounts.roles import Role
    from nguon.broadcast.actions import token_hash
    from nguon.broadcast.models import Device, DeviceKind, DeviceToken
    from nguon.units.actions import ensure_unit_types
    from nguon.units.models import Unit

    call_command("migrate", verbosity=0, interactive=False)
    if not Unit.objects.filter(code="75").exists():
        types = ensure_unit_types()
        province = Unit.objects.create(code="75", name="Đồng Nai", unit_type=types["tinh"])
        Unit.objects.create(code="26068", name="Phường Biên Hòa", unit_type=types["phuong"], parent=province)
        Unit.objects.create(code="26041", name="Phường Trấn Biên", unit_type=types["phuong"], parent=province)
    province = _province()
    for username, role in ((EDITOR, Role.EDITOR), (APPROVER, Role.APPROVER)):
        if not User.objects.filter(username=username).exists():
            user = do_create_user(username=username, password=PASSWORD, unit=province, full_name=username,
                                  acting_user=None)  # fmt: skip
            do_grant_role(user, role=role, unit=province, acting_user=None)
    if devices:
        commune = _commune()
        made = Device.objects.bulk_create(
            [
                Device(
                    unit=commune,
                    code=f"FED-{i:06d}",
                    name=f"Cụm {i}",
                    kind=DeviceKind.BOARD if i % 2 else DeviceKind.SPEAKER,
                )
                for i in range(devices)
            ]  # fmt: skip
        )
        DeviceToken.objects.bulk_create(
            [DeviceToken(device=d, token_hash=token_hash(token(i))) for i, d in enumerate(made)], batch_size=1000
        )
    return {"devices": devices}


def enrol(code: str) -> dict:
    from nguon.broadcast import actions
    from nguon.broadcast.actions import DeviceData

    device = actions.do_create_device(unit=_commune(), data=DeviceData(code=code, name=f"Cụm {code}"), acting_user=None)
    return {"device": device.pk, "code": actions.do_issue_enrolment_code(device, acting_user=None)}


def _users():
    from nguon.accounts.models import User

    return User.objects.get(username=EDITOR), User.objects.get(username=APPROVER)


def publish(priority: str, title: str) -> dict:
    from django.urls import get_resolver

    from nguon.content import actions
    from nguon.content.actions import BulletinData

    editor, approver = _users()
    get_resolver().url_patterns  # noqa: B018  (load the URLconf now: the first reverse() would take seconds)
    started = time.time()
    data = BulletinData(title=title, body=f"{title}. Người dân chủ động phòng tránh.", priority=priority)
    bulletin = actions.do_create_bulletin(owner_unit=_province(), data=data, acting_user=editor)
    actions.do_submit_bulletin(bulletin, acting_user=editor)
    bulletin.refresh_from_db()
    actions.do_approve_bulletin(bulletin, acting_user=approver, revision_number=bulletin.current_revision.number)
    bulletin.refresh_from_db()
    from nguon.central.ninjs import bulletin_uri

    return {"id": bulletin.pk, "uri": bulletin_uri(bulletin), "status": bulletin.status, "clicked_at": started,
            "published_at": time.time()}  # fmt: skip


def share(title: str) -> dict:
    from nguon.central.up import do_share_bulletin_up
    from nguon.content.models import Bulletin

    published = publish("normal", title)
    _editor, approver = _users()
    shared = do_share_bulletin_up(Bulletin.objects.get(pk=published["id"]), acting_user=approver)
    return {**published, "key": shared.key}


def figures() -> dict:
    from nguon.central import up

    return {"keys": up.queue_periodic()}


def state() -> dict:
    from nguon.broadcast.models import PlayRecord, PushEvent
    from nguon.central.content_models import ChildInventory, ChildReport, SharedBulletin
    from nguon.central.link_models import InboxMessage, Link, OutboxMessage
    from nguon.content.models import Bulletin, Source

    return {
        "links": [
            {
                "role": link.role,
                "state": link.state,
                "received_seq": link.received_seq,
                "sent_seq": link.sent_seq,
                "acked_seq": link.acked_seq,
                "last_error": link.last_error,
            }
            for link in Link.objects.order_by("pk")
        ],  # fmt: skip
        "from_above": [
            {"title": b.title, "status": b.status, "priority": b.priority, "uri": b.external_id}
            for b in Bulletin.objects.filter(source=Source.CENTRAL).order_by("pk")
        ],
        "inbox": list(InboxMessage.objects.order_by("link", "seq").values_list("kind", "key")),
        "outbox_pending": OutboxMessage.objects.filter(delivered_at__isnull=True).count(),
        "child_reports": list(ChildReport.objects.values_list("period_value", flat=True)),
        "child_inventories": ChildInventory.objects.count(),
        "shared": list(SharedBulletin.objects.order_by("pk").values_list("title", flat=True)),
        "play_events": list(PushEvent.objects.filter(type="play").values_list("body__item__title", flat=True)),
        "played": list(
            PlayRecord.objects.filter(occurrence__startswith="push@").values_list("device__code", "result", "item")
        ),
    }


def tamper() -> dict:
    """Seal a shared bulletin correctly, change its title, and send it to the parent as the next message."""
    from nguon.central.federation import client, envelope, identity
    from nguon.central.federation.sync import MESSAGES_PATH
    from nguon.central.link_models import Link

    link = Link.objects.parents().active().get()
    body = {"priority": "normal", "item": {"uri": "urn:nguon:75:bulletin:999999", "version": "1",
            "headlines": [{"value": "Tin thật"}], "bodies": [{"role": "body", "value": "Nội dung thật."}]}}  # fmt: skip
    sealed = envelope.seal(identity.signer(), sender=identity.instance_id(), recipient=link.peer_instance_id,
                           seq=link.acked_seq + 1, key="tampered:1", kind="shared_bulletin",
                           created_at="2026-12-01T08:00:00+07:00", body=body)  # fmt: skip
    sealed["body"]["item"]["headlines"][0]["value"] = "Tin giả mạo"
    try:
        answer = client.call(link.base_url, "POST", MESSAGES_PATH, data={"messages": [sealed]},
                             peer_key=link.peer_public_key)  # fmt: skip
        return {"status": answer.status, "answer": answer.data}
    except client.PeerError as exc:
        return {"status": exc.status, "code": exc.code, "answer": exc.answer}


def received(uri: str) -> dict:
    from nguon.central.link_models import InboxMessage

    found = InboxMessage.objects.filter(key__startswith=f"bulletin:{uri}:").values_list("received_at", flat=True)
    first = found.first()
    return {"received_at": first.timestamp() if first else None}


def main(argv: list[str]) -> None:
    django.setup()
    command, args = argv[1], argv[2:]
    if command == "setup":
        result = setup(int(args[1]) if args[:1] == ["--devices"] else 0)
    elif command == "enrol":
        result = enrol(args[0])
    elif command == "publish":
        result = publish(args[0], args[1])
    elif command == "share":
        result = share(args[0])
    elif command == "figures":
        result = figures()
    elif command == "state":
        result = state()
    elif command == "tamper":
        result = tamper()
    elif command == "received":
        result = received(args[0])
    else:
        raise SystemExit(f"unknown command {command!r}")
    print(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main(sys.argv)
