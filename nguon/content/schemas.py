from datetime import datetime

from ninja import Field

from nguon.core.schemas import Schema


class BulletinIn(Schema):
    owner_unit: str = Field(..., description="official code of the issuing unit")
    title: str = Field(..., max_length=1000)
    body: str = Field(..., max_length=400_000)
    summary: str = ""
    category: str | None = Field(None, description="category slug")
    priority: str = "normal"
    language: str = "vi"
    targets: list[str] = Field(default_factory=list, description="unit codes")
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    publish_at: datetime | None = None
    expires_at: datetime | None = None
    spoken_text: str = ""
    board_text: str = ""
    web_html: str = ""


class BulletinEdit(BulletinIn):
    owner_unit: str | None = None


class RevisionOut(Schema):
    number: int
    created_at: datetime
    title: str
    summary: str
    body: str
    priority: str
    language: str
    spoken_text: str
    board_text: str
    web_html: str
    content_hash: str
    targets: list[str]

    @staticmethod
    def resolve_targets(obj) -> list[str]:
        return [u.code for u in obj.targets.all()]


class BulletinOut(Schema):
    id: int
    title: str
    status: str
    priority: str
    language: str
    source: str
    owner_unit: str = Field(..., alias="owner_unit.code")
    category: str | None
    current_revision: int | None
    approved_revision: int | None
    published_revision: int | None
    publish_at: datetime | None
    expires_at: datetime | None
    published_at: datetime | None
    updated_at: datetime

    @staticmethod
    def resolve_category(obj):
        return obj.category.slug if obj.category_id else None

    @staticmethod
    def resolve_current_revision(obj):
        return obj.current_revision.number if obj.current_revision_id else None

    @staticmethod
    def resolve_approved_revision(obj):
        return obj.approved_revision.number if obj.approved_revision_id else None

    @staticmethod
    def resolve_published_revision(obj):
        return obj.published_revision.number if obj.published_revision_id else None


class WarningOut(Schema):
    code: str = Field(..., description="long_speech or publish_time_past")
    message: str


class BulletinDetailOut(BulletinOut):
    revision: RevisionOut
    warnings: list[WarningOut] = Field(
        default_factory=list, description="what to look at before rendering and approval; nothing is blocked"
    )

    @staticmethod
    def resolve_revision(obj):
        return obj.current_revision

    @staticmethod
    def resolve_warnings(obj):
        from nguon.content.checks import bulletin_warnings

        return [{"code": w.code, "message": w.message} for w in bulletin_warnings(obj)]


class ApproveIn(Schema):
    revision: int


class CommentIn(Schema):
    comment: str = Field("", max_length=5000)


class AdoptIn(Schema):
    unit: str


class MediaOut(Schema):
    sha256: str
    kind: str
    mime_type: str
    size: int
    title: str
    original_name: str
    unit_code: str | None = Field(None, alias="unit.code")
    width: int | None
    height: int | None
    duration: float | None
    url: str

    @staticmethod
    def resolve_url(obj) -> str:
        from django.urls import reverse

        return reverse("content:media_file", args=[obj.sha256])
