from django.conf import settings
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate

from nguon.accounts.access import get_unit_for_user, units_for_user
from nguon.accounts.roles import Capability
from nguon.content import actions, media
from nguon.content.access import bulletins_for_user, get_bulletin_for_user, library_for_user, presented_for
from nguon.content.models import Category
from nguon.content.schemas import (
    AdoptIn,
    ApproveIn,
    BulletinDetailOut,
    BulletinEdit,
    BulletinIn,
    BulletinOut,
    CommentIn,
    MediaOut,
)
from nguon.core.errors import Forbidden, Invalid, TooLarge
from nguon.core.schemas import ERRORS, ErrorOut, Schema

router = Router(tags=["content"])


class BulletinFilter(Schema):
    q: str = ""
    status: str = ""
    priority: str = ""
    category: str = ""
    unit: str = ""
    live: bool = False


def _data(request, payload: BulletinIn) -> actions.BulletinData:
    category = None
    if payload.category:
        category = Category.objects.filter(slug=payload.category).first()
        if category is None:
            raise Invalid(fields={"category": [_("Unknown category.")]})
    visible = {u.code: u for u in units_for_user(request.auth).filter(code__in=payload.targets)}
    missing = [code for code in payload.targets if code not in visible]
    if missing:
        raise Invalid(
            fields={"targets": [_("Unknown or not within your units: %(codes)s.") % {"codes": ", ".join(missing)}]}
        )
    fields = payload.dict(exclude={"owner_unit", "category", "targets"})
    return actions.BulletinData(**fields, category=category, targets=list(visible.values()))


@router.get("/", response=list[BulletinOut])
@paginate(LimitOffsetPagination)
def list_bulletins(request, filters: Query[BulletinFilter]):
    """Bulletins the caller may see (own subtree, plus live ones from above or aimed at it)."""
    bulletins = bulletins_for_user(request.auth).select_related(
        "current_revision", "approved_revision", "published_revision"
    )
    if filters.live:
        bulletins = bulletins.live()
    if filters.q:
        bulletins = bulletins.search(filters.q)
    for name in ("status", "priority"):
        if getattr(filters, name):
            bulletins = bulletins.filter(**{name: getattr(filters, name)})
    if filters.category:
        bulletins = bulletins.filter(category__slug=filters.category)
    if filters.unit:
        bulletins = bulletins.filter(owner_unit__code=filters.unit)
    return bulletins.order_by("-updated_at")


@router.post("/", response={201: BulletinDetailOut, **ERRORS})
def create_bulletin(request, payload: BulletinIn):
    unit = get_unit_for_user(request.auth, payload.owner_unit, Capability.EDIT_CONTENT)
    return Status(
        201, actions.do_create_bulletin(owner_unit=unit, data=_data(request, payload), acting_user=request.auth)
    )


@router.get("/media", response=list[MediaOut])
@paginate(LimitOffsetPagination)
def list_media(request, kind: str = ""):
    """The media library files the caller may choose (rendered speech is never one of them)."""
    files = library_for_user(request.auth)
    return files.filter(kind=kind) if kind else files


@router.post("/media", response={201: MediaOut, 413: ErrorOut, **ERRORS})
def upload_media(
    request,
    file: File[UploadedFile],
    unit: Form[str],
    title: Form[str] = "",
    author: Form[str] = "",
    rights: Form[str] = "",
):
    """Add a file to the library (multipart). It is judged by its content: images by their header before decoding
    (at most NGUON_IMAGE_MAX_MEGAPIXELS), audio and video by ffprobe."""
    if getattr(request, "upload_too_large", False):
        raise TooLarge(_("The file is too large: at most %(mb)s MB.") % {"mb": settings.MAX_UPLOAD_MB})
    owner = get_unit_for_user(request.auth, unit, Capability.EDIT_CONTENT)
    fields = {"title": (title, 300), "author": (author, 200), "rights": (rights, 300)}
    long = {name: [_("At most %(n)d characters.") % {"n": limit}] for name, (value, limit) in fields.items()
            if len(value) > limit}  # fmt: skip
    if long:
        raise Invalid(fields=long)
    asset = media.ingest(file, unit=owner, acting_user=request.auth, title=title, author=author, rights=rights)
    return Status(201, asset)


@router.get("/{bulletin_id}", response={200: BulletinDetailOut, **ERRORS})
def get_bulletin(request, bulletin_id: int):
    return presented_for(request.auth, get_bulletin_for_user(request.auth, bulletin_id))


@router.put("/{bulletin_id}", response={200: BulletinDetailOut, **ERRORS})
def edit_bulletin(request, bulletin_id: int, payload: BulletinEdit):
    bulletin = get_bulletin_for_user(request.auth, bulletin_id, Capability.EDIT_CONTENT)
    return actions.do_edit_bulletin(bulletin, data=_data(request, payload), acting_user=request.auth)


@router.post("/{bulletin_id}/submit", response={200: BulletinOut, **ERRORS})
def submit_bulletin(request, bulletin_id: int):
    bulletin = get_bulletin_for_user(request.auth, bulletin_id)
    return actions.do_submit_bulletin(bulletin, acting_user=request.auth)


@router.post("/{bulletin_id}/approve", response={200: BulletinOut, **ERRORS})
def approve_bulletin(request, bulletin_id: int, payload: ApproveIn):
    bulletin = get_bulletin_for_user(request.auth, bulletin_id)
    return actions.do_approve_bulletin(bulletin, acting_user=request.auth, revision_number=payload.revision)


@router.post("/{bulletin_id}/return", response={200: BulletinOut, **ERRORS})
def return_bulletin(request, bulletin_id: int, payload: CommentIn):
    bulletin = get_bulletin_for_user(request.auth, bulletin_id)
    return actions.do_return_bulletin(bulletin, acting_user=request.auth, comment=payload.comment)


@router.post("/{bulletin_id}/withdraw", response={200: BulletinOut, **ERRORS})
def withdraw_bulletin(request, bulletin_id: int, payload: CommentIn):
    bulletin = get_bulletin_for_user(request.auth, bulletin_id)
    return actions.do_withdraw_bulletin(bulletin, acting_user=request.auth, comment=payload.comment)


@router.post("/{bulletin_id}/adopt", response={200: BulletinOut, **ERRORS})
def adopt_bulletin(request, bulletin_id: int, payload: AdoptIn):
    bulletin = get_bulletin_for_user(request.auth, bulletin_id)
    unit = get_unit_for_user(request.auth, payload.unit)
    if unit is None:
        raise Forbidden()
    actions.do_adopt_bulletin(bulletin, unit=unit, acting_user=request.auth)
    return bulletin
