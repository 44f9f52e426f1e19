"""Speech length: the estimate against real espeak-ng, NGUON_TTS_RATE reaching the renderer (and live bulletins
getting audio at a new rate), stage labels."""

import shutil
import wave

import pytest
from django.utils import translation

from nguon.content.tests.conftest import make_bulletin, publish
from nguon.speech import config
from nguon.speech.actions import find_render, request_render, spoken_text_for
from nguon.speech.audio import STAGES
from nguon.speech.duration import estimate_seconds, words_per_minute
from nguon.speech.engines import EspeakEngine
from nguon.speech.models import STAGE_LABELS, RenderStatus, SpeechRender
from nguon.speech.normalize import normalize
from nguon.speech.tasks import ensure_live_audio

needs_espeak = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng")

BULLETIN = (
    "Ủy ban nhân dân phường Biên Hòa thông báo: từ 7h30 ngày 23/5/2024, trạm y tế phường tổ chức tiêm chủng "
    "cho trẻ em từ 5-7 tuổi. Đề nghị các gia đình đưa trẻ đến đúng giờ, mang theo sổ tiêm chủng. "
    "Mọi thắc mắc xin liên hệ đường dây nóng 0251 3822 123. Trân trọng thông báo!"
)


def wav_seconds(path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


@needs_espeak
@pytest.mark.parametrize("rate", [None, 70, 150])
def test_the_estimate_is_within_fifteen_percent_of_espeak(tmp_path, rate):
    text = normalize(BULLETIN)
    spoken = wav_seconds(EspeakEngine().synthesize(text, voice="south", rate=rate, workdir=tmp_path).path)
    assert estimate_seconds(text, rate) == pytest.approx(spoken, rel=0.15)


def test_speed_grows_with_the_rate():
    speeds = [words_per_minute(rate) for rate in (25, 50, 60, 100, 120, 200, 400)]
    assert speeds == sorted(speeds) and words_per_minute(None) == words_per_minute(100) == 239


def test_the_configured_rate_reaches_the_render_key_and_the_engine(cast, settings):
    settings.TTS_RATE = 100
    assert config.speaking_rate() is None  # the engine's own speed: existing renders keep their key
    normal = request_render("xin chào bà con", unit=cast.commune)
    settings.TTS_RATE = 150
    assert config.speaking_rate() == 150
    fast = request_render("xin chào bà con", unit=cast.commune)
    assert fast.pk != normal.pk and fast.key != normal.key
    assert fast.options["rate"] == 150 and normal.options["rate"] is None


@needs_espeak
def test_a_render_speaks_at_the_configured_rate(cast, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path)
    text = normalize(BULLETIN)
    durations = {}
    for rate in (100, 160):
        settings.TTS_RATE = rate
        with django_capture_on_commit_callbacks(execute=True):  # the worker runs inline in tests
            speech = request_render(text, unit=cast.commune)
        speech.refresh_from_db()
        assert speech.status == RenderStatus.DONE, speech.error
        durations[rate] = speech.duration
    assert durations[160] < durations[100] * 0.75


def test_every_stage_has_a_vietnamese_label(cast, client_for):
    assert set(STAGE_LABELS) == {*STAGES, "done"}
    for stage, label in STAGE_LABELS.items():
        with translation.override("en"):
            english = str(label)
        with translation.override("vi"):
            assert str(label) != english, stage  # translated, not the English msgid
    speech = SpeechRender.objects.create(
        key="k" * 64, text="xin chào", engine="espeak", voice="south", unit=cast.commune,
        status=RenderStatus.RUNNING, stage="encode", progress=0.5,
    )  # fmt: skip
    page = client_for(cast.commune_editor).get(f"/speech/renders/{speech.pk}/", HTTP_ACCEPT_LANGUAGE="vi")
    html = page.content.decode()
    with translation.override("vi"):
        assert str(STAGE_LABELS["encode"]) in html
    assert "encode" not in html.replace("/speech/renders", "")


def test_a_changed_rate_gets_live_bulletins_new_audio(cast, settings):
    settings.SPEECH_AUTO_RENDER = False
    bulletin = make_bulletin(cast.commune, cast.commune_editor, body="Mời bà con dự họp lúc 8g 30.")
    publish(bulletin, editor=cast.commune_editor, approver=cast.approver)
    bulletin.refresh_from_db()
    text = spoken_text_for(bulletin.published_revision)
    assert find_render(text) is None  # nothing rendered it (automatic rendering is off here)
    ensure_live_audio.call_local()
    first = find_render(text)
    assert first is not None
    settings.TTS_RATE = 130  # every key changes: the next run asks for audio at the new rate
    assert find_render(text) is None
    ensure_live_audio.call_local()
    again = find_render(text)
    assert again is not None and again.pk != first.pk and again.options["rate"] == 130
