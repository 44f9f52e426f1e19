"""Input and output schemas of the staff feedback API (explicit fields; contact details only via /contact)."""

from __future__ import annotations

from datetime import date, datetime

from django.urls import reverse
from django.utils import timezone
from ninja import Field

from nguon.core.schemas import Schema
from nguon.feedback.actions import MAX_ANSWER, MAX_NOTE


class FeedbackFilter(Schema):
    q: str = Field("", max_length=200, description="text, with or without diacritics, or a number PA-…")
    status: str = Field("", description='a status, or "open" for every item not yet answered')
    topic: str = Field("", description="topic code")
    unit: str = Field("", description="unit code: feedback about places in its subtree")
    channel: str = ""
    overdue: bool = False
    mine: bool = Field(False, description="assigned to the caller")
    date_from: date | None = Field(None, description="received on or after (local date)")
    date_to: date | None = Field(None, description="received on or before (local date)")
    sort: str = Field("-received", description="-received, received, due or -due")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class FeedbackOut(Schema):
    id: int
    number: str
    status: str
    channel: str
    topic: str = Field(..., alias="topic.code")
    topic_name: str = Field(..., alias="topic.name")
    unit: str = Field(..., alias="unit.code")
    unit_name: str = Field(..., alias="unit.name")
    handler_unit: str = Field(..., alias="handler_unit.code")
    handler_organisation: str | None
    assignee: str | None
    title: str
    received_at: datetime
    due_at: datetime | None
    overdue: bool

    @staticmethod
    def resolve_handler_organisation(obj):
        return obj.handler_organisation.name if obj.handler_organisation_id else None

    @staticmethod
    def resolve_assignee(obj):
        return obj.assignee.username if obj.assignee_id else None

    @staticmethod
    def resolve_overdue(obj):
        return obj.is_overdue(timezone.now())


class FeedbackPageOut(Schema):
    items: list[FeedbackOut]
    next_offset: int | None = Field(None, description="offset of the next page; null on the last one")


class EventOut(Schema):
    at: datetime
    action: str
    actor: str
    from_status: str
    to_status: str
    note: str
    public: bool

    @staticmethod
    def resolve_actor(obj):
        return obj.actor.username if obj.actor_id else obj.actor_label


class AttachmentOut(Schema):
    id: int
    kind: str
    mime_type: str
    size: int
    url: str

    @staticmethod
    def resolve_url(obj):
        return reverse("feedback:file", args=[obj.feedback_id, obj.pk])


class FeedbackDetailOut(FeedbackOut):
    text: str
    address: str
    latitude: float | None
    longitude: float | None
    answer: str
    refusal_reason: str
    duplicate_of: str | None
    consent_publish: bool
    accepted_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    has_contact: bool = Field(..., description="contact details exist (read them with POST …/contact)")
    personal_data_erased_at: datetime | None
    events: list[EventOut]
    attachments: list[AttachmentOut]

    @staticmethod
    def resolve_duplicate_of(obj):
        return obj.duplicate_of.number if obj.duplicate_of_id else None

    @staticmethod
    def resolve_events(obj):
        return list(obj.events.select_related("actor"))

    @staticmethod
    def resolve_attachments(obj):
        return list(obj.attachments.all())


class ContactOut(Schema):
    name: str
    phone: str
    email: str


class RefuseIn(Schema):
    reason: str = Field(..., description="spam, out_of_scope, duplicate or incomplete")
    note: str = Field("", max_length=MAX_NOTE)
    duplicate_of: str = Field("", description="number of the feedback it repeats (for duplicates)")


class AssignIn(Schema):
    assignee: int = Field(..., description="user id of a person who handles feedback in the handling unit")


class AnswerIn(Schema):
    answer: str = Field(..., max_length=MAX_ANSWER)


class ApproveIn(Schema):
    send: bool = Field(True, description="send the approved answer to the citizen at once")


class CommentIn(Schema):
    comment: str = Field(..., max_length=MAX_NOTE)


class TransferIn(Schema):
    organisation: int = Field(..., description="id of an active organisation")
    reason: str = Field(..., max_length=MAX_NOTE)


class NoteIn(Schema):
    text: str = Field(..., max_length=MAX_NOTE)
