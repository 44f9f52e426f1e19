from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from nguon.audit.context import Origin, origin


@db_task(retries=1, retry_delay=5)
def render_speech(render_id: int):
    from nguon.speech.actions import run_render

    with origin(Origin(channel="worker")):
        speech = run_render(render_id)
    return speech.status if speech else None


@db_task()
def rerender_live_bulletins_task(unit_id: int | None):
    from nguon.speech.actions import rerender_live_bulletins
    from nguon.units.models import Unit

    unit = Unit.objects.filter(pk=unit_id).first() if unit_id is not None else None
    if unit_id is not None and unit is None:
        return 0
    with origin(Origin(channel="worker")):
        return rerender_live_bulletins(unit)


@db_periodic_task(crontab(minute="*/10"))
def ensure_live_audio():
    """Every live bulletin has audio as it reads now: after a change of NGUON_TTS_RATE, voice, engine, loudness or
    chimes (which change every render's key) or a dictionary change the worker missed, the missing audio is
    queued here, and render_finished puts it back into the manifests."""
    from nguon.speech.actions import rerender_live_bulletins

    with origin(Origin(channel="worker")):
        return rerender_live_bulletins(None)
