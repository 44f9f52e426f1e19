"""Speech renders and the pronunciation dictionary: request, run (in the worker), retry."""

from __future__ import annotations

import logging
import tempfile
import time

from django.db import transaction
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nguon.accounts.access import require
from nguon.accounts.roles import Capability
from nguon.audit.actions import record_event
from nguon.core.errors import Conflict, Forbidden, Invalid
from nguon.speech import config
from nguon.speech.audio import render, render_key
from nguon.speech.engines import SpeechError
from nguon.speech.models import LexiconEntry, RenderStatus, SpeechRender
from nguon.speech.normalize import NormalizationReport, normalize_with_report
from nguon.speech.signals import render_finished

log = logging.getLogger(__name__)
PROGRESS_EVERY = 0.5  # seconds between progress writes, so a render does not hammer the database


def lexicon_for(unit) -> dict[str, str]:
    """The pronunciation dictionary for `unit`: shared entries, then its ancestors', then its own (the nearest wins)."""
    entries = LexiconEntry.objects.for_unit(unit).order_by(Length("unit__path").asc(nulls_first=True), "pk")
    return dict(entries.values_list("term", "spoken"))


def spoken_report(source: str, unit) -> NormalizationReport:
    """What the loudspeakers of `unit` say for `source`, with its dictionary: the one reading that the editor's
    preview shows and the renderer speaks (`spoken_text_for`)."""
    return normalize_with_report(source, lexicon=lexicon_for(unit))


def spoken_text_for(revision) -> str:
    return spoken_report(revision.speech_source(), revision.bulletin.owner_unit).text


def _key(text: str, voice: str | None, engine: str | None):
    voice = voice or config.default_voice()
    engine_obj = config.make_engine(engine)
    settings = config.audio_settings()
    rate = config.speaking_rate()
    return render_key(text, voice, settings, engine=engine_obj, rate=rate), voice, engine_obj, settings, rate


def find_render(text: str) -> SpeechRender | None:
    """The render of this text with the current settings, if one was ever requested."""
    if not text.strip():
        return None
    return SpeechRender.objects.select_related("mp3").filter(key=_key(text, None, None)[0]).first()


def request_render(text: str, *, unit, voice: str | None = None, engine: str | None = None) -> SpeechRender:
    """Return the render for this text and settings, queuing it if it was never done (cached by key)."""
    if not text.strip():
        raise Invalid(_("There is nothing to read aloud in this text."), code="nothing_to_say")
    key, voice, engine_obj, settings, rate = _key(text, voice, engine)
    with transaction.atomic():
        speech, created = SpeechRender.objects.get_or_create(
            key=key,
            defaults={
                "text": text,
                "engine": engine_obj.name,
                "voice": voice,
                "options": {**settings.cache_dict(), "rate": rate},
                "unit": unit,
            },
        )
        if created:
            transaction.on_commit(lambda: _enqueue(speech.pk))
    return speech


def request_render_for_revision(revision) -> SpeechRender:
    return request_render(spoken_text_for(revision), unit=revision.bulletin.owner_unit)


def do_retry_render(speech: SpeechRender, *, acting_user) -> SpeechRender:
    """Queue a failed render again."""
    require(acting_user, Capability.EDIT_CONTENT, speech.unit)
    with transaction.atomic():
        updated = SpeechRender.objects.filter(pk=speech.pk, status=RenderStatus.FAILED).update(
            status=RenderStatus.QUEUED, error="", progress=0.0, stage=""
        )
        if not updated:
            raise Conflict(_("Only a failed rendering can be retried."), code="not_failed")
        record_event("speech.render_retried", actor=acting_user, obj=speech, unit=speech.unit)
        transaction.on_commit(lambda: _enqueue(speech.pk))
    speech.refresh_from_db()
    return speech


def _enqueue(render_id: int) -> None:
    from nguon.speech.tasks import render_speech

    render_speech(render_id)


def run_render(render_id: int) -> SpeechRender | None:
    """Do one queued render (called by the worker). Claims it atomically so two workers never both run it."""
    from nguon.content.media import store_generated_audio

    now = timezone.now()
    claimed = SpeechRender.objects.filter(pk=render_id, status=RenderStatus.QUEUED).update(
        status=RenderStatus.RUNNING, started_at=now, stage="synthesise", progress=0.0
    )
    if not claimed:
        return None
    speech = SpeechRender.objects.select_related("unit").get(pk=render_id)
    SpeechRender.objects.filter(pk=render_id).update(attempts=speech.attempts + 1)
    last_write = [0.0]

    def on_progress(stage: str, fraction: float) -> None:
        if time.monotonic() - last_write[0] >= PROGRESS_EVERY or fraction == 0.0:
            last_write[0] = time.monotonic()
            SpeechRender.objects.filter(pk=render_id).update(stage=stage, progress=fraction)

    try:
        with tempfile.TemporaryDirectory(prefix="nguon-render-") as tmp:
            result = render(
                speech.text,
                store_root=tmp,
                engine=config.make_engine(speech.engine),
                voice=speech.voice,
                rate=speech.options.get("rate"),  # the rate the key was made with (NGUON_TTS_RATE then)
                settings=config.audio_settings(),
                on_progress=on_progress,
            )
            loudness = (result.loudness_lufs, result.true_peak_dbtp)
            title = speech.text[:120]
            mp3 = store_generated_audio(
                result.mp3.path, sha=result.mp3.sha256, extension="mp3", mime_type="audio/mpeg",
                duration=result.duration, loudness=loudness, unit=speech.unit, title=title,
            )  # fmt: skip
            opus = store_generated_audio(
                result.opus.path, sha=result.opus.sha256, extension="opus", mime_type="audio/ogg",
                duration=result.duration, loudness=loudness, unit=speech.unit, title=title,
            )  # fmt: skip
    except SpeechError as exc:
        log.warning("speech render %s failed: %s", render_id, exc)
        SpeechRender.objects.filter(pk=render_id).update(
            status=RenderStatus.FAILED, error=exc.message, finished_at=timezone.now()
        )
        return SpeechRender.objects.get(pk=render_id)
    SpeechRender.objects.filter(pk=render_id).update(
        status=RenderStatus.DONE,
        stage="done",
        progress=1.0,
        mp3=mp3,
        opus=opus,
        duration=result.duration,
        loudness_lufs=result.loudness_lufs,
        true_peak_dbtp=result.true_peak_dbtp,
        timings=result.timings,
        finished_at=timezone.now(),
    )
    speech = SpeechRender.objects.get(pk=render_id)
    render_finished.send(sender=SpeechRender, render=speech)
    return speech


def do_save_lexicon_entry(*, term: str, spoken: str, unit, acting_user) -> LexiconEntry:
    if unit is not None:
        require(acting_user, Capability.MANAGE_LEXICON, unit)
    else:
        from nguon.accounts.access import covers_everything

        if not covers_everything(acting_user, Capability.MANAGE_LEXICON):
            raise Invalid(_("Choose your unit: only province-wide staff edit the shared dictionary."))
    term, spoken = term.strip(), spoken.strip()
    errors = {}
    if not term:
        errors["term"] = [_("Enter the written form.")]
    if not spoken or not any(ch.isalpha() for ch in spoken):
        errors["spoken"] = [_("Enter how it is read, in words.")]
    if errors:
        raise Invalid(_("The entry has errors."), fields=errors)
    with transaction.atomic():
        entry, created = LexiconEntry.objects.update_or_create(
            term=term, unit=unit, defaults={"spoken": spoken, "is_active": True, "created_by": acting_user}
        )
        record_event(
            "speech.lexicon_saved",
            actor=acting_user,
            obj=entry,
            unit=unit,
            changes={"term": term, "spoken": spoken, "created": created},
        )
        _after_lexicon_change(unit)
    return entry


def do_delete_lexicon_entry(entry: LexiconEntry, *, acting_user) -> None:
    if entry.unit is not None:
        require(acting_user, Capability.MANAGE_LEXICON, entry.unit)
    else:
        from nguon.accounts.access import covers_everything

        # The shared dictionary belongs to province-wide staff, as for saving an entry.
        if not covers_everything(acting_user, Capability.MANAGE_LEXICON):
            raise Forbidden()
    with transaction.atomic():
        LexiconEntry.objects.filter(pk=entry.pk).update(is_active=False)
        record_event("speech.lexicon_disabled", actor=acting_user, obj=entry, unit=entry.unit)
        _after_lexicon_change(entry.unit)


def _after_lexicon_change(unit) -> None:
    unit_id = unit.pk if unit is not None else None

    def queue():
        from nguon.speech.tasks import rerender_live_bulletins_task

        rerender_live_bulletins_task(unit_id)

    transaction.on_commit(queue)


def rerender_live_bulletins(unit) -> int:
    """Ask for the audio of every live bulletin in `unit`'s subtree (None: everywhere) as the dictionary now reads
    it (only readings never rendered are queued); return how many bulletins were asked for.

    Devices find a bulletin's audio by its spoken text; after a dictionary change that text is new, so without
    this a live bulletin would lose its audio at the next manifest compile and nothing would ever render it
    again. When each render is done, `render_finished` recompiles the manifests that play it.
    """
    from nguon.content.models import Bulletin

    live = Bulletin.objects.live().select_related("published_revision", "owner_unit")
    if unit is not None:
        live = live.filter(owner_unit__path__startswith=unit.path)
    asked = 0
    for bulletin in live:
        revision = bulletin.published_revision
        revision.bulletin = bulletin  # spare a query per bulletin
        try:
            request_render(spoken_text_for(revision), unit=bulletin.owner_unit)
        except (Invalid, SpeechError):
            continue  # nothing to say, or no engine: the bulletin page shows why
        asked += 1
    return asked
