"""Wire alerts into the rest: `alert` report records, and the alert sound once its speech is rendered."""

from django.dispatch import receiver

from nguon.alerts import receipts  # noqa: F401  (registers the `alert` report record type)
from nguon.broadcast import events
from nguon.broadcast.signals import device_enrolled
from nguon.speech.signals import render_finished


@receiver(render_finished, dispatch_uid="alerts_render_finished")
def _render_finished(sender, render, **kwargs):
    from nguon.alerts.models import Alert, AudioState
    from nguon.alerts.tasks import compose_audio

    for alert_id in Alert.objects.filter(speech=render, audio_state=AudioState.RENDERING).values_list("pk", flat=True):
        compose_audio(alert_id)


def _acknowledged(device_id=None, alert_ids=None):
    """(alert id, device id) pairs acknowledged: of the current alerts by every device (the gateway at start-up),
    or of these alerts, current or not (a cancelled one is still replayed until it expires), by one device."""
    from nguon.alerts.models import Alert, AlertDispatch, DispatchState

    states = (DispatchState.ACKNOWLEDGED, DispatchState.PLAYED, DispatchState.DISPLAYED, DispatchState.FAILED)
    rows = AlertDispatch.objects.filter(state__in=states)
    if device_id is None:
        rows = rows.filter(alert__in=Alert.objects.current().values("pk"))
    else:
        rows = rows.filter(device_id=device_id, alert_id__in=alert_ids or ())
    return rows.values_list("alert_id", "device_id")


def _sent(event, device_ids, at):
    """The gateway queued an alert event on these devices' open streams (run in its writer thread)."""
    from nguon.alerts.models import DispatchState

    if event.ack_key is not None:
        receipts.advance(event.ack_key, device_ids, DispatchState.SENT, at)


@receiver(device_enrolled, dispatch_uid="alerts_device_enrolled")
def _device_enrolled(sender, device, **kwargs):
    """A device enrolled (or enrolled again, with empty storage) while alerts are current: send it each of them."""
    from nguon.alerts import delivery
    from nguon.alerts.models import Alert

    for alert in Alert.objects.current().select_related("unit", "audio"):
        delivery.resend_to(alert, device)


events.ACKNOWLEDGED.append(_acknowledged)
events.ON_SENT["alert"] = _sent
