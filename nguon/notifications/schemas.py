from datetime import datetime

from ninja import Field

from nguon.core.schemas import Schema


class DeliveryOut(Schema):
    channel: str
    state: str
    attempts: int
    sent_at: datetime | None
    last_error: str = Field("", description="the last failure, empty once sent")


class NotificationOut(Schema):
    id: int
    kind: str
    title: str
    body: str
    link: str = Field(..., description="a path in the back office, empty when there is none")
    unit: str | None = Field(None, description="official code of the unit it concerns")
    sound: bool = Field(..., description="an alert awaiting approval: back-office pages chime for it")
    created_at: datetime
    read_at: datetime | None
    deliveries: list[DeliveryOut]

    @staticmethod
    def resolve_unit(obj) -> str | None:
        return obj.unit.code if obj.unit_id else None

    @staticmethod
    def resolve_deliveries(obj) -> list:
        return list(obj.deliveries.all())


class SummaryOut(Schema):
    unread: int
    latest: int = Field(..., description="id of the newest unread notification, 0 when none")
    sound_id: int = Field(..., description="id of the newest unread notification that sounds, 0 when none")


class MarkedOut(Schema):
    marked: int


class ReadIn(Schema):
    ids: list[int] = Field(default_factory=list, max_length=1000)


class PreferenceOut(Schema):
    kind: str
    label: str
    channels: dict[str, bool]


class PreferenceIn(Schema):
    kind: str
    channels: dict[str, bool]
