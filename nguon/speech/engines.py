"""Text-to-speech engines behind one interface: espeak-ng (default), Piper (operator's voice file), HTTP services.

Every engine runs under a deadline and turns every failure (missing tool, crash, hang, silence, refusal) into an
`EngineError` subclass with a message an operator can act on. Messages are English msgids, shown translated
(Vietnamese first) when the exception is turned into text.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import wave
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_VOICE",
    "ESPEAK_VOICES",
    "Engine",
    "EngineBadOutput",
    "EngineCrashed",
    "EngineEmptyOutput",
    "EngineError",
    "EngineInputError",
    "EngineServiceError",
    "EngineTimeout",
    "EngineUnavailable",
    "EspeakEngine",
    "HttpEngine",
    "PiperEngine",
    "SpeechError",
    "SynthResult",
    "make_engine",
    "run_tool",
    "voice_for_province",
]


def gettext_noop(message: str) -> str:
    """Mark a message for translation (makemessages finds this name) without touching Django settings.

    Django's own gettext_noop reads settings, which plain scripts and the benchmark do not configure.
    """
    return message


# Regional accents, named the way staff say them. Đồng Nai (and the whole South) speaks "south".
ESPEAK_VOICES = {"north": "vi", "central": "vi-vn-x-central", "south": "vi-vn-x-south"}
DEFAULT_VOICE = "south"
# FPT.AI v5 voice names per region (banmai: northern female, myan: central female, lannhi: southern female).
FPT_VOICES = {"north": "banmai", "central": "myan", "south": "lannhi"}

ESPEAK_WPM = 175  # espeak-ng's own default speed; `rate` is a percentage of it
MIN_SPEECH_SECONDS = 0.05  # less than this is not speech, whatever the exit status said
STDERR_TAIL = 500  # characters of a tool's stderr kept in error messages


def voice_for_province(code: str) -> str:
    """Return the regional voice for a province code (General Statistics Office numbering).

    Codes 01–37 are the North (Hà Nội … Ninh Bình), 38–69 the Centre and Central Highlands (Thanh Hóa … Lâm Đồng),
    70–96 the South (Bình Phước … Cà Mau). The 2025 merged provinces kept one of their members' codes, so the
    ranges still hold. Unknown codes get the default voice.
    """
    try:
        number = int(code)
    except (TypeError, ValueError):
        return DEFAULT_VOICE
    if 1 <= number <= 37:
        return "north"
    if 38 <= number <= 69:
        return "central"
    if 70 <= number <= 96:
        return "south"
    return DEFAULT_VOICE


# --------------------------------------------------------------------------------------------------------------
# Errors


class SpeechError(Exception):
    """A failure of the speech engines or the audio pipeline, with a message meant for operators.

    `msgid` is English and marked for translation; `str(error)` translates it into the active language when
    Django is ready and falls back to English otherwise (plain scripts, the benchmark).
    """

    def __init__(self, msgid: str, /, **params: object) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid % params if params else msgid)

    @property
    def message(self) -> str:
        try:
            from django.utils.translation import gettext

            text = gettext(self.msgid)
        except Exception:  # settings not configured or apps not loaded: no catalogue to read from
            text = self.msgid
        return text % self.params if self.params else text

    def __str__(self) -> str:
        return self.message


class EngineError(SpeechError):
    """The speech engine could not turn the text into audio."""


class EngineUnavailable(EngineError):
    """The engine is not installed or not configured (missing program, voice file, URL or key)."""


class EngineCrashed(EngineError):
    """The engine program failed (non-zero exit status)."""


class EngineTimeout(EngineError):
    """The engine did not finish within its deadline."""


class EngineEmptyOutput(EngineError):
    """The engine finished without producing any audio."""


class EngineBadOutput(EngineError):
    """The engine produced something that is not audio."""


class EngineServiceError(EngineError):
    """A speech service answered with an error."""


class EngineInputError(EngineError):
    """The text cannot be spoken (empty, or too long for the service)."""


# --------------------------------------------------------------------------------------------------------------
# Running external programs


def _tail(data: bytes | str | None) -> str:
    if not data:
        return ""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    return text if len(text) <= STDERR_TAIL else "…" + text[-STDERR_TAIL:]


def _kill_group(proc: subprocess.Popen) -> None:
    # The program runs in its own session, so killing the group also stops whatever it started (a shell script's
    # `sleep`, ffmpeg helpers); otherwise those children keep the pipes open and communicate() never returns.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def run_tool(
    args: list[str],
    *,
    timeout: float,
    name: str,
    input: bytes | None = None,
    unavailable: type[SpeechError] = EngineUnavailable,
    crashed: type[SpeechError] = EngineCrashed,
    timed_out: type[SpeechError] = EngineTimeout,
) -> subprocess.CompletedProcess:
    """Run a program with a deadline; raise `unavailable`, `crashed` or `timed_out` (with stderr) on failure."""
    try:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except (FileNotFoundError, NotADirectoryError):
        raise unavailable(gettext_noop("The program %(program)s is not installed."), program=args[0])
    except PermissionError:
        raise unavailable(gettext_noop("The program %(program)s cannot be run (permission denied)."), program=args[0])
    except OSError as exc:
        raise unavailable(
            gettext_noop("The program %(program)s cannot be run: %(detail)s"), program=args[0], detail=exc
        )
    try:
        stdout, stderr = proc.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.communicate(timeout=5)
        raise timed_out(
            gettext_noop("%(name)s did not finish within %(seconds)s s and was stopped."), name=name, seconds=timeout
        )
    except BaseException:
        _kill_group(proc)
        proc.wait()
        raise
    if proc.returncode != 0:
        status = proc.returncode
        if status < 0:
            raise crashed(
                gettext_noop("%(name)s was killed by signal %(signal)s. %(stderr)s"),
                name=name,
                signal=-status,
                stderr=_tail(stderr),
            )
        raise crashed(
            gettext_noop("%(name)s failed with exit status %(status)s. %(stderr)s"),
            name=name,
            status=status,
            stderr=_tail(stderr),
        )
    return subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)


# --------------------------------------------------------------------------------------------------------------
# Engines


@dataclass(frozen=True)
class SynthResult:
    """Audio an engine produced: a file (`path`) or the bytes themselves (`data`), in `format`.

    `sample_rate` is known for WAV output and None when the service's file has to be probed.
    """

    path: Path | None = None
    data: bytes | None = None
    sample_rate: int | None = None
    format: str = "wav"

    def save(self, directory: Path, stem: str = "speech") -> Path:
        """Return a path to the audio inside `directory`, writing the bytes there if needed."""
        if self.path is not None:
            return Path(self.path)
        if self.data is None:
            raise EngineEmptyOutput(gettext_noop("The speech engine returned no audio."))
        target = Path(directory) / f"{stem}.{self.format}"
        target.write_bytes(self.data)
        return target


class Engine(ABC):
    """Turns Vietnamese text (already normalised: numbers, dates and abbreviations spelled out) into audio."""

    name: str = "engine"

    @abstractmethod
    def synthesize(self, text: str, *, voice: str, rate: int | None = None, workdir: Path | None = None) -> SynthResult:
        """Speak `text` with `voice` at `rate` percent of normal speed (None: normal).

        Files are written into `workdir` (the caller removes it); without one, into a new temporary file that the
        caller owns.
        """

    def settings_key(self) -> dict:
        """Return what, besides text and voice, changes this engine's audio (part of the render cache key)."""
        return {"engine": self.name}


def _check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise EngineInputError(gettext_noop("There is no text to speak."))
    return text


def _check_rate(rate: int | None) -> int | None:
    if rate is not None and not 25 <= rate <= 400:
        raise EngineInputError(gettext_noop("The speaking rate must be between 25 and 400 percent."))
    return rate


def _output_path(workdir: Path | None, suffix: str) -> Path:
    if workdir is not None:
        fd, name = tempfile.mkstemp(prefix="tts-", suffix=suffix, dir=workdir)
    else:
        fd, name = tempfile.mkstemp(prefix="nguon-tts-", suffix=suffix)
    os.close(fd)
    return Path(name)


def _check_wav(path: Path, engine: str) -> int:
    """Return the sample rate of the engine's WAV file; raise if it holds no speech or no WAV at all."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        size = 0
    if size == 0:
        raise EngineEmptyOutput(gettext_noop("%(engine)s produced no audio."), engine=engine)
    try:
        with wave.open(str(path), "rb") as wav:
            rate, frames = wav.getframerate(), wav.getnframes()
            samples = wav.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise EngineBadOutput(
            gettext_noop("%(engine)s produced an unreadable WAV file: %(detail)s"), engine=engine, detail=exc
        )
    if rate <= 0 or frames < MIN_SPEECH_SECONDS * rate:
        raise EngineEmptyOutput(gettext_noop("%(engine)s produced no audio."), engine=engine)
    if not samples.strip(b"\0"):  # all zero: espeak-ng's answer to text made only of punctuation
        raise EngineEmptyOutput(gettext_noop("%(engine)s produced only silence."), engine=engine)
    return rate


# espeak-ng ends a sentence at "." only before a capital letter or a line break: before a lower-case word it takes
# the dot for an abbreviation's and runs on with no pause at all, shorter than a comma's. Normalised text is lower
# case and holds no abbreviations, so every sentence end becomes a line break (which keeps the full stop's pause).
_SENTENCE_BREAK = re.compile(r"([.!?])[ \t]+")


def espeak_input(text: str) -> str:
    """Return normalised text as espeak-ng must receive it to pause at the end of every sentence."""
    return _SENTENCE_BREAK.sub("\\1\n", text)


class EspeakEngine(Engine):
    """espeak-ng, the voice that always works offline: intelligible, robotic.

    `voice` is a region ("north", "central", "south") or an espeak-ng voice name ("vi-vn-x-south").
    """

    name = "espeak"

    def __init__(self, *, binary: str = "espeak-ng", timeout: float = 120.0, pitch: int | None = None) -> None:
        self.binary = binary
        self.timeout = timeout
        self.pitch = pitch

    def voice_name(self, voice: str) -> str:
        return ESPEAK_VOICES.get(voice or DEFAULT_VOICE, voice)

    def settings_key(self) -> dict:
        return {"engine": self.name, "pitch": self.pitch}

    def synthesize(self, text: str, *, voice: str, rate: int | None = None, workdir: Path | None = None) -> SynthResult:
        text = _check_text(text)
        rate = _check_rate(rate)
        out = _output_path(workdir, ".wav")
        # Text goes through stdin: no argument-length limit, and text starting with "-" is not taken for an option.
        args = [self.binary, "-v", self.voice_name(voice), "-b", "1", "-w", str(out), "--stdin"]
        if rate is not None:
            args += ["-s", str(max(80, min(450, round(ESPEAK_WPM * rate / 100))))]
        if self.pitch is not None:
            args += ["-p", str(self.pitch)]
        try:
            run_tool(args, timeout=self.timeout, name="espeak-ng", input=espeak_input(text).encode("utf-8"))
            sample_rate = _check_wav(out, "espeak-ng")
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return SynthResult(path=out, sample_rate=sample_rate, format="wav")


class PiperEngine(Engine):
    """Piper neural voices, only with a voice file the operator supplies (`vi_VN-….onnx` plus its `.onnx.json`).

    Nothing is ever downloaded. `voice` is ignored (the file is the voice) unless it is a speaker number of a
    multi-speaker model.
    """

    name = "piper"

    def __init__(self, model_path: str | Path, *, binary: str = "piper", timeout: float = 300.0) -> None:
        self.model_path = Path(model_path)
        self.binary = binary
        self.timeout = timeout

    def settings_key(self) -> dict:
        # The file's identity, not only its name: a replaced voice file must not reuse old renders.
        try:
            stat = self.model_path.stat()
            ident = f"{self.model_path.name}:{stat.st_size}:{int(stat.st_mtime)}"
        except OSError:
            ident = self.model_path.name
        return {"engine": self.name, "model": ident}

    def _check_installed(self) -> str:
        if not self.model_path.is_file():
            raise EngineUnavailable(
                gettext_noop("The Piper voice file %(path)s does not exist."), path=str(self.model_path)
            )
        config = Path(f"{self.model_path}.json")
        if not config.is_file():
            raise EngineUnavailable(
                gettext_noop("The Piper voice file needs its settings file %(path)s beside it."), path=str(config)
            )
        program = shutil.which(self.binary)
        if program is None:
            raise EngineUnavailable(
                gettext_noop("The program %(program)s is not installed; Piper voices cannot be used."),
                program=self.binary,
            )
        return program

    def synthesize(self, text: str, *, voice: str, rate: int | None = None, workdir: Path | None = None) -> SynthResult:
        text = _check_text(text)
        rate = _check_rate(rate)
        program = self._check_installed()
        out = _output_path(workdir, ".wav")
        args = [program, "--model", str(self.model_path), "--output_file", str(out)]
        if rate is not None:
            args += ["--length_scale", f"{100 / rate:.3f}"]  # longer phonemes = slower speech
        if voice and voice.isdigit():
            args += ["--speaker", voice]
        try:
            run_tool(args, timeout=self.timeout, name="Piper", input=text.encode("utf-8") + b"\n")
            sample_rate = _check_wav(out, "Piper")
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return SynthResult(path=out, sample_rate=sample_rate, format="wav")


class HttpEngine(Engine):
    """A commercial Vietnamese TTS service with FPT.AI's v5 contract.

    POST `<url>` with headers `api-key`, `voice`, `speed` (-3…3), `format`, and the UTF-8 text as the body. The
    JSON answer has `error` (0 = accepted), `message`, and `async`: the URL where the audio appears a few seconds
    later (404 until then), which is polled until `timeout` runs out.
    """

    name = "http"
    DEFAULT_URL = "https://api.fpt.ai/hmi/tts/v5"
    MAX_CHARS = 5000  # the service's limit per request
    MAX_BYTES = 64 * 1024 * 1024

    def __init__(
        self,
        *,
        api_key: str,
        url: str = DEFAULT_URL,
        timeout: float = 60.0,
        request_timeout: float = 15.0,
        poll_interval: float = 0.5,
        audio_format: str = "mp3",
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise EngineUnavailable(gettext_noop("The speech service address %(url)s is not an http(s) URL."), url=url)
        self.api_key = api_key
        self.url = url
        self.timeout = timeout
        self.request_timeout = request_timeout
        self.poll_interval = poll_interval
        self.audio_format = audio_format

    def settings_key(self) -> dict:
        return {"engine": self.name, "url": self.url, "format": self.audio_format}

    def voice_name(self, voice: str) -> str:
        return FPT_VOICES.get(voice or DEFAULT_VOICE, voice)

    @staticmethod
    def speed(rate: int | None) -> str:
        """Map a percentage of normal speed onto the service's -3…3 steps (empty: the service's default)."""
        if rate is None:
            return ""
        return str(max(-3, min(3, round((rate - 100) / 15))))

    def _open(self, request: urllib.request.Request, deadline: float):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise EngineTimeout(
                gettext_noop("%(name)s did not finish within %(seconds)s s and was stopped."),
                name=self.url,
                seconds=self.timeout,
            )
        # Only http(s) URLs reach here: the base URL is checked at construction, the async URL before polling.
        return urllib.request.urlopen(request, timeout=min(remaining, self.request_timeout))  # noqa: S310

    def _fail_timeout(self):
        return EngineTimeout(
            gettext_noop("The speech service %(url)s did not answer within %(seconds)s s."),
            url=self.url,
            seconds=self.timeout,
        )

    def synthesize(self, text: str, *, voice: str, rate: int | None = None, workdir: Path | None = None) -> SynthResult:
        text = _check_text(text)
        rate = _check_rate(rate)
        if not self.api_key:
            raise EngineUnavailable(gettext_noop("No API key is configured for the speech service."))
        if len(text) > self.MAX_CHARS:
            raise EngineInputError(
                gettext_noop("The text is longer than the speech service accepts (%(limit)s characters)."),
                limit=self.MAX_CHARS,
            )
        deadline = time.monotonic() + self.timeout
        request = urllib.request.Request(  # noqa: S310 (http(s) only, checked in __init__)
            self.url,
            data=text.encode("utf-8"),
            method="POST",
            headers={
                "api-key": self.api_key,
                "voice": self.voice_name(voice),
                "speed": self.speed(rate),
                "format": self.audio_format,
                "Content-Type": "text/plain; charset=utf-8",
            },
        )
        answer = self._call(request, deadline)
        audio_url = answer.get("async")
        parsed = urllib.parse.urlsplit(audio_url) if isinstance(audio_url, str) else None
        if parsed is None or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise EngineServiceError(
                gettext_noop("The speech service answered without an audio address: %(answer)s"),
                answer=_tail(json.dumps(answer, ensure_ascii=False)),
            )
        data = self._poll(audio_url, deadline)
        return SynthResult(data=data, format=self.audio_format)

    def _call(self, request: urllib.request.Request, deadline: float) -> dict:
        try:
            with self._open(request, deadline) as response:
                body = response.read(1024 * 1024)
        except urllib.error.HTTPError as exc:
            detail = _tail(exc.read(4096)) if exc.fp else ""
            raise EngineServiceError(
                gettext_noop("The speech service refused the request (HTTP %(status)s). %(detail)s"),
                status=exc.code,
                detail=detail,
            )
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            if _is_timeout(exc):
                raise self._fail_timeout()
            raise EngineUnavailable(
                gettext_noop("The speech service %(url)s cannot be reached: %(detail)s"), url=self.url, detail=exc
            )
        try:
            answer = json.loads(body)
        except ValueError:
            raise EngineServiceError(
                gettext_noop("The speech service answered with something other than JSON: %(answer)s"),
                answer=_tail(body),
            )
        if not isinstance(answer, dict):
            raise EngineServiceError(
                gettext_noop("The speech service answered with something other than JSON: %(answer)s"),
                answer=_tail(body),
            )
        if answer.get("error") not in (0, "0", None):
            raise EngineServiceError(
                gettext_noop("The speech service refused the text (error %(code)s): %(message)s"),
                code=answer.get("error"),
                message=answer.get("message", ""),
            )
        return answer

    def _poll(self, url: str, deadline: float) -> bytes:
        interval = self.poll_interval
        while True:
            try:
                request = urllib.request.Request(url)  # noqa: S310 (http(s) only, checked by the caller)
                with self._open(request, deadline) as response:
                    data = response.read(self.MAX_BYTES + 1)
            except urllib.error.HTTPError as exc:
                if exc.code != 404:  # 404: not rendered yet
                    raise EngineServiceError(
                        gettext_noop("The speech service failed to deliver the audio (HTTP %(status)s)."),
                        status=exc.code,
                    )
            except EngineTimeout:
                raise self._fail_timeout()
            except (TimeoutError, urllib.error.URLError, OSError) as exc:
                if _is_timeout(exc):
                    raise self._fail_timeout()
                raise EngineUnavailable(
                    gettext_noop("The speech service %(url)s cannot be reached: %(detail)s"), url=url, detail=exc
                )
            else:
                if not data:
                    raise EngineEmptyOutput(gettext_noop("%(engine)s produced no audio."), engine=self.url)
                if len(data) > self.MAX_BYTES:
                    raise EngineBadOutput(gettext_noop("The speech service sent an audio file that is too large."))
                return data
            if time.monotonic() + interval >= deadline:
                raise self._fail_timeout()
            time.sleep(interval)  # the service renders asynchronously; this is its documented polling contract
            interval = min(interval * 1.5, 3.0)


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, TimeoutError):
        return True
    reason = getattr(exc, "reason", None)
    return isinstance(reason, TimeoutError) or "timed out" in str(exc)


def make_engine(name: str = "espeak", **options) -> Engine:
    """Build an engine by name ("espeak", "piper", "http") with explicit options."""
    if name == "espeak":
        return EspeakEngine(**options)
    if name == "piper":
        if not options.get("model_path"):
            raise EngineUnavailable(gettext_noop("No Piper voice file is configured."))
        model_path = options.pop("model_path")
        return PiperEngine(model_path, **options)
    if name == "http":
        return HttpEngine(**options)
    raise EngineUnavailable(gettext_noop("Unknown speech engine %(name)s."), name=name)
