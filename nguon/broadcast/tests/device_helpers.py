"""Helpers for the device protocol tests: devices, codes, media and slots made through the actions."""

from __future__ import annotations

import base64
import io
import json
import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from nguon.broadcast import actions
from nguon.broadcast.actions import DeviceData, SlotData
from nguon.broadcast.models import Device, Slot
from nguon.content.media import ingest
from nguon.content.models import MediaAsset
from nguon.lib.signing import verify

UTC = ZoneInfo("UTC")


def make_device(cast, code: str = "BH-001", **fields) -> Device:
    fields.setdefault("name", f"Cụm loa {code}")
    return actions.do_create_device(
        unit=cast.commune, data=DeviceData(code=code, **fields), acting_user=cast.commune_admin
    )


def enrolment_code(cast, device: Device) -> str:
    return actions.do_issue_enrolment_code(device, acting_user=cast.commune_admin)


def make_image(cast, seed: int = 1, size: int = 160) -> MediaAsset:
    """A PNG of noise (~75 kB, so that ranges mean something), stored through the media library's ingest."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (size, size), bytes(rng.getrandbits(8) for _ in range(size * size * 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    upload = SimpleUploadedFile(f"noise-{seed}.png", buffer.getvalue(), content_type="image/png")
    return ingest(upload, unit=cast.commune, acting_user=cast.commune_editor, title=f"Noise {seed}")


def slot_data(name: str = "Chương trình sáng", *, media: MediaAsset | None = None, start=time(5, 30)) -> SlotData:
    items = [{"kind": "media", "media": media}] if media else [{"kind": "relay", "stream_url": "https://vov.vn/live"}]
    end = (datetime.combine(datetime(2000, 1, 1), start) + timedelta(minutes=30)).time()
    return SlotData(name=name, start_time=start, end_time=end, start_date=timezone.localdate(), items=items)


def save_slot(cast, data: SlotData, slot: Slot | None = None) -> Slot:
    return actions.do_save_slot(slot, unit=cast.commune, data=data, acting_user=cast.approver)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def heartbeat(seq: int, at: datetime, **fields) -> dict:
    return {"seq": seq, "type": "heartbeat", "at": iso(at), "volume": 80, "clock_skew_ms": -120, **fields}


def batch_body(*records: dict) -> bytes:
    return json.dumps({"records": list(records)}).encode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def open_event(data: str, public_key: str) -> dict:
    """Check an event's `data:` value as a device must (signature first), and return its payload."""
    payload_text, _, signature_text = data.partition(".")
    payload = unb64url(payload_text)
    signature = base64.b64encode(unb64url(signature_text)).decode()
    assert verify(public_key, payload, signature), "the event's signature does not verify"
    return json.loads(payload)


def parse_frames(text: str) -> list[dict]:
    """SSE frames in `text` as {"id", "event", "data"} dicts; comments are dropped."""
    frames = []
    for block in text.split("\n\n"):
        fields = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if fields:
            frames.append(fields)
    return frames
