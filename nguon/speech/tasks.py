from huey.contrib.djhuey import db_task

from nguon.audit.context import Origin, origin


@db_task(retries=1, retry_delay=5)
def render_speech(render_id: int):
    from nguon.speech.actions import run_render

    with origin(Origin(channel="worker")):
        speech = run_render(render_id)
    return speech.status if speech else None
