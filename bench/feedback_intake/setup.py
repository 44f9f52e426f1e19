"""Database work of the feedback intake benchmark, run as subprocesses with NGUON_DATA_DIR set.

python -m bench.feedback_intake.setup populate      migrate; province 75 with COMMUNES communes; the default topics
python -m bench.feedback_intake.setup insert N      the reference: N feedback rows like the form's, saved one by one
                                                    with Feedback.objects.create (no routing, history, audit or
                                                    file); prints {"seconds", "rows"}
python -m bench.feedback_intake.setup count         prints {"feedback", "attachments"}
"""

from __future__ import annotations

import json
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nguon.config.settings")

COMMUNES = 10


def populate() -> None:
    from django.core.management import call_command

    from nguon.feedback.topics import ensure_topics
    from nguon.units.actions import ensure_unit_types
    from nguon.units.models import Unit

    call_command("migrate", verbosity=0, interactive=False)
    types = ensure_unit_types()
    province = Unit.objects.create(code="75", name="Đồng Nai", unit_type=types["tinh"])
    for n in range(COMMUNES):
        Unit.objects.create(code=f"{26000 + n}", name=f"Phường Thử {n}", unit_type=types["phuong"], parent=province)
    ensure_topics()
    print(json.dumps({"communes": [f"{26000 + n}" for n in range(COMMUNES)]}))


def insert(rows: int) -> None:
    import secrets

    from django.utils import timezone

    from nguon.feedback.models import Feedback, Topic, hash_code
    from nguon.lib.folding import fold
    from nguon.lib.shingles import fingerprint
    from nguon.units.models import Unit

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    from bench.feedback_intake.texts import feedback_text

    topics = list(Topic.objects.all())
    units = list(Unit.objects.filter(unit_type__level=3))
    started = time.perf_counter()
    for n in range(rows):
        text = feedback_text(10_000_000 + n)
        now = timezone.now()
        Feedback.objects.create(
            number=f"REF-{n}-{secrets.token_hex(3)}",
            code_hash=hash_code(secrets.token_hex(8)),
            topic=topics[n % len(topics)],
            unit=units[n % len(units)],
            handler_unit=units[n % len(units)],
            text=text,
            text_folded=fold(text),
            fingerprint=fingerprint(text),
            received_at=now,
            status_changed_at=now,
            source_ip="127.0.0.1",
        )
    print(json.dumps({"seconds": time.perf_counter() - started, "rows": rows}))


def count() -> None:
    from nguon.feedback.models import Attachment, Feedback

    print(json.dumps({"feedback": Feedback.objects.count(), "attachments": Attachment.objects.count()}))


if __name__ == "__main__":
    django.setup()
    command = sys.argv[1]
    if command == "populate":
        populate()
    elif command == "insert":
        insert(int(sys.argv[2]))
    elif command == "count":
        count()
    else:
        raise SystemExit(f"unknown command {command}")
