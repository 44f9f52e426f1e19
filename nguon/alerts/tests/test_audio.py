"""The alert's sound through the real pipeline (espeak-ng, ffmpeg): tone + message, repeated; loudspeakers of an
issued alert get it as soon as it is stored."""

from __future__ import annotations

import pytest

from nguon.alerts import actions
from nguon.alerts.audio import spoken_text
from nguon.alerts.models import AlertDispatch, AudioState
from nguon.alerts.tests.helpers import device_at, make_alert
from nguon.broadcast.models import PushEvent
from nguon.speech.audio import measure_loudness, probe

pytestmark = pytest.mark.django_db


@pytest.fixture
def rendering(settings):
    settings.SPEECH_AUTO_RENDER = True  # the worker runs inline in tests (Huey immediate mode)
    settings.ALERT_TONE_SECONDS = 2


def test_spoken_text_says_whether_it_is_a_drill(cast):
    real = make_alert(cast)
    drill = make_alert(cast, status="Exercise", headline="Diễn tập")
    assert spoken_text(real).startswith("thông báo khẩn cấp")  # the normaliser lowers case
    assert spoken_text(drill).startswith("đây là tin diễn tập")


def test_tone_and_message_repeated_then_loudspeakers_are_told(cast, rendering, django_capture_on_commit_callbacks):
    speaker, board = device_at(cast, "S1"), device_at(cast, "E1", kind="board")
    with django_capture_on_commit_callbacks(execute=True):
        once = make_alert(cast, repeat=1, headline="Cảnh báo lũ", description="", instruction="")
    with django_capture_on_commit_callbacks(execute=True):
        twice = make_alert(cast, repeat=2, headline="Cảnh báo lũ", description="", instruction="")
    once.refresh_from_db()
    twice.refresh_from_db()
    assert once.audio_state == twice.audio_state == AudioState.READY
    assert once.speech_id == twice.speech_id  # the same words are rendered once
    speech_seconds = once.speech.duration
    one = probe(once.audio.file.path).duration
    two = probe(twice.audio.file.path).duration
    assert one == pytest.approx(2 + speech_seconds + 1.5, abs=0.6)  # tone, half-second gap, speech, 1 s gap
    assert two == pytest.approx(2 * one, abs=0.6)
    loudness = measure_loudness(once.audio.file.path)
    assert loudness.integrated_lufs == pytest.approx(-16, abs=2)

    with django_capture_on_commit_callbacks(execute=True):
        actions.do_approve(twice, acting_user=cast.approver)
    events = {tuple(e.device_ids): e for e in PushEvent.objects.filter(type="alert")}
    item = events[(speaker.pk,)].body["item"]
    assert item["sha256"] == twice.audio.sha256 and item["url"].endswith(twice.audio.sha256)
    assert events[(board.pk,)].body["item"] is None
    assert AlertDispatch.objects.filter(alert=twice, event_id__isnull=False).count() == 2


def test_loudspeakers_wait_for_audio_that_is_not_ready(cast, rendering, django_capture_on_commit_callbacks):
    speaker = device_at(cast, "S1")
    alert = make_alert(cast)  # on-commit callbacks not run: the render has not even been asked for
    actions.do_approve(alert, acting_user=cast.approver)
    assert not PushEvent.objects.filter(type="alert").exists()
    assert AlertDispatch.objects.get(alert=alert, device=speaker).state == "queued"
    with django_capture_on_commit_callbacks(execute=True):
        actions.request_audio(alert.pk)  # what the commit would have queued: render, compose, then tell them
    (event,) = PushEvent.objects.filter(type="alert")
    assert event.device_ids == [speaker.pk] and event.body["item"]["kind"] == "audio"
