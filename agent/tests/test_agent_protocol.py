"""Enrolment, manifest verification, media hashes, polling: the agent against the fake server."""

from __future__ import annotations

import hashlib
import json
import stat
from datetime import timedelta

import pytest
from fake_server import FakeServer
from helpers import eventually, logs, now_s, records, run, running_agent

from nguon_agent.agent import Agent, EnrolmentError
from nguon_agent.store import DiskStore

CODE = "K7Q2-9XWD"


def test_enrol_stores_token_and_pinned_key_in_a_0600_file(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", "Cụm loa chợ Biên Hòa", enrol_code=CODE)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE.lower()) as agent:
                await eventually(lambda: agent.version == 1, what="the first manifest", agent=agent)
                assert agent.device_code == "BH-001"
            path = tmp_path / "credentials.json"
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            saved = json.loads(path.read_text())
            assert saved["token"] == server.devices["BH-001"].token
            assert saved["public_key"] == server.public_key
            assert saved["device"]["code"] == "BH-001"
            assert server.enrol_requests[0]["hardware"]["model"] == "nguon-agent"
            # A restart uses the stored token: the (now used) code is not sent again.
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: agent.version == 1, what="the manifest after restart", agent=agent)
            assert len(server.enrol_requests) == 1
        finally:
            await server.stop()

    run(scenario())


def test_a_refused_enrolment_code_stops_the_agent(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        await server.start()
        try:
            agent = Agent(server.url, DiskStore(tmp_path, fsync=False), code="WRONG-CODE")
            with pytest.raises(EnrolmentError):
                await agent.run()
            agent = Agent(server.url, DiskStore(tmp_path / "none", fsync=False))
            with pytest.raises(EnrolmentError):
                await agent.run()  # no token and no code
        finally:
            await server.stop()
        assert not (tmp_path / "credentials.json").exists()

    run(scenario())


def test_manifest_is_verified_cached_and_revalidated_with_if_none_match(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: agent.version == 1, agent=agent)
                assert server.manifest_200["BH-001"] == 1
                requests = server.manifest_requests["BH-001"]
                agent.request_manifest()
                await eventually(lambda: server.manifest_requests["BH-001"] > requests, agent=agent)
                await eventually(lambda: agent.stats.not_modified >= 1, what="a 304", agent=agent)
                assert server.manifest_200["BH-001"] == 1
            head, _, body = (tmp_path / "manifest.signed").read_bytes().partition(b"\n")
            assert body == server.devices["BH-001"].body  # the raw signed bytes, as received
            assert json.loads(head)["signature"] == server.devices["BH-001"].signature
            # Offline start: the cached manifest is verified again and used.
            server.tamper = "key"
            async with running_agent("http://127.0.0.1:9", tmp_path) as agent:
                await eventually(lambda: agent.version == 1, what="the cached manifest", agent=agent)
        finally:
            await server.stop()

    run(scenario())


@pytest.mark.parametrize("tamper", ["byte", "key"])
def test_tampered_manifest_is_refused_and_the_old_one_keeps_playing(tmp_path, tamper):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        start = now_s() - timedelta(minutes=1)
        stream = {"kind": "stream", "title": "VOV1", "url": "http://127.0.0.1:9/vov1"}
        server.publish("BH-001", [server.slot("7@today", start, start + timedelta(hours=1), [stream])])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                sink = agent.sink
                first = server.devices["BH-001"].version
                await eventually(lambda: sink.log and sink.log[0].ended is None, what="the relay", agent=agent)
                assert agent.version == first
                second = server.publish("BH-001", [])  # a new version with nothing to play...
                server.tamper = tamper  # ...but altered on the way
                server.push("BH-001", "manifest", version=second)
                await eventually(lambda: "manifest_bad_signature" in logs(server, "BH-001"), agent=agent)
                assert agent.version == first
                assert agent.stats.manifests_refused >= 1
                assert len(sink.log) == 1 and sink.log[0].ended is None  # still playing, never interrupted
                assert agent.playout.current_item == "7@today/stream:0"
                head, _, body = (tmp_path / "manifest.signed").read_bytes().partition(b"\n")
                assert json.loads(head)["version"] == first
                # The genuine new version is taken when it comes, and the slot it dropped stops.
                server.tamper = None
                server.push("BH-001", "manifest", version=second)
                await eventually(lambda: agent.version == second, what="the genuine manifest", agent=agent)
                await eventually(lambda: sink.log[0].outcome == "interrupted", what="the slot to stop", agent=agent)
        finally:
            await server.stop()

    run(scenario())


def test_media_with_a_wrong_hash_is_refused_and_the_item_fails(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        good = server.add_media(b"good audio " * 500)
        bad = server.add_media(b"expected audio " * 500)
        server.media_override[bad] = b"something else " * 500
        start = now_s() + timedelta(seconds=20)
        items = [server.audio_item(bad, "Bản tin hỏng", 4.0, bulletin=7), server.audio_item(good, "Bản tin", 4.0, 8)]
        server.publish("BH-001", [server.slot("3@d", start, start + timedelta(seconds=20), items)])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: "media_bad_hash" in logs(server, "BH-001"), agent=agent)
                await eventually(lambda: (tmp_path / "media" / good).exists(), what="the good file", agent=agent)
                assert not (tmp_path / "media" / bad).exists()
                assert not (tmp_path / "media" / f"{bad}.part").exists()
                assert hashlib.sha256((tmp_path / "media" / good).read_bytes()).hexdigest() == good
                plays = lambda: records(server, "BH-001", "play")  # noqa: E731
                await eventually(lambda: len(plays()) == 2, what="both play records", agent=agent)
                assert [(p["item"], p["result"]) for p in plays()] == [("7", "failed"), ("8", "played")]
                assert [e.key for e in agent.sink.log] == ["8"]
        finally:
            await server.stop()

    run(scenario())


def test_partial_media_download_resumes_with_range(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        data = bytes(range(256)) * 200
        sha = server.add_media(data)
        start = now_s() + timedelta(hours=1)
        slot = server.slot("1@d", start, start + timedelta(minutes=5), [server.audio_item(sha, "x", 3)])
        server.publish("BH-001", [slot])
        (tmp_path / "media").mkdir(parents=True)
        (tmp_path / "media" / f"{sha}.part").write_bytes(data[:10000])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: (tmp_path / "media" / sha).exists(), what="the download", agent=agent)
            assert (tmp_path / "media" / sha).read_bytes() == data
            assert server.media_requests == [(sha, "bytes=10000-")]
        finally:
            await server.stop()

    run(scenario())


def test_without_a_stream_the_agent_polls_the_manifest(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        server.publish("BH-001", heartbeat_seconds=5)  # 5 device seconds = 0.25 s at scale 20
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, sse=False) as agent:
                await eventually(lambda: agent.version == 2, agent=agent)
                server.publish("BH-001")
                await eventually(lambda: agent.version == 3, what="a polled manifest", agent=agent)
                assert server.stream_connects["BH-001"] == 0
        finally:
            await server.stop()

    run(scenario())


def test_a_server_without_an_event_stream_is_polled(tmp_path):
    async def scenario():
        server = FakeServer()
        server.events_enabled = False
        server.add_device("BH-001", enrol_code=CODE)
        server.publish("BH-001", heartbeat_seconds=5)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, stream_grace=0.2) as agent:
                await eventually(lambda: agent.version == 2, what="the first manifest", agent=agent)
                server.publish("BH-001")
                await eventually(lambda: agent.version == 3, what="a polled manifest", agent=agent)
                assert not agent.stats.stream_up and agent.stats.connects == 0
        finally:
            await server.stop()

    run(scenario())


def test_heartbeats_report_the_measured_clock_skew(tmp_path):
    async def scenario():
        server = FakeServer(server_time_offset=5.0)  # the server's clock is 5 s ahead of ours
        server.add_device("BH-001", enrol_code=CODE)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, scale=1.0) as agent:
                await eventually(lambda: agent.version == 1, agent=agent)
                agent.heartbeat()
                beats = lambda: [r for r in records(server, "BH-001", "heartbeat") if "clock_skew_ms" in r]  # noqa: E731
                await eventually(beats, what="a heartbeat with the skew", agent=agent)
                skew = beats()[-1]["clock_skew_ms"]
                assert -5500 < skew < -4500
                assert beats()[-1]["volume"] == 80
        finally:
            await server.stop()

    run(scenario())
