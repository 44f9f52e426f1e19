"""Database work of the device benchmark, run as a subprocess with NGUON_DATA_DIR (and NGUON_DATABASE_URL) set.

python -m bench.devices.setup populate N            migrate, load province 75, N devices with known tokens,
                                                    one daily slot
python -m bench.devices.setup compile PART PARTS    compile the manifests of every PARTS-th device from PART
python -m bench.devices.setup event COUNT           a "manifest" push event alone (no change); prints JSON
python -m bench.devices.setup change NAME COUNT     rename the slot, recompile the first COUNT devices
                                                    (writes the "manifest" push event); prints JSON
python -m bench.devices.setup click NAME            the save click: an operator renames the slot through the
                                                    action (the worker recompiles after commit); prints JSON
python -m bench.devices.setup pushed                prints JSON: when the last "manifest" push event was written
python -m bench.devices.setup etags                 prints JSON: every bench device's current ETag
python -m bench.devices.setup public_key            prints JSON: the server's signing key (to check manifests)
python -m bench.devices.setup count                 prints JSON row counts of the report tables
"""

from __future__ import annotations

import io
import json
import os
import secrets
import sys
import time
from datetime import time as clock

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")


def token(i: int) -> str:
    return f"nd1_bench_{i:06d}"


def _ids(count: int | None = None) -> list[int]:
    from nguon.broadcast.models import Device

    ids = Device.objects.filter(code__startswith="BENCH-").order_by("code").values_list("pk", flat=True)
    return list(ids[:count] if count else ids)


def populate(n: int) -> None:
    from django.core.management import call_command
    from django.utils import timezone

    from nguon.accounts.actions import do_create_user, do_grant_role
    from nguon.accounts.roles import Role
    from nguon.broadcast.actions import token_hash
    from nguon.broadcast.models import Device, DeviceToken, ItemKind, Slot, SlotItem
    from nguon.units.models import Unit

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("import_units", province="75", stdout=io.StringIO())
    commune = Unit.objects.order_by("-unit_type__level", "code").first()
    # The slot first: devices made with bulk_create fire no signals, so nothing recompiles behind our back.
    slot = Slot.objects.create(
        unit=commune,
        name="Bench v1",
        recurrence="daily",
        start_date=timezone.localdate(),
        start_time=clock(5, 30),
        end_time=clock(6, 0),
    )
    SlotItem.objects.create(slot=slot, position=1, kind=ItemKind.RELAY, stream_url="https://example.org/vov1")
    # The operator who clicks "save" in the schedule-change round.
    password = secrets.token_urlsafe(24)
    user = do_create_user(
        username="bench.operator", password=password, unit=commune, full_name="Bench", acting_user=None
    )
    do_grant_role(user, role=Role.OPERATOR, unit=commune, acting_user=None)
    Device.objects.bulk_create(
        [Device(unit=commune, code=f"BENCH-{i:06d}", name=f"Cụm loa {i}") for i in range(n)], batch_size=1000
    )
    ids = _ids()
    DeviceToken.objects.bulk_create(
        [DeviceToken(device_id=pk, token_hash=token_hash(token(i))) for i, pk in enumerate(ids)], batch_size=1000
    )
    print(json.dumps({"devices": len(ids), "setup_s": time.perf_counter() - started}))


def compile_share(part: int, parts: int) -> None:
    """Compile every `parts`-th device from `part` (the bench runs the shares side by side, before the server)."""
    from nguon.broadcast.manifest import compile_devices

    compile_devices(_ids()[part::parts])


def event(count: int) -> None:
    """A "manifest" push event for the first COUNT devices, manifests unchanged: the gateway's fan-out alone."""
    from nguon.broadcast.models import PushEvent

    PushEvent.objects.create(type="manifest", device_ids=_ids(count), body={})
    print(json.dumps({"pushed_at": time.time()}))


def change(name: str, count: int) -> None:
    from nguon.broadcast.manifest import compile_devices
    from nguon.broadcast.models import Slot

    Slot.objects.filter(name__startswith="Bench").update(name=name)
    ids = _ids(count)
    started = time.perf_counter()
    changed = compile_devices(ids)
    # compile_devices inserts the PushEvent (autocommit) as its last step: this is when the push starts.
    pushed_at = time.time()
    print(json.dumps({"pushed_at": pushed_at, "compile_s": time.perf_counter() - started, "changed": len(changed)}))


def click(name: str) -> None:
    """The operator saves the slot under a new name, as the schedule page does: the action commits, and its
    on-commit hook queues the recompilation of the slot's devices for the worker. The clock starts before it."""
    from django.contrib.auth import get_user_model

    from nguon.broadcast.actions import SlotData, do_save_slot
    from nguon.broadcast.models import Slot

    slot = Slot.objects.select_related("unit").get(name__startswith="Bench")
    items = [{"kind": item.kind, "stream_url": item.stream_url, "stream_name": item.stream_name}
             for item in slot.items.order_by("position")]  # fmt: skip
    data = SlotData(name=name, start_time=slot.start_time, end_time=slot.end_time, start_date=slot.start_date,
                    recurrence=slot.recurrence, items=items)  # fmt: skip
    user = get_user_model().objects.get(username="bench.operator")
    clicked_at = time.time()
    do_save_slot(slot, unit=slot.unit, data=data, acting_user=user)
    print(json.dumps({"clicked_at": clicked_at, "saved_s": time.time() - clicked_at}))


def pushed() -> None:
    from nguon.broadcast.models import PushEvent

    last = PushEvent.objects.filter(type="manifest").order_by("-id").values_list("created_at", flat=True).first()
    print(json.dumps({"pushed_at": last.timestamp() if last else None}))


def public_key() -> None:
    from nguon.broadcast.keys import signer

    print(json.dumps({"public_key": signer().public_key_b64}))


def etags() -> None:
    from nguon.broadcast.models import CompiledManifest

    found = dict(CompiledManifest.objects.values_list("device_id", "etag"))
    print(json.dumps([found[pk] for pk in _ids()]))


def count() -> None:
    from nguon.broadcast.models import DeviceLog, Heartbeat, PlayRecord

    print(json.dumps({m.__name__: m.objects.count() for m in (Heartbeat, PlayRecord, DeviceLog)}))


def main(argv: list[str]) -> None:
    django.setup()
    command, args = argv[1], argv[2:]
    if command == "populate":
        populate(int(args[0]))
    elif command == "compile":
        compile_share(int(args[0]), int(args[1]))
    elif command == "event":
        event(int(args[0]))
    elif command == "change":
        change(args[0], int(args[1]))
    elif command == "click":
        click(args[0])
    elif command == "pushed":
        pushed()
    elif command == "etags":
        etags()
    elif command == "public_key":
        public_key()
    elif command == "count":
        count()
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main(sys.argv)
