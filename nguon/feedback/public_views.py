"""Public pages for citizens, no sign-in: the feedback form (/phan-anh/), the status page by tracking code or by the
signed token of the e-mails, the citizen's rating and reopening, and the QR code of the form for a commune.

Everything here works without JavaScript (plain forms; a small ES module only adds "use my location" and "copy").
Status pages never show anyone's contact details, are not cached, and never send their address (which holds the
code or token) as a Referer. Wrong codes all get the same answer and are counted per client address.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nguon.content.uploads import MaxSizeUploadHandler
from nguon.core.errors import Conflict, Invalid
from nguon.feedback import actions, attachments, limits
from nguon.feedback.models import DONE_STATUSES, Event, Feedback, Status
from nguon.feedback.public_forms import CodeForm, FeedbackForm, RateForm, ReopenForm, communes

# What the citizen reads for each public step of the history.
EVENT_LABELS = {
    "submit": _("Received"),
    "accept": _("Accepted for handling"),
    "refuse": _("Not accepted"),
    "start": _("Being handled"),
    "answer": _("Answered"),
    "close": _("Closed"),
    "reopen": _("Reopened by you"),
    "rate": _("Rated by you"),
}
# Steps inside the office (assigned, drafted, approved) are "being handled" to the citizen.
PUBLIC_STATUS = {
    Status.ASSIGNED: Status.IN_PROGRESS,
    Status.DRAFTED: Status.IN_PROGRESS,
    Status.APPROVED: Status.IN_PROGRESS,
}


# ---------- helpers ----------

REFERRER_POLICY = "strict-origin"


def _private(response: HttpResponse) -> HttpResponse:
    """A page that names a feedback: kept by nobody, and its address (with the code) sent to nobody.

    "strict-origin", not "no-referrer": under "no-referrer" Chromium sends `Origin: null` with the page's own POST
    forms (rating, reopening, the language switch), which Django's CSRF check refuses. "strict-origin" sends only
    the bare origin as Referer, never the path or query that hold the code or token.
    """
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = REFERRER_POLICY
    return response


def _too_many(request, limited: limits.Limited) -> HttpResponse:
    minutes = max(1, (limited.retry_after + 59) // 60)
    response = render(request, "feedback/public/limited.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return _private(response)


def _client_ip(request) -> str | None:
    return request.META.get(settings.RATELIMIT_IP_META_KEY) or None


def form_url(unit_code: str = "") -> str:
    """The form's full address, with the commune filled in when given (what the QR codes hold)."""
    url = settings.PUBLIC_URL.rstrip("/") + reverse("feedback_public:form")
    return f"{url}?{urlencode({'xa': unit_code})}" if unit_code else url


def qr_svg(data: str) -> str:
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=8, border=2, xmldecl=False, svgclass="qr")
    return buffer.getvalue().decode()


# ---------- the form ----------


class _PublicUploadLimit(MaxSizeUploadHandler):
    """The whole form may carry FEEDBACK_MAX_FILES files of FEEDBACK_MAX_FILE_MB, not the back office's limit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.limit = attachments.max_request_bytes()
        self.received = 0
        self.too_large = bool(content_length and content_length > self.limit + 64 * 1024)
        if self.too_large:
            self.request.upload_too_large = True


def _form_page(request, form, *, status=200, problem="", files_lost=False):
    context = {
        "form": form,
        "problem": problem,
        "files_lost": files_lost,
        "max_files": settings.FEEDBACK_MAX_FILES,
        "max_file_mb": settings.FEEDBACK_MAX_FILE_MB,
        "max_clip_minutes": attachments.MAX_CLIP_SECONDS // 60,
    }
    # The language switch comes back to the form with its commune (never to a status page's code: see base.html).
    context["language_next"] = request.get_full_path() if request.method == "GET" else request.path
    return _private(render(request, "feedback/public/form.html", context, status=status))


@csrf_exempt  # the CSRF check runs in `_submit`, after our upload limit is in place (it reads the body)
@require_http_methods(["GET", "POST"])
def submit(request):
    if request.method == "POST":
        request.upload_handlers = [_PublicUploadLimit(request), TemporaryFileUploadHandler(request)]
    return _submit(request)


@csrf_protect
def _submit(request):
    if request.method != "POST":
        code = request.GET.get("xa", "")[:20]
        initial = {"unit": code} if code and communes().filter(code=code).exists() else {}
        return _form_page(request, FeedbackForm(initial=initial))
    source_ip = _client_ip(request)
    limited = limits.submission_limited(request, source_ip=source_ip)
    if limited:
        return _too_many(request, limited)
    request.POST  # noqa: B018 -- reads the body through the upload limit, which marks a request too large
    if getattr(request, "upload_too_large", False):
        message = _("The files together are too large: at most %(n)s MB each. Nothing was saved.") % {
            "n": settings.FEEDBACK_MAX_FILE_MB
        }
        # The body was cut off where the limit was passed: what arrived is offered again, nothing is judged.
        typed = {name: value for name, value in request.POST.items() if not name.startswith(("challenge", "csrf"))}
        return _form_page(request, FeedbackForm(initial=typed), status=413, problem=message, files_lost=True)
    form = FeedbackForm(request.POST, request.FILES)
    had_files = bool(request.FILES)
    if not form.is_valid():
        return _form_page(request, form, status=400, files_lost=had_files)
    phone, email = form.cleaned_data.get("phone") or "", form.cleaned_data.get("email") or ""
    limited = limits.submission_limited(request, phone=phone, email=email, source_ip=source_ip, count=True)
    if limited:
        return _too_many(request, limited)
    try:
        with attachments.prepared(form.cleaned_data["files"]) as files:
            data = form.feedback_data(files)
            similar = limits.similar_recent(text=data.text, unit=data.unit, topic=data.topic)
            mine = [row for row in similar if limits.same_sender(row, phone=phone, email=email, source_ip=source_ip)]
            if mine:
                context = {"earlier": mine[0]}
                return _private(render(request, "feedback/public/duplicate.html", context, status=409))
            feedback, code = actions.do_submit_feedback(
                data, source_ip=source_ip, similar_to=similar[0].number if similar else ""
            )
    except Invalid as exc:
        for name, messages in exc.fields.items():
            field = {"attachments": "files"}.get(name, name)
            for message in messages:
                form.add_error(field if field in form.fields else None, str(message))
        if not exc.fields:
            form.add_error(None, str(exc.message))
        return _form_page(request, form, status=400, files_lost=had_files)
    context = {
        "feedback": feedback,
        "code": code,
        "track_url": f"{reverse('feedback_public:track')}?{urlencode({'ma': code})}",
    }
    return _private(render(request, "feedback/public/done.html", context))


# ---------- the status page ----------


def _history(feedback: Feedback) -> list[dict]:
    events = Event.objects.filter(feedback=feedback, public=True, action__in=EVENT_LABELS).order_by("at", "pk")
    rows = []
    for event in events:
        note = ""
        if event.action in ("reopen", "refuse", "rate"):
            note = event.note
        rows.append({"at": event.at, "label": EVENT_LABELS[event.action], "note": note})
    return rows


def _status_page(request, feedback: Feedback, *, key: dict, message="", rate_form=None, reopen_form=None, status=200):
    public_status = PUBLIC_STATUS.get(feedback.status, feedback.status)
    answered = feedback.status in DONE_STATUSES
    english = (translation.get_language() or "").startswith("en")
    context = {
        "feedback": feedback,
        "topic_name": feedback.topic.name_en if english and feedback.topic.name_en else feedback.topic.name,
        "status_label": Status(public_status).label,
        "status_code": public_status,
        "history": _history(feedback),
        "answered": answered,
        "refused": feedback.status == Status.REFUSED,
        "overdue": feedback.is_overdue(),
        "can_reopen": actions.can_reopen(feedback),
        "reopen_until": feedback.answered_at + actions.REOPEN_DAYS if feedback.answered_at else None,
        "rate_form": rate_form or RateForm(initial={**key, "rating": feedback.rating}),
        "reopen_form": reopen_form or ReopenForm(initial=key),
        "message": message,
        "now": timezone.now(),
    }
    return _private(render(request, "feedback/public/status.html", context, status=status))


def _not_found(request, form=None, *, status=404):
    return _private(
        render(request, "feedback/public/track.html", {"form": form or CodeForm(), "not_found": True}, status=status)
    )


def _lookup(request, code: str):
    """The feedback for a typed code, or an answer: the same "not found" for every wrong code, counted per address."""
    limited = limits.lookup_limited(request)
    if limited:
        return None, _too_many(request, limited)
    feedback = actions.find_by_code(code)
    if feedback is None:
        limited = limits.lookup_limited(request, wrong=True)
        if limited:
            return None, _too_many(request, limited)
        return None, _not_found(request, CodeForm(initial={"ma": code[:40]}))
    return feedback, None


@require_http_methods(["GET", "POST"])
def track(request):
    source = request.POST if request.method == "POST" else request.GET
    if "ma" not in source:
        return _private(render(request, "feedback/public/track.html", {"form": CodeForm()}))
    form = CodeForm(source)
    if not form.is_valid():
        return _private(render(request, "feedback/public/track.html", {"form": form}, status=400))
    code = form.cleaned_data["ma"].strip()
    feedback, answer = _lookup(request, code)
    if answer is not None:
        return answer
    return _status_page(request, feedback, key={"ma": code})


@require_GET
def status(request, token: str):
    feedback = actions.find_by_token(token)
    if feedback is None:
        return _not_found(request)
    return _status_page(request, feedback, key={"t": token})


def _from_key(request, form):
    """The feedback a rating or reopening form is about (its hidden code or token)."""
    code, token = (form.data.get("ma") or "")[:40], (form.data.get("t") or "")[:300]
    if token:
        feedback = actions.find_by_token(token)
        return feedback, {"t": token}, (None if feedback else _not_found(request))
    if code:
        feedback, answer = _lookup(request, code)
        return feedback, {"ma": code}, answer
    return None, {}, _not_found(request)


@require_POST
def rate(request):
    form = RateForm(request.POST)
    feedback, key, answer = _from_key(request, form)
    if answer is not None:
        return answer
    if not form.is_valid():
        return _status_page(request, feedback, key=key, rate_form=form, status=400)
    try:
        feedback = actions.do_rate_answer(
            feedback, rating=form.cleaned_data["rating"], comment=form.cleaned_data.get("comment") or ""
        )
    except (Invalid, Conflict) as exc:
        return _status_page(request, feedback, key=key, message=str(exc.message), status=400)
    return _status_page(request, feedback, key=key, message=_("Thank you: your rating was recorded."))


@require_POST
def reopen(request):
    form = ReopenForm(request.POST)
    feedback, key, answer = _from_key(request, form)
    if answer is not None:
        return answer
    if not form.is_valid():
        return _status_page(request, feedback, key=key, reopen_form=form, status=400)
    try:
        feedback = actions.do_reopen_by_citizen(feedback, reason=form.cleaned_data["reason"])
    except (Invalid, Conflict) as exc:
        return _status_page(request, feedback, key=key, message=str(exc.message), status=400)
    return _status_page(
        request, feedback, key=key, message=_("Your feedback was reopened: the office will handle it again.")
    )


# ---------- the QR code of the form ----------


@require_GET
@cache_control(public=True, max_age=3600)
def qr(request):
    """An SVG QR code of the form's address with the commune filled in (e-boards and notices show it)."""
    code = request.GET.get("xa", "")[:20]
    if code and not communes().filter(code=code).exists():
        raise Http404()
    with translation.override(settings.LANGUAGE_CODE):
        svg = qr_svg(form_url(code))
    return HttpResponse(svg, content_type="image/svg+xml")
