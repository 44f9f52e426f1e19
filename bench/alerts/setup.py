"""Database work of the alerts benchmark, run as a subprocess with NGUON_DATA_DIR set.

python -m bench.alerts.setup populate N             bench.devices.setup populate (province 75, N devices with known
                                                    tokens), then the devices spread over three communes, every
                                                    other one an e-board, an approver on the province and a stored
                                                    audio asset for the alert; prints JSON
python -m bench.alerts.setup prepare                a pending alert for the three communes whose audio is ready (so
                                                    loudspeakers get it at once too); prints its id, how many
                                                    devices it reaches and the server's public key
python -m bench.alerts.setup approve ID             the approval click: prints {"clicked_at": just before
                                                    do_approve, "approved_at": after its commit}
python -m bench.alerts.setup count ID CLICKED_AT    dispatch rows per state, and from the database: sent_at and
                                                    acknowledged_at minus CLICKED_AT (percentiles)
"""

from __future__ import annotations

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")
# The bench gives the alert a ready audio itself; no speech render behind its back.
os.environ.setdefault("NGUON_SPEECH_AUTO_RENDER", "0")

APPROVER = "bench.approver"
AUDIO = b"nguon bench alert audio\n" * 64  # stands for the rendered message: devices do not download it here
COMMUNES = 3


def _communes():
    from nguon.units.models import Unit

    # The same ordering bench.devices.setup.populate uses, so the first is the commune it put every device in.
    return list(Unit.objects.order_by("-unit_type__level", "code")[:COMMUNES])


def _province():
    from nguon.units.models import Unit

    return Unit.objects.filter(parent__isnull=True).order_by("code").first()


def populate(n: int) -> None:
    import hashlib

    from django.db.models import Count

    from bench.devices.setup import _ids
    from bench.devices.setup import populate as populate_devices
    from nguon.accounts.actions import do_create_user, do_grant_role
    from nguon.accounts.roles import Role
    from nguon.broadcast.models import Device, DeviceKind
    from nguon.content.models import MediaAsset, MediaKind

    started = time.perf_counter()
    populate_devices(n)
    communes, province = _communes(), _province()
    ids = _ids()
    # Spread over the communes (round robin), every other device an e-board; .update() fires no signals.
    for j, commune in enumerate(communes):
        Device.objects.filter(pk__in=ids[j :: len(communes)]).update(unit=commune)
    Device.objects.filter(pk__in=ids[0::2]).update(kind=DeviceKind.BOARD)
    Device.objects.filter(pk__in=ids[1::2]).update(kind=DeviceKind.SPEAKER)
    user = do_create_user(
        username=APPROVER, password="q7Lw-vang-trang-9041", unit=province, full_name="Bench approver", acting_user=None
    )
    do_grant_role(user, role=Role.APPROVER, unit=province, acting_user=None)
    sha = hashlib.sha256(AUDIO).hexdigest()
    MediaAsset.objects.create(
        sha256=sha,
        kind=MediaKind.AUDIO,
        mime_type="audio/ogg",
        extension="ogg",
        size=len(AUDIO),
        file=f"media/{sha}.ogg",
        unit=province,
        is_generated=True,
        duration=41.5,
        title="Bench alert audio",
    )
    kinds = dict(Device.objects.filter(pk__in=ids).values_list("kind").annotate(n=Count("pk")))
    units = Device.objects.filter(pk__in=ids).values_list("unit__code").annotate(n=Count("pk"))
    print(
        json.dumps(
            {
                "devices": len(ids),
                "kinds": kinds,
                "communes": dict(units),
                "province": province.code,
                "setup_s": round(time.perf_counter() - started, 1),
            }
        )
    )


def prepare() -> None:
    from django.contrib.auth import get_user_model

    from nguon.alerts.actions import do_create_alert
    from nguon.alerts.delivery import target_devices
    from nguon.alerts.models import Alert, AudioState
    from nguon.broadcast.keys import signer
    from nguon.content.models import MediaAsset

    communes, province = _communes(), _province()
    approver = get_user_model().objects.get(username=APPROVER)
    from nguon.alerts.tests.helpers import alert_data  # the tests' flood alert: the same message in both

    data = alert_data(
        sender_name="Ban Chỉ huy Phòng thủ dân sự tỉnh",
        area_desc=", ".join(c.name for c in communes),
        area_units=communes,
    )
    alert = do_create_alert(data, unit=province, acting_user=approver)
    asset = MediaAsset.objects.get(title="Bench alert audio")
    Alert.objects.filter(pk=alert.pk).update(audio=asset, audio_state=AudioState.READY)
    alert.refresh_from_db()
    print(json.dumps({"alert": alert.pk, "targets": len(target_devices(alert)), "public_key": signer().public_key_b64}))


def approve(alert_id: int) -> None:
    from django.contrib.auth import get_user_model

    from nguon.alerts.actions import do_approve
    from nguon.alerts.models import Alert

    approver = get_user_model().objects.get(username=APPROVER)
    alert = Alert.objects.select_related("unit").get(pk=alert_id)
    clicked_at = time.time()
    alert = do_approve(alert, acting_user=approver)
    approved_at = time.time()
    print(json.dumps({"clicked_at": clicked_at, "approved_at": approved_at, "state": alert.state}))


def count(alert_id: int, clicked_at: float) -> None:
    from django.db.models import Count

    from bench.devices.clients import _percentiles
    from nguon.alerts.models import AlertDispatch, AlertReceipt, DispatchState

    by_state = dict.fromkeys(DispatchState.values, 0)
    sent, acked = [], []
    for state, sent_at, acknowledged_at in AlertDispatch.objects.filter(alert_id=alert_id).values_list(
        "state", "sent_at", "acknowledged_at"
    ):
        by_state[state] += 1
        if sent_at is not None:
            sent.append(sent_at.timestamp() - clicked_at)
        if acknowledged_at is not None:
            acked.append(acknowledged_at.timestamp() - clicked_at)
    receipts = AlertReceipt.objects.filter(alert_id=alert_id, state="acknowledged")
    per_device = receipts.values("device_id").annotate(n=Count("pk"))
    print(
        json.dumps(
            {
                "dispatch_rows": sum(by_state.values()),
                # Acknowledgements counted once: one stored receipt per device, however often it was sent.
                "ack_receipts": receipts.count(),
                "devices_with_several_ack_receipts": sum(1 for row in per_device if row["n"] > 1),
                "by_state": by_state,
                # sent_at: when the gateway queued the event on the device's stream; acknowledged_at: when the
                # gateway received (parsed) the report batch carrying the acknowledgement, before its commit.
                "sent_at_minus_click": {**_percentiles(sent), "rows": len(sent)},
                "acknowledged_at_minus_click": {**_percentiles(acked), "rows": len(acked)},
            }
        )
    )


def main(argv: list[str]) -> None:
    django.setup()
    command, args = argv[1], argv[2:]
    if command == "populate":
        populate(int(args[0]))
    elif command == "prepare":
        prepare()
    elif command == "approve":
        approve(int(args[0]))
    elif command == "count":
        count(int(args[0]), float(args[1]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
