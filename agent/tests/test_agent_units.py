"""Pieces on their own: signatures, the clock, the ffplay/mpv sink."""

from __future__ import annotations

import asyncio
import base64
import os
import stat
import sys
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fake_server import b64url, public_b64
from helpers import eventually, run

from nguon_agent.agent import Agent, AgentOptions, retry_after_seconds
from nguon_agent.clock import ScaledClock, parse_time, wait_event
from nguon_agent.crypto import SignatureCache, Verifier, b64decode_any
from nguon_agent.sinks import PlaybackFailed, SubprocessSink
from nguon_agent.sse import SSEParser
from nguon_agent.store import MemoryStore


def test_manifest_signature_is_over_the_exact_bytes():
    key = Ed25519PrivateKey.generate()
    verifier = Verifier(public_b64(key))
    body = '{"protocol":1,"version":3,"name":"Cụm loa"}'.encode()
    signature = base64.b64encode(key.sign(body)).decode()
    assert verifier.verify_manifest(body, signature)
    assert verifier.verify_manifest(body, signature.rstrip("="))  # unpadded is accepted
    assert not verifier.verify_manifest(body + b" ", signature)  # re-serialised JSON is not the same bytes
    assert not verifier.verify_manifest(body, None)
    assert not verifier.verify_manifest(body, "not base64 !")
    other = base64.b64encode(Ed25519PrivateKey.generate().sign(body)).decode()
    assert not verifier.verify_manifest(body, other)


def test_event_envelope():
    key = Ed25519PrivateKey.generate()
    cache = SignatureCache(size=2)
    verifier = Verifier(public_b64(key), cache)
    payload = b'{"type":"stop","id":7,"device":"*"}'
    data = f"{b64url(payload)}.{b64url(key.sign(payload))}"
    assert verifier.open_event(data) == {"type": "stop", "id": 7, "device": "*"}
    assert verifier.open_event(data) == {"type": "stop", "id": 7, "device": "*"}  # from the cache
    forged = f"{b64url(payload.replace(b'stop', b'play'))}.{data.split('.')[1]}"
    assert verifier.open_event(forged) is None
    assert verifier.open_event(b64url(payload)) is None
    assert verifier.open_event("a.b.c") is None
    not_json = b"not json"
    assert verifier.open_event(f"{b64url(not_json)}.{b64url(key.sign(not_json))}") is None


def test_event_stream_parser_handles_split_chunks_crlf_comments_and_multiline_data():
    parser = SSEParser()
    assert parser.feed(b": keep-alive\n\nid: 7\nevent: stop\nda") == []
    assert parser.feed(b"ta: abc\n\n") == [("7", "abc", None)]
    assert parser.feed(b"id: 8\r\ndata: one\r\ndata:two\r\n\r\ndata: x\n") == [("8", "one\ntwo", None)]
    assert parser.feed(b"\n: ping\n\n") == [(None, "x", None)]
    # The inline manifest field (§4.4) belongs to its event only.
    assert parser.feed(b'id: 9\ndata: y\nmanifest: "1-a" Zm9v c2ln\n\ndata: z\n\n') == [
        ("9", "y", '"1-a" Zm9v c2ln'),
        (None, "z", None),
    ]
    with pytest.raises(ValueError):
        parser.feed(b"data: " + b"x" * (2 << 20))


def test_base64_variants():
    raw = bytes(range(250, 256)) + b"\x00?>"
    for text in (
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ):
        assert b64decode_any(text) == raw
    with pytest.raises(ValueError):
        b64decode_any("**")


def test_reconnect_back_off_doubles_to_its_ceiling_with_jitter():
    agent = Agent("http://127.0.0.1:9", MemoryStore(), options=AgentOptions(backoff_base=1.0, backoff_max=60.0))
    for attempt, (low, high) in {0: (0.5, 1), 1: (1, 2), 3: (4, 8), 6: (30, 60), 40: (30, 60)}.items():
        delays = [agent._backoff(attempt) for _ in range(200)]
        assert low <= min(delays) and max(delays) <= high
        assert max(delays) - min(delays) > (high - low) / 4  # jittered, not fixed
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) == 5.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: at once


def test_scaled_clock_runs_fast_and_wakes_early():
    async def scenario():
        start = datetime(2026, 11, 27, 22, 29, 50, tzinfo=UTC)
        clock = ScaledClock(1000.0, start)
        wake = asyncio.Event()
        assert not await clock.sleep_until(start + timedelta(seconds=10), wake)  # 10 ms real
        assert clock.now() >= start + timedelta(seconds=10)
        wake.set()
        assert await clock.sleep_until(start + timedelta(days=1), wake)
        assert not await wait_event(asyncio.Event(), 0.01)

    run(scenario(), timeout=10)
    assert parse_time("2026-11-27T22:30:00Z") == datetime(2026, 11, 27, 22, 30, tzinfo=UTC)
    assert parse_time("2026-11-28T05:30:00+07:00") == datetime(2026, 11, 27, 22, 30, tzinfo=UTC)
    assert parse_time("yesterday") is None


@pytest.fixture
def fake_ffplay(tmp_path, monkeypatch):
    """An `ffplay` on PATH that records its arguments and runs for as long as the test says."""
    script = tmp_path / "ffplay"
    script.write_text(
        f"#!{sys.executable}\n"
        "import os, sys, time\n"
        "open(os.environ['FAKE_FFPLAY_ARGS'], 'w').write('\\n'.join(sys.argv[1:]))\n"
        "time.sleep(float(os.environ.get('FAKE_FFPLAY_SECONDS', '0')))\n"
        "sys.exit(int(os.environ.get('FAKE_FFPLAY_EXIT', '0')))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_FFPLAY_ARGS", str(tmp_path / "args"))
    return tmp_path / "args"


def test_ffplay_sink_plays_a_file_and_stops_a_stream_at_its_end(fake_ffplay, monkeypatch, tmp_path):
    async def scenario():
        clock = ScaledClock(10.0)
        sink = SubprocessSink(clock, "ffplay")
        media = tmp_path / "a.mp3"
        media.write_bytes(b"x")
        item = {"kind": "audio", "duration": 1}
        result = await sink.play(item, key="1", source="slot", path=media, url=None, until=None, volume=60)
        assert result == "completed"
        assert fake_ffplay.read_text().split("\n") == [
            "-nodisp",
            "-autoexit",
            "-loglevel",
            "error",
            "-volume",
            "60",
            str(media),
        ]
        monkeypatch.setenv("FAKE_FFPLAY_SECONDS", "30")
        stream = {"kind": "stream", "url": "http://127.0.0.1:9/live"}
        until = clock.now() + timedelta(seconds=3)  # 0.3 s real
        result = await sink.play(stream, key="s", source="slot", path=None, url=stream["url"], until=until, volume=60)
        assert result == "cut"
        fake_ffplay.unlink()
        task = asyncio.ensure_future(
            sink.play(stream, key="s", source="slot", path=None, url=stream["url"], until=None, volume=60)
        )
        await eventually(fake_ffplay.exists, what="the player to start")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        monkeypatch.setenv("FAKE_FFPLAY_SECONDS", "0")
        monkeypatch.setenv("FAKE_FFPLAY_EXIT", "1")
        with pytest.raises(PlaybackFailed):
            await sink.play(item, key="1", source="slot", path=media, url=None, until=None, volume=60)

    run(scenario(), timeout=30)
