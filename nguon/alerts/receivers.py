"""Wire alerts into the rest: `alert` report records, and the alert sound once its speech is rendered."""

from django.dispatch import receiver

from nguon.alerts import receipts  # noqa: F401  (registers the `alert` report record type)
from nguon.broadcast import events
from nguon.speech.signals import render_finished


@receiver(render_finished, dispatch_uid="alerts_render_finished")
def _render_finished(sender, render, **kwargs):
    from nguon.alerts.models import Alert, AudioState
    from nguon.alerts.tasks import compose_audio

    for alert_id in Alert.objects.filter(speech=render, audio_state=AudioState.RENDERING).values_list("pk", flat=True):
        compose_audio(alert_id)


def _acknowledged():
    from nguon.alerts.models import Alert, AlertDispatch, DispatchState

    current = Alert.objects.current().values("pk")
    states = (DispatchState.ACKNOWLEDGED, DispatchState.PLAYED, DispatchState.FAILED)
    return AlertDispatch.objects.filter(alert__in=current, state__in=states).values_list("alert_id", "device_id")


def _sent(event_id, alert_id, device_ids, at):
    from nguon.alerts.delivery import mark_sent

    if alert_id is not None:
        mark_sent(event_id, alert_id, device_ids, at)


events.ACKNOWLEDGED.append(_acknowledged)
events.ON_SENT["alert"] = _sent
