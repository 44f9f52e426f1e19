from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from nguon.accounts.access import grant_paths, scope_to_user
from nguon.accounts.forms import add_domain_error
from nguon.accounts.roles import Capability
from nguon.content.access import get_bulletin_for_user
from nguon.core.errors import DomainError, Forbidden, NotFound
from nguon.speech import actions, config, duration
from nguon.speech.engines import SpeechError
from nguon.speech.forms import LexiconForm
from nguon.speech.models import LexiconEntry, SpeechRender


def speech_panel_context(bulletin) -> dict:
    """The spoken text of the current revision and its render, if one was requested."""
    revision = bulletin.current_revision
    text = actions.spoken_text_for(revision)
    seconds = duration.estimate_seconds(text, config.speaking_rate())
    context = {
        "text": text,
        "render": None,
        "error": "",
        "bulletin": bulletin,
        "minutes": round(seconds / 60, 1),
        "long": duration.is_long(seconds),
        "limit_minutes": duration.LONG_SPEECH_SECONDS // 60,
    }
    try:
        context["render"] = actions.find_render(text)
    except SpeechError as exc:  # e.g. a configured engine that is not installed
        context["error"] = exc.message
    return context


@login_required
def render_status(request, render_id: int):
    """The render's progress (polled by htmx until it is ready or failed)."""
    speech = (
        scope_to_user(SpeechRender.objects.select_related("mp3", "opus"), request.user).filter(pk=render_id).first()
    )
    if speech is None:
        raise NotFound()
    return render(request, "speech/_render.html", {"render": speech})


@login_required
@require_POST
def render_retry(request, render_id: int):
    speech = scope_to_user(SpeechRender.objects.all(), request.user).filter(pk=render_id).first()
    if speech is None:
        raise NotFound()
    try:
        speech = actions.do_retry_render(speech, acting_user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    return render(request, "speech/_render.html", {"render": speech})


@login_required
@require_POST
def render_bulletin(request, bulletin_id: int):
    """Ask for the audio of the bulletin's current revision (normally queued automatically on save)."""
    bulletin = get_bulletin_for_user(request.user, bulletin_id, Capability.EDIT_CONTENT)
    try:
        speech = actions.request_render_for_revision(bulletin.current_revision)
    except (DomainError, SpeechError) as exc:
        return render(request, "speech/_render.html", {"render": None, "error": exc.message}, status=400)
    return render(request, "speech/_render.html", {"render": speech})


@login_required
def lexicon(request):
    if not grant_paths(request.user, Capability.MANAGE_LEXICON):
        raise Forbidden()
    entries = LexiconEntry.objects.filter(is_active=True).select_related("unit")
    entries = scope_to_user(entries, request.user) | entries.filter(unit__isnull=True)
    form = LexiconForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                actions.do_save_lexicon_entry(acting_user=request.user, **form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(
                    request, _("Saved. New audio uses it, and the live bulletins it changes are rendered again.")
                )
                return redirect("speech:lexicon")
        status = 400
    return render(request, "speech/lexicon.html", {"entries": entries.order_by("term"), "form": form}, status=status)


@login_required
@require_POST
def lexicon_delete(request, entry_id: int):
    entry = LexiconEntry.objects.filter(pk=entry_id, is_active=True).select_related("unit").first()
    if entry is None:
        raise NotFound()
    actions.do_delete_lexicon_entry(entry, acting_user=request.user)
    messages.success(request, _("Entry removed."))
    return redirect("speech:lexicon")
