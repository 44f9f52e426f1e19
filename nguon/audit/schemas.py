from datetime import datetime
from typing import Any

from nguon.core.schemas import Schema


class EventOut(Schema):
    id: int
    seq: int
    at: datetime
    actor_label: str
    action: str
    object_type: str
    object_id: str
    object_repr: str
    unit_path: str
    changes: dict[str, Any]
    ip: str
    channel: str
    hash: str
