from datetime import datetime, time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import can, grant_paths, units_for_user
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.content import actions, checks, importer, media
from nguon.content.access import (
    bulletins_for_user,
    get_bulletin_for_user,
    get_media_for_user,
    library_for_user,
    presented_for,
)
from nguon.content.forms import BulletinFilterForm, BulletinForm, CommentForm, ImportForm, MediaUploadForm
from nguon.content.models import Priority, Status
from nguon.core.errors import DomainError, Forbidden, Invalid


def filter_bulletins(queryset, form: BulletinFilterForm):
    if not form.is_valid():
        return queryset
    data = form.cleaned_data
    if data["q"]:
        queryset = queryset.search(data["q"])
    if data["status"]:
        queryset = queryset.filter(status=data["status"])
    if data["priority"]:
        queryset = queryset.filter(priority=data["priority"])
    if data["category"]:
        queryset = queryset.filter(category=data["category"])
    if data["unit"]:
        queryset = queryset.filter(owner_unit__code=data["unit"])
    tz = timezone.get_current_timezone()
    if data["date_from"]:
        queryset = queryset.filter(updated_at__gte=datetime.combine(data["date_from"], time.min, tzinfo=tz))
    if data["date_to"]:
        queryset = queryset.filter(updated_at__lte=datetime.combine(data["date_to"], time.max, tzinfo=tz))
    return queryset


def _list(request, queryset, *, title, tab):
    form = BulletinFilterForm(request.GET or None)
    page = Paginator(filter_bulletins(queryset, form).order_by("-updated_at"), 30).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "form": form, "title": title, "tab": tab, "query": query.urlencode()}
    template = "content/_bulletin_rows.html" if request.htmx else "content/bulletin_list.html"
    return render(request, template, context)


@login_required
def bulletin_list(request):
    return _list(request, bulletins_for_user(request.user), title=_("Bulletins"), tab="all")


@login_required
def repository(request):
    """The shared repository: published bulletins from above and from this unit."""
    return _list(request, bulletins_for_user(request.user).live(), title=_("Source repository"), tab="repository")


@login_required
def inbox(request):
    """Bulletins awaiting this approver's decision."""
    if not grant_paths(request.user, Capability.APPROVE_CONTENT):
        raise Forbidden()
    pending = [
        b
        for b in bulletins_for_user(request.user).awaiting_approval()
        if can(request.user, Capability.APPROVE_CONTENT, b.owner_unit)
    ]
    return render(request, "content/inbox.html", {"bulletins": pending})


@login_required
def bulletin_create(request):
    if not grant_paths(request.user, Capability.EDIT_CONTENT):
        raise Forbidden()
    form = BulletinForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            bulletin = actions.do_create_bulletin(
                owner_unit=form.cleaned_data["owner_unit"], data=form.to_data(), acting_user=request.user
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Bulletin saved as a draft."))
            _warn(request, bulletin)
            return redirect("content:detail", bulletin_id=bulletin.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "content/bulletin_form.html", {"form": form, "bulletin": None}, status=status)


@login_required
def bulletin_edit(request, bulletin_id: int):
    bulletin = get_bulletin_for_user(request.user, bulletin_id, Capability.EDIT_CONTENT)
    if request.method == "POST":
        form = BulletinForm(request.POST, user=request.user, bulletin=bulletin)
        if form.is_valid():
            try:
                actions.do_edit_bulletin(bulletin, data=form.to_data(), acting_user=request.user)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Saved as a new revision."))
                _warn(request, bulletin)
                return redirect("content:detail", bulletin_id=bulletin.pk)
        return render(request, "content/bulletin_form.html", {"form": form, "bulletin": bulletin}, status=400)
    form = BulletinForm(initial=BulletinForm.initial_from(bulletin), user=request.user, bulletin=bulletin)
    return render(request, "content/bulletin_form.html", {"form": form, "bulletin": bulletin})


def _warn(request, bulletin) -> None:
    """Tell the editor what to look at in what was just saved (nothing is blocked)."""
    bulletin.refresh_from_db()
    for warning in checks.bulletin_warnings(bulletin):
        messages.warning(request, warning.message)


@login_required
@require_POST
def bulletin_check(request, bulletin_id: int | None = None):
    """The editor's live check (htmx, as the editor types): the text as the loudspeakers will say it, with the
    pronunciation dictionary of the bulletin's unit, its estimated length, and the warnings."""
    bulletin = None
    if bulletin_id is not None:
        bulletin = get_bulletin_for_user(request.user, bulletin_id, Capability.EDIT_CONTENT)
    elif not grant_paths(request.user, Capability.EDIT_CONTENT):
        raise Forbidden()
    form = BulletinForm(request.POST, user=request.user, bulletin=bulletin)
    form.is_valid()  # partial input is normal while typing: use every field that is valid so far
    data = form.cleaned_data
    unit = bulletin.owner_unit if bulletin is not None else data.get("owner_unit")
    draft = actions.BulletinData(
        title=data.get("title") or "",
        summary=data.get("summary") or "",
        body=data.get("body") or "",
        spoken_text=data.get("spoken_text") or "",
        publish_at=data.get("publish_at"),
    )
    check = checks.check_draft(draft, unit=unit, bulletin=bulletin)
    typed = any((draft.title, draft.summary, draft.body, draft.spoken_text))
    return render(request, "content/_checks.html", {"check": check, "report": check.report, "typed": typed})


def detail_context(request, bulletin, **extra):
    user = request.user
    bulletin = presented_for(user, bulletin)
    revision = bulletin.current_revision
    adoptable_units = []
    if bulletin.priority == Priority.NORMAL and bulletin.published_revision_id:
        adopted = set(bulletin.adoptions.values_list("unit_id", flat=True))
        adoptable_units = [
            u for u in units_for_user(user, Capability.ADOPT_CONTENT).current().subtree_of(bulletin.owner_unit)
            if u.pk not in adopted
        ][:200]  # fmt: skip
    return {
        "bulletin": bulletin,
        "revision": revision,
        "revisions": bulletin.revisions.order_by("-number").select_related("created_by"),
        "history": bulletin.history.select_related("actor", "revision"),
        "adoptions": bulletin.adoptions.select_related("unit", "by"),
        "targets": revision.targets.all(),
        "attachments": revision.attachments.all(),
        "can_edit": bulletin.is_editable() and can(user, Capability.EDIT_CONTENT, bulletin.owner_unit),
        "can_submit": bulletin.status in (Status.DRAFT, Status.RETURNED)
        and can(user, Capability.EDIT_CONTENT, bulletin.owner_unit),
        "can_approve": bulletin.can_be_approved_by(user),
        "can_return": bulletin.status == Status.SUBMITTED
        and can(user, Capability.APPROVE_CONTENT, bulletin.owner_unit),
        "can_withdraw": bulletin.status not in (Status.DRAFT, Status.WITHDRAWN, Status.ARCHIVED)
        and can(user, Capability.APPROVE_CONTENT, bulletin.owner_unit),
        "adoptable_units": adoptable_units,
        "comment_form": extra.pop("comment_form", None) or CommentForm(),
        "speech": speech_context(bulletin),
        **extra,
    }


def speech_context(bulletin):
    from nguon.speech.views import speech_panel_context

    return speech_panel_context(bulletin)


@login_required
def bulletin_detail(request, bulletin_id: int):
    bulletin = get_bulletin_for_user(request.user, bulletin_id)
    return render(request, "content/bulletin_detail.html", detail_context(request, bulletin))


def _workflow_step(request, bulletin_id, step):
    bulletin = get_bulletin_for_user(request.user, bulletin_id)
    try:
        step(bulletin)
    except Invalid as exc:
        form = CommentForm(request.POST)
        form.is_valid()
        add_domain_error(form, exc)
        context = detail_context(request, bulletin, comment_form=form)
        return render(request, "content/bulletin_detail.html", context, status=400)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        messages.error(request, exc.message)
    return redirect("content:detail", bulletin_id=bulletin.pk)


@login_required
@require_POST
def bulletin_submit(request, bulletin_id: int):
    def step(b):
        actions.do_submit_bulletin(b, acting_user=request.user)
        messages.success(request, _("Sent for approval."))

    return _workflow_step(request, bulletin_id, step)


@login_required
@require_POST
def bulletin_approve(request, bulletin_id: int):
    def step(b):
        try:
            number = int(request.POST.get("revision", ""))
        except ValueError:
            raise Invalid(_("Missing revision number.")) from None
        b = actions.do_approve_bulletin(b, acting_user=request.user, revision_number=number)
        if b.status == Status.PUBLISHED:
            messages.success(request, _("Approved and published."))
        else:
            messages.success(request, _("Approved; it will be published at the scheduled time."))

    return _workflow_step(request, bulletin_id, step)


@login_required
@require_POST
def bulletin_return(request, bulletin_id: int):
    def step(b):
        actions.do_return_bulletin(b, acting_user=request.user, comment=request.POST.get("comment", ""))
        messages.success(request, _("Returned to the author with your comment."))

    return _workflow_step(request, bulletin_id, step)


@login_required
@require_POST
def bulletin_withdraw(request, bulletin_id: int):
    def step(b):
        actions.do_withdraw_bulletin(b, acting_user=request.user, comment=request.POST.get("comment", ""))
        messages.success(request, _("Bulletin withdrawn."))

    return _workflow_step(request, bulletin_id, step)


@login_required
@require_POST
def bulletin_adopt(request, bulletin_id: int):
    def step(b):
        unit = units_for_user(request.user, Capability.ADOPT_CONTENT).filter(code=request.POST.get("unit", "")).first()
        if unit is None:
            raise Forbidden()
        actions.do_adopt_bulletin(b, unit=unit, acting_user=request.user)
        messages.success(request, _("Taken into the programme of %(unit)s.") % {"unit": unit.name})

    return _workflow_step(request, bulletin_id, step)


def _add_import_error(form, exc: DomainError) -> None:
    """The import's problems are keyed by item ("item 2"), not by form field: show them with the item named."""
    form.add_error(None, exc.message)
    for name, problems in exc.fields.items():
        for problem in problems:
            if name in form.fields:
                form.add_error(name, problem)
            else:
                form.add_error(None, f"{name}: {problem}")


@login_required
def bulletin_import(request):
    if not grant_paths(request.user, Capability.EDIT_CONTENT):
        raise Forbidden()
    form = ImportForm(request.POST or None, request.FILES or None, user=request.user)
    status = 200
    if request.method == "POST":
        if getattr(request, "upload_too_large", False):
            form.add_error("file", _("The file is too large: at most %(mb)s MB.") % {"mb": settings.MAX_UPLOAD_MB})
        elif form.is_valid():
            try:
                report = importer.do_import_bulletins(
                    form.cleaned_data["file"].read(),
                    unit=form.cleaned_data["unit"],
                    source=form.cleaned_data["source"],
                    acting_user=request.user,
                )
            except DomainError as exc:
                _add_import_error(form, exc)
            else:
                messages.success(
                    request,
                    _("Imported: %(c)d new, %(u)d updated, %(s)d unchanged. They await approval.")
                    % {"c": len(report.created), "u": len(report.updated), "s": len(report.unchanged)},
                )
                return redirect("content:list")
        status = 400
    return render(request, "content/import.html", {"form": form}, status=status)


@login_required
def media_list(request):
    assets = library_for_user(request.user)
    kind = request.GET.get("kind", "")
    if kind:
        assets = assets.filter(kind=kind)
    page = Paginator(assets, 50).get_page(request.GET.get("page"))
    form = MediaUploadForm(user=request.user)
    return render(request, "content/media_list.html", {"page": page, "form": form, "kind": kind})


@login_required
@require_POST
def media_upload(request):
    form = MediaUploadForm(request.POST, request.FILES, user=request.user)
    if getattr(request, "upload_too_large", False):
        form.is_valid()
        form.add_error(None, _("The file is too large: at most %(mb)s MB.") % {"mb": settings.MAX_UPLOAD_MB})
    elif form.is_valid():
        data = form.cleaned_data
        try:
            asset = media.ingest(
                data["file"],
                unit=data["unit"],
                acting_user=request.user,
                title=data["title"],
                author=data["author"],
                rights=data["rights"],
                category=data["category"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("File added to the library."))
            return redirect(f"{reverse('content:media_list')}#m-{asset.sha256[:12]}")
    page = Paginator(library_for_user(request.user), 50).get_page(1)
    return render(request, "content/media_list.html", {"page": page, "form": form, "kind": ""}, status=400)


@login_required
def media_file(request, sha256: str):
    """Serve a library file to signed-in users who can see it (devices get media through their own channel)."""
    asset = get_media_for_user(request.user, sha256)
    response = FileResponse(asset.file.open("rb"), content_type=asset.mime_type)
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def dashboard_counts(user) -> dict:
    visible = bulletins_for_user(user)
    return {
        "awaiting": visible.awaiting_approval().count(),
        "live": visible.live().count(),
        "total": visible.count(),
    }
