from huey.contrib.djhuey import db_task

from nguon.audit.context import Origin, origin


@db_task(retries=1, retry_delay=5)
def compose_audio(alert_id: int):
    """Tone + speech, repeated, into one MP3; then the waiting loudspeakers of an issued alert get it."""
    from nguon.alerts.actions import on_audio_ready
    from nguon.alerts.audio import render_alert_audio
    from nguon.alerts.models import Alert, AudioState
    from nguon.speech.engines import SpeechError

    with origin(Origin(channel="worker")):
        alert = Alert.objects.select_related("unit", "speech__mp3").get(pk=alert_id)
        if alert.speech is None or alert.speech.mp3 is None:
            return None
        try:
            asset = render_alert_audio(alert)
        except SpeechError as exc:
            Alert.objects.filter(pk=alert_id).update(audio_state=AudioState.FAILED, audio_error=exc.message)
            return AudioState.FAILED
        Alert.objects.filter(pk=alert_id).update(audio=asset, audio_state=AudioState.READY, audio_error="")
        on_audio_ready(alert_id)
    return AudioState.READY
