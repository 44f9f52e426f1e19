"""Speech engines: the real espeak-ng, failing programs (scripts that crash, hang or say nothing), and an HTTP
service that follows FPT.AI's TTS v5 contract, played by a local server."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nguon.speech.engines import (
    ESPEAK_VOICES,
    EngineCrashed,
    EngineEmptyOutput,
    EngineError,
    EngineInputError,
    EngineServiceError,
    EngineTimeout,
    EngineUnavailable,
    EspeakEngine,
    HttpEngine,
    PiperEngine,
    make_engine,
    voice_for_province,
)

TEXT = "ủy ban nhân dân tỉnh đồng nai thông báo lịch tiêm chủng."


def script(path: Path, body: str) -> Path:
    """Write an executable shell script and return its path."""
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def wav_info(path: Path) -> tuple[int, float]:
    with wave.open(str(path), "rb") as wav:
        return wav.getframerate(), wav.getnframes() / wav.getframerate()


# --- espeak-ng ---------------------------------------------------------------------------------------


def test_region_voices_are_installed_espeak_voices():
    listing = subprocess.run(["espeak-ng", "--voices=vi"], capture_output=True, text=True, check=True).stdout
    installed = {line.split()[1] for line in listing.splitlines()[1:] if line.strip()}
    assert set(ESPEAK_VOICES.values()) <= installed
    assert ESPEAK_VOICES["south"] == "vi-vn-x-south"


def test_dong_nai_speaks_with_the_southern_voice():
    assert voice_for_province("75") == "south"  # Đồng Nai
    assert voice_for_province("79") == "south"  # Hồ Chí Minh City
    assert voice_for_province("01") == "north"  # Hà Nội
    assert voice_for_province("48") == "central"  # Đà Nẵng
    assert voice_for_province("") == "south"


@pytest.mark.parametrize("voice", ["north", "central", "south", "vi-vn-x-south"])
def test_espeak_writes_speech_into_the_workdir(tmp_path, voice):
    result = EspeakEngine().synthesize(TEXT, voice=voice, workdir=tmp_path)
    assert result.path.parent == tmp_path
    rate, seconds = wav_info(result.path)
    assert result.sample_rate == rate == 22050
    assert 1.5 < seconds < 10


def test_espeak_rate_changes_the_length(tmp_path):
    engine = EspeakEngine()
    _, normal = wav_info(engine.synthesize(TEXT, voice="south", workdir=tmp_path).path)
    _, fast = wav_info(engine.synthesize(TEXT, voice="south", rate=150, workdir=tmp_path).path)
    _, slow = wav_info(engine.synthesize(TEXT, voice="south", rate=70, workdir=tmp_path).path)
    assert fast < normal < slow


@pytest.mark.parametrize("voice", ["north", "south"])
def test_espeak_pauses_at_every_sentence_end_of_normalised_text(tmp_path, voice):
    # Normalised text is lower case; espeak-ng took ". bốn" for an abbreviation's dot and ran on without a pause.
    engine = EspeakEngine()

    def seconds(text: str) -> float:
        return wav_info(engine.synthesize(text, voice=voice, workdir=tmp_path).path)[1]

    run_on = seconds("một hai ba bốn năm sáu bảy tám")
    comma = seconds("một hai ba bốn, năm sáu bảy tám")
    full_stops = seconds("một hai ba bốn. năm sáu bảy tám")
    assert full_stops - run_on > 0.3  # a full stop's pause (about 0.4 s at the normal rate)
    assert full_stops > comma  # and longer than a comma's


def test_text_starting_with_a_dash_is_spoken_not_parsed_as_an_option(tmp_path):
    result = EspeakEngine().synthesize("-v xin chào", voice="south", workdir=tmp_path)
    assert wav_info(result.path)[1] > 0.3


def test_unknown_voice_is_a_crash_with_espeaks_message(tmp_path):
    with pytest.raises(EngineCrashed, match="voice does not exist"):
        # Not "no-such-voice": espeak-ng would read that as Norwegian ("no") and happily speak.
        EspeakEngine().synthesize(TEXT, voice="nosuchvoice", workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_empty_text_and_bad_rate_are_refused(tmp_path):
    with pytest.raises(EngineInputError):
        EspeakEngine().synthesize("  \n", voice="south", workdir=tmp_path)
    with pytest.raises(EngineInputError):
        EspeakEngine().synthesize(TEXT, voice="south", rate=1000, workdir=tmp_path)


def test_text_with_nothing_to_say_is_empty_output(tmp_path):
    with pytest.raises(EngineEmptyOutput):
        EspeakEngine().synthesize("...", voice="south", workdir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_missing_program_is_unavailable(tmp_path):
    with pytest.raises(EngineUnavailable, match="not installed"):
        EspeakEngine(binary=str(tmp_path / "espeak-ng")).synthesize(TEXT, voice="south", workdir=tmp_path)


def test_crashing_program_raises_with_its_stderr(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    crash = script(tmp_path / "crash", 'echo "segmentation fault in voice data" >&2\nexit 3\n')
    with pytest.raises(EngineCrashed) as caught:
        EspeakEngine(binary=str(crash)).synthesize(TEXT, voice="south", workdir=work)
    assert "exit status 3" in str(caught.value)
    assert "segmentation fault in voice data" in str(caught.value)
    assert list(work.iterdir()) == []


def test_silent_success_is_empty_output(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    quiet = script(tmp_path / "quiet", "cat > /dev/null\nexit 0\n")
    with pytest.raises(EngineEmptyOutput):
        EspeakEngine(binary=str(quiet)).synthesize(TEXT, voice="south", workdir=work)
    assert list(work.iterdir()) == []


def test_hanging_program_is_stopped_with_its_children(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    pid_file = tmp_path / "child.pid"
    # The child `sleep` inherits the pipes: unless the whole process group is killed, the call would hang too.
    hang = script(tmp_path / "hang", f"sleep 600 &\necho $! > {pid_file}\nwait\n")
    started = time.monotonic()
    with pytest.raises(EngineTimeout, match="1.0 s"):
        EspeakEngine(binary=str(hang), timeout=1.0).synthesize(TEXT, voice="south", workdir=work)
    assert time.monotonic() - started < 10
    assert list(work.iterdir()) == []
    child = int(pid_file.read_text())
    status = Path(f"/proc/{child}/status")

    def ended() -> bool:  # gone, or a zombie awaiting its reaper
        try:
            return "State:\tZ" in status.read_text()
        except FileNotFoundError:
            return True

    # SIGKILL was sent to the group; on a loaded machine the kernel may take a moment to finish the child off.
    deadline = time.monotonic() + 5
    while not ended() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended()


def test_error_messages_are_rendered_in_the_active_language(tmp_path):
    from django.utils import translation

    with translation.override("vi"), pytest.raises(EngineUnavailable) as caught:
        EspeakEngine(binary=str(tmp_path / "nothing")).synthesize(TEXT, voice="south")
    assert isinstance(caught.value, EngineError)
    assert str(tmp_path / "nothing") in str(caught.value)  # English until the catalogue translates the msgid


# --- Piper -------------------------------------------------------------------------------------------


def test_piper_needs_the_voice_file_and_its_settings(tmp_path):
    with pytest.raises(EngineUnavailable, match="does not exist"):
        PiperEngine(tmp_path / "vi_VN-test.onnx").synthesize(TEXT, voice="")
    model = tmp_path / "vi_VN-test.onnx"
    model.write_bytes(b"onnx")
    with pytest.raises(EngineUnavailable, match="settings file"):
        PiperEngine(model).synthesize(TEXT, voice="")


def test_piper_without_the_program_is_unavailable(tmp_path):
    model = tmp_path / "vi_VN-test.onnx"
    model.write_bytes(b"onnx")
    Path(f"{model}.json").write_text("{}")
    with pytest.raises(EngineUnavailable, match="not installed"):
        PiperEngine(model, binary=str(tmp_path / "piper")).synthesize(TEXT, voice="")
    with pytest.raises(EngineUnavailable):
        make_engine("piper")


def test_piper_contract_with_a_stand_in_program(tmp_path):
    """A stand-in `piper` (espeak-ng behind Piper's command line) checks the arguments and the output handling."""
    model = tmp_path / "vi_VN-test.onnx"
    model.write_bytes(b"onnx")
    Path(f"{model}.json").write_text("{}")
    fake = script(
        tmp_path / "piper",
        'while [ $# -gt 0 ]; do case "$1" in --output_file) out="$2"; shift;; --model) model="$2"; shift;; esac;'
        ' shift; done\n[ -f "$model" ] || exit 2\nexec espeak-ng -v vi-vn-x-south -w "$out" --stdin\n',
    )
    work = tmp_path / "work"
    work.mkdir()
    result = PiperEngine(model, binary=str(fake)).synthesize(TEXT, voice="", rate=120, workdir=work)
    assert result.path.parent == work
    assert wav_info(result.path)[1] > 1
    crash = script(tmp_path / "piper-crash", "exit 1\n")
    with pytest.raises(EngineCrashed):
        PiperEngine(model, binary=str(crash)).synthesize(TEXT, voice="", workdir=work)
    assert list(work.iterdir()) == [result.path]


# --- HTTP service (FPT.AI TTS v5 contract) -----------------------------------------------------------


class FakeTts:
    """A local stand-in for the service: POST returns a JSON ticket, the audio appears at its `async` URL."""

    def __init__(self, audio: bytes) -> None:
        self.audio = audio
        self.mode = "ok"  # ok | error | unauthorized | hang | html
        self.not_ready_polls = 1  # 404s before the audio is there
        self.requests: list[dict] = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                fake.requests.append({"headers": headers, "text": body.decode("utf-8")})
                if fake.mode == "hang":
                    fake.release.wait(30)  # never answers within the client's deadline
                    return
                if fake.mode == "unauthorized":
                    self._send(401, b'{"message":"Invalid authentication credentials"}', "application/json")
                    return
                if fake.mode == "error":
                    answer = {"error": 1, "message": "The text is invalid", "request_id": "r-1"}
                else:
                    answer = {
                        "async": f"http://127.0.0.1:{fake.port}/audio/r-1.mp3",
                        "error": 0,
                        "message": "The content will be returned after a few seconds under the async link.",
                        "request_id": "r-1",
                    }
                self._send(200, json.dumps(answer).encode(), "application/json")

            def do_GET(self):
                if fake.not_ready_polls > 0:
                    fake.not_ready_polls -= 1
                    self._send(404, b"not found", "text/plain")
                elif fake.mode == "html":
                    self._send(200, b"<html><body>Service maintenance</body></html>", "text/html")
                else:
                    self._send(200, fake.audio, "audio/mpeg")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hmi/tts/v5"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def mp3_bytes(tmp_path_factory) -> bytes:
    out = tmp_path_factory.mktemp("fake-tts") / "voice.mp3"
    wav = EspeakEngine().synthesize(TEXT, voice="south", workdir=out.parent).path
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(wav), "-c:a", "libmp3lame", "-b:a", "48k", str(out)],
        check=True,
    )
    return out.read_bytes()


@pytest.fixture
def fake_tts(mp3_bytes):
    server = FakeTts(mp3_bytes)
    yield server
    server.close()


def http_engine(fake: FakeTts, **options) -> HttpEngine:
    return HttpEngine(api_key="test-key", url=fake.url, poll_interval=0.01, **options)


def test_http_engine_follows_the_fpt_contract(fake_tts, mp3_bytes):
    result = http_engine(fake_tts).synthesize(TEXT, voice="south", rate=130)
    assert result.data == mp3_bytes
    assert result.format == "mp3"
    request = fake_tts.requests[0]
    assert request["text"] == TEXT
    assert request["headers"]["api-key"] == "test-key"
    assert request["headers"]["voice"] == "lannhi"  # the southern voice
    assert request["headers"]["speed"] == "2"
    assert request["headers"]["format"] == "mp3"


def test_http_engine_reports_the_services_error(fake_tts):
    fake_tts.mode = "error"
    with pytest.raises(EngineServiceError, match="The text is invalid") as caught:
        http_engine(fake_tts).synthesize(TEXT, voice="north")
    assert "error 1" in str(caught.value)


def test_http_engine_reports_a_refused_key(fake_tts):
    fake_tts.mode = "unauthorized"
    with pytest.raises(EngineServiceError, match="HTTP 401"):
        http_engine(fake_tts).synthesize(TEXT, voice="north")


def test_http_engine_times_out_on_a_hanging_service(fake_tts):
    fake_tts.mode = "hang"
    started = time.monotonic()
    with pytest.raises(EngineTimeout, match="did not answer within 1.0 s"):
        http_engine(fake_tts, timeout=1.0, request_timeout=1.0).synthesize(TEXT, voice="north")
    assert time.monotonic() - started < 10


def test_http_engine_gives_up_when_the_audio_never_appears(fake_tts):
    fake_tts.not_ready_polls = 10**6
    with pytest.raises(EngineTimeout):
        http_engine(fake_tts, timeout=1.0).synthesize(TEXT, voice="north")


def test_http_engine_needs_a_key_an_http_url_and_a_reachable_service(fake_tts):
    with pytest.raises(EngineUnavailable, match="API key"):
        HttpEngine(api_key="", url=fake_tts.url).synthesize(TEXT, voice="north")
    with pytest.raises(EngineUnavailable, match="not an http"):
        HttpEngine(api_key="k", url="file:///etc/passwd")
    closed = FakeTts(b"")
    closed.close()
    with pytest.raises(EngineUnavailable, match="cannot be reached"):
        HttpEngine(api_key="k", url=closed.url, timeout=2).synthesize(TEXT, voice="north")
