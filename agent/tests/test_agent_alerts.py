"""Emergency alerts (docs/device-protocol.md §4.1): acknowledged at once, played over everything, never twice."""

from __future__ import annotations

import json
from datetime import timedelta

from fake_server import FakeServer
from helpers import eventually, logs, now_s, records, run, running_agent

CODE = "K7Q2-9XWD"
RELAY = {"kind": "stream", "title": "VOV1", "url": "http://127.0.0.1:9/vov1"}


def relay_slot(server: FakeServer, slot_id: str = "7@d"):
    start = now_s() - timedelta(minutes=1)
    return server.slot(slot_id, start, start + timedelta(hours=1), [RELAY])


def alert_states(server: FakeServer, alert_id: int, code: str = "BH-001") -> list[tuple]:
    return [(r["state"], r.get("reason")) for r in records(server, code, "alert") if r["alert"] == alert_id]


def plays(server: FakeServer, code: str = "BH-001") -> list[tuple]:
    return [(p["occurrence"], p["item"], p["result"]) for p in records(server, code, "play")]


def entries(agent) -> list[tuple]:
    return [(e.source, e.key, e.outcome) for e in agent.sink.log]


async def barrier(server: FakeServer, agent, volume: int) -> None:
    """Events are handled in order: once this volume is set, every event pushed before it was handled."""
    server.push("BH-001", "volume", volume=volume)
    await eventually(lambda: agent.playout.volume == volume, what=f"volume {volume}", agent=agent)


async def drained(agent) -> None:
    await eventually(lambda: not len(agent.store.journal), what="the journal to drain", agent=agent)


async def relay_device(server: FakeServer, tmp_path, **options):
    """Start the server with BH-001 relaying a stream; the caller enters the returned agent context."""
    server.add_device("BH-001", enrol_code=CODE)
    server.publish("BH-001", [relay_slot(server)])
    await server.start()
    return running_agent(server.url, tmp_path, code=CODE, **options)


async def relaying(server: FakeServer, agent) -> None:
    await eventually(lambda: server.connected("BH-001") and agent.sink.log, what="stream and relay", agent=agent)


def test_an_alert_interrupts_the_slot_is_acknowledged_before_it_ends_then_played_and_the_slot_goes_on(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        a, b = server.add_media(b"A" * 3000), server.add_media(b"B" * 2000)
        siren = server.add_media(b"SIREN " * 500)
        t0 = now_s()
        items = [server.audio_item(a, "Bản tin A", 60.0, bulletin=1), server.audio_item(b, "Bản tin B", 5.0, 2)]
        server.publish("BH-001", [server.slot("4@d", t0 + timedelta(seconds=2), t0 + timedelta(minutes=5), items)])
        (tmp_path / "media").mkdir(parents=True)
        (tmp_path / "media" / a).write_bytes(b"A" * 3000)  # cached: the slot starts on time
        (tmp_path / "media" / b).write_bytes(b"B" * 2000)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, start_at=t0) as agent:
                log = agent.sink.log
                await eventually(lambda: server.connected("BH-001") and log, what="bulletin A", agent=agent)
                assert entries(agent) == [("slot", "1", "playing")]

                # 40 device seconds: 2 real seconds at the test's time scale.
                server.push_alert("BH-001", 17, server.audio_item(siren, "Cảnh báo lũ", 40.0))
                await eventually(lambda: alert_states(server, 17), what="the acknowledgement", agent=agent)
                acked_in = server.alert_reports[0][0] - server.pushed_at
                assert alert_states(server, 17) == [("acknowledged", None)]
                assert not any(e.source == "alert" and e.ended for e in log)  # sent before the alert ended
                assert acked_in < 1.0  # at once, not at the next heartbeat (3 real seconds here)

                await eventually(lambda: len(log) >= 3, timeout=15, what="alert, then bulletin B", agent=agent)
                assert entries(agent)[:2] == [("slot", "1", "interrupted"), ("alert", siren, "completed")]
                assert (log[2].source, log[2].key) == ("slot", "2")  # the schedule goes on with the next item
                assert any(sha == siren for sha, _ in server.media_requests)  # downloaded by its URL
                await eventually(lambda: len(plays(server)) == 3, what="three play records", agent=agent)
                assert plays(server) == [("4@d", "1", "partial"), ("alert@17", siren, "played"), ("4@d", "2", "played")]
                assert alert_states(server, 17) == [("acknowledged", None), ("played", None)]
                ack, played = records(server, "BH-001", "alert")
                assert ack["at"] <= played["at"] and ack["seq"] < played["seq"]
                assert ack["at"] <= records(server, "BH-001", "play")[1]["started_at"]
        finally:
            await server.stop()

    run(scenario())


def test_an_alert_replayed_with_any_event_id_or_after_a_restart_is_not_played_twice(tmp_path):
    async def scenario():
        server = FakeServer()
        siren = server.add_media(b"SIREN " * 500)
        try:
            async with await relay_device(server, tmp_path) as agent:
                await relaying(server, agent)
                server.push_alert("BH-001", 21, server.audio_item(siren, "Cảnh báo", 10.0))
                await eventually(lambda: len(alert_states(server, 21)) == 2, what="ack and played", agent=agent)

                payload = server.alert_events[21]
                server.push_raw("BH-001", payload)  # the same event again (same id)
                server.push_raw("BH-001", {**payload, "id": server.event_id + 50})  # the same alert, a new event
                await barrier(server, agent, 33)
                assert agent.stats.ignored == {"duplicate": 1, "duplicate_alert": 1}
                assert [e.source for e in agent.sink.log].count("alert") == 1

            # Restarted (the recent event ids are gone), and the server sends the alert again on connecting.
            assert "21" in json.loads((tmp_path / "state.json").read_text())["alerts"]
            server.replay_alerts = True
            async with running_agent(server.url, tmp_path) as agent:
                await eventually(lambda: agent.stats.ignored.get("duplicate_alert"), what="the replay", agent=agent)
                await barrier(server, agent, 34)
                assert "alert" not in [e.source for e in agent.sink.log]
                await drained(agent)
            assert alert_states(server, 21) == [("acknowledged", None), ("played", None)]
            assert [p for p in plays(server) if p[0] == "alert@21"] == [("alert@21", siren, "played")]
        finally:
            await server.stop()

    run(scenario())


def test_alert_cancel_stops_a_playing_alert_and_drops_it_if_it_comes_again(tmp_path):
    async def scenario():
        server = FakeServer()
        siren = server.add_media(b"SIREN " * 500)
        try:
            async with await relay_device(server, tmp_path) as agent:
                log = agent.sink.log
                await relaying(server, agent)
                server.push_alert("BH-001", 31, server.audio_item(siren, "Cảnh báo", 600.0))
                await eventually(lambda: len(log) == 2 and log[1].source == "alert", what="the alert", agent=agent)
                payload = server.alert_events[31]  # the server forgets a cancelled alert
                server.push_alert_cancel("BH-001", 31)
                await eventually(lambda: len(log) == 3, what="the relay to resume", agent=agent)
                assert entries(agent) == [
                    ("slot", "stream:0", "interrupted"),
                    ("alert", siren, "interrupted"),
                    ("slot", "stream:0", "playing"),
                ]

                # The cancelled alert again (a new event id), and an alert cancelled before it arrived.
                server.push_raw("BH-001", {**payload, "id": server.event_id + 50})
                server.push_alert_cancel("BH-001", 32)
                server.push_alert("BH-001", 32, server.audio_item(siren, "Cảnh báo", 600.0))
                await barrier(server, agent, 35)
                assert agent.stats.ignored == {"duplicate_alert": 2}
                assert len(log) == 3
                await drained(agent)
                assert alert_states(server, 31) == [("acknowledged", None)]  # neither played nor failed
                assert alert_states(server, 32) == []
                assert ("alert@31", siren, "partial") in plays(server)
        finally:
            await server.stop()

    run(scenario())


def test_an_alert_that_replaces_another_stops_it_and_a_newer_alert_supersedes_an_older_one(tmp_path):
    async def scenario():
        server = FakeServer()
        first, update = server.add_media(b"FIRST " * 500), server.add_media(b"UPDATE " * 500)
        try:
            async with await relay_device(server, tmp_path) as agent:
                log = agent.sink.log
                await relaying(server, agent)
                server.push_alert("BH-001", 41, server.audio_item(first, "Cảnh báo", 600.0))
                await eventually(lambda: len(log) == 2 and log[1].source == "alert", what="alert 41", agent=agent)
                server.push_alert("BH-001", 42, server.audio_item(update, "Cập nhật", 10.0), replaces=[41])
                await eventually(lambda: len(log) == 4, what="alert 42, then the relay", agent=agent)
                assert entries(agent)[1:] == [
                    ("alert", first, "interrupted"),
                    ("alert", update, "completed"),
                    ("slot", "stream:0", "playing"),
                ]
                server.push_raw("BH-001", {**server.alert_events[41], "id": server.event_id + 50})  # forgotten
                await barrier(server, agent, 36)
                assert agent.stats.ignored == {"duplicate_alert": 1}
                await drained(agent)
                assert alert_states(server, 41) == [("acknowledged", None)]
                assert alert_states(server, 42) == [("acknowledged", None), ("played", None)]

                # Without `replaces`, a newer alert still takes over: the older one is reported failed.
                server.push_alert("BH-001", 43, server.audio_item(first, "Cảnh báo", 600.0))
                await eventually(lambda: len(log) == 5, what="alert 43", agent=agent)
                server.push_alert("BH-001", 44, server.audio_item(update, "Cảnh báo khác", 10.0))
                await eventually(lambda: len(alert_states(server, 44)) == 2, what="alert 44 played", agent=agent)
                await eventually(lambda: len(log) == 7, what="the relay again", agent=agent)
                assert entries(agent)[4:] == [
                    ("alert", first, "interrupted"),
                    ("alert", update, "completed"),
                    ("slot", "stream:0", "playing"),
                ]
                assert alert_states(server, 43) == [("acknowledged", None), ("failed", "superseded")]
                assert alert_states(server, 44) == [("acknowledged", None), ("played", None)]
        finally:
            await server.stop()

    run(scenario())


def test_a_play_command_during_an_alert_waits_for_its_end_and_only_the_latest_one_waits(tmp_path):
    async def scenario():
        server = FakeServer()
        siren = server.add_media(b"SIREN " * 500)
        one, two = server.add_media(b"ONE " * 300), server.add_media(b"TWO " * 300)
        try:
            async with await relay_device(server, tmp_path) as agent:
                log = agent.sink.log
                await relaying(server, agent)
                server.push_alert("BH-001", 51, server.audio_item(siren, "Cảnh báo", 40.0))
                await eventually(lambda: len(log) == 2 and log[1].source == "alert", what="the alert", agent=agent)
                first = server.push("BH-001", "play", item=server.audio_item(one, "Bản tin 1", 5.0, bulletin=91))
                await eventually(lambda: (tmp_path / "media" / one).exists(), what="bulletin 1 fetched", agent=agent)
                second = server.push("BH-001", "play", item=server.audio_item(two, "Bản tin 2", 5.0, bulletin=92))
                await eventually(lambda: len(log) == 4, timeout=15, what="alert, bulletin 2, relay", agent=agent)
                assert entries(agent) == [
                    ("slot", "stream:0", "interrupted"),
                    ("alert", siren, "completed"),  # neither command interrupted it
                    ("push", "92", "completed"),  # the latest command, once the alert ended
                    ("slot", "stream:0", "playing"),  # then the schedule
                ]
                await eventually(lambda: len(plays(server)) >= 4, what="the play records", agent=agent)
                assert plays(server)[:4] == [
                    ("7@d", "stream:0", "partial"),
                    (f"push@{first}", "91", "skipped"),  # displaced by the later command while it waited
                    ("alert@51", siren, "played"),
                    (f"push@{second}", "92", "played"),
                ]
        finally:
            await server.stop()

    run(scenario())


def test_stop_during_an_alert_ends_the_slot_but_not_the_alert(tmp_path):
    async def scenario():
        server = FakeServer()
        siren = server.add_media(b"SIREN " * 500)
        try:
            async with await relay_device(server, tmp_path) as agent:
                log = agent.sink.log
                await relaying(server, agent)
                server.push_alert("BH-001", 55, server.audio_item(siren, "Cảnh báo", 20.0))
                await eventually(lambda: len(log) == 2 and log[1].source == "alert", what="the alert", agent=agent)
                server.push("BH-001", "stop")
                await eventually(lambda: len(alert_states(server, 55)) == 2, what="the alert to end", agent=agent)
                assert alert_states(server, 55)[1] == ("played", None)
                assert entries(agent) == [("slot", "stream:0", "interrupted"), ("alert", siren, "completed")]
                assert agent.playout.current_item == ""  # the stopped slot did not resume
        finally:
            await server.stop()

    run(scenario())


def test_an_alert_whose_media_has_the_wrong_hash_fails_without_interrupting(tmp_path):
    async def scenario():
        server = FakeServer()
        siren = server.add_media(b"SIREN " * 500)
        server.media_override[siren] = b"NOT THE SIREN"
        try:
            async with await relay_device(server, tmp_path) as agent:
                await relaying(server, agent)
                server.push_alert("BH-001", 61, server.audio_item(siren, "Cảnh báo", 10.0))
                await eventually(lambda: len(alert_states(server, 61)) == 2, what="the failure", agent=agent)
                assert alert_states(server, 61) == [("acknowledged", None), ("failed", "media_bad_hash")]
                assert entries(agent) == [("slot", "stream:0", "playing")]  # the relay plays on
                assert not (tmp_path / "media" / siren).exists()
                await eventually(lambda: ("alert@61", siren, "failed") in plays(server), agent=agent)
                assert "media_bad_hash" in logs(server, "BH-001")
        finally:
            await server.stop()

    run(scenario())


def test_an_expired_alert_is_ignored_and_one_without_an_item_is_only_acknowledged(tmp_path):
    async def scenario():
        server = FakeServer()
        siren = server.add_media(b"SIREN " * 500)
        try:
            async with await relay_device(server, tmp_path) as agent:
                await relaying(server, agent)
                server.push_alert("BH-001", 71, server.audio_item(siren, "Cảnh báo", 10.0), expires_in=-5)
                server.push_alert("BH-001", 72, None)  # what an e-board gets: nothing to play
                await barrier(server, agent, 37)
                assert agent.stats.ignored == {"expired": 1}
                await drained(agent)
                assert alert_states(server, 71) == []
                assert alert_states(server, 72) == [("acknowledged", None)]
                assert entries(agent) == [("slot", "stream:0", "playing")]
                assert not any(p[0].startswith("alert@") for p in plays(server))
        finally:
            await server.stop()

    run(scenario())
