"""The event stream: signed commands (play, stop, live, volume, reboot), and what the agent refuses."""

from __future__ import annotations

from datetime import timedelta

from fake_server import FakeServer, iso
from helpers import eventually, logs, now_s, records, run, running_agent

CODE = "K7Q2-9XWD"


def relay_slot(server: FakeServer, slot_id: str = "7@d", minutes: int = 60):
    start = now_s() - timedelta(minutes=1)
    relay = {"kind": "stream", "title": "VOV1", "url": "http://127.0.0.1:9/vov1"}
    return server.slot(slot_id, start, start + timedelta(minutes=minutes), [relay])


def test_play_live_volume_and_stop_commands(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        sha = server.add_media(b"emergency " * 200)
        server.publish("BH-001", [relay_slot(server)])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                log = agent.sink.log
                await eventually(lambda: server.connected("BH-001") and log, what="stream and relay", agent=agent)

                server.push("BH-001", "volume", volume=35)
                await eventually(lambda: agent.sink.volume == 35, what="the volume", agent=agent)
                assert agent.playout.volume == 35

                # play: interrupt the relay, play the pushed bulletin, then go back to the relay.
                item = server.audio_item(sha, "Khẩn cấp", 10.0, bulletin=99)
                play = server.push("BH-001", "play", item=item)
                await eventually(lambda: len(log) >= 3, what="pushed item and resumed relay", agent=agent)
                assert [(e.source, e.key, e.outcome) for e in log[:2]] == [
                    ("slot", "stream:0", "interrupted"),
                    ("push", "99", "completed"),
                ]
                assert (log[2].source, log[2].key, log[2].ended) == ("slot", "stream:0", None)
                assert log[1].volume == 35

                # live: interrupt and relay the live stream until live_stop.
                server.push("BH-001", "live", url="http://127.0.0.1:9/live", title="Trực tiếp", until=None)
                await eventually(lambda: len(log) >= 4 and log[3].source == "live", what="live", agent=agent)
                assert log[2].outcome == "interrupted"
                server.push("BH-001", "live_stop")
                await eventually(lambda: log[3].outcome == "interrupted", what="live to stop", agent=agent)
                await eventually(lambda: len(log) >= 5 and log[4].source == "slot", what="schedule back", agent=agent)

                # stop: what plays now stops, and the slot does not come back.
                server.push("BH-001", "stop")
                await eventually(lambda: log[4].outcome == "interrupted", what="the stop", agent=agent)
                await eventually(lambda: agent.playout.current_item == "", what="silence", agent=agent)
                assert len(log) == 5

                plays = lambda: records(server, "BH-001", "play")  # noqa: E731
                await eventually(lambda: len(plays()) == 5, what="five play records", agent=agent)
                assert [(p["occurrence"], p["item"], p["result"]) for p in plays()] == [
                    ("7@d", "stream:0", "partial"),
                    (f"push@{play}", "99", "played"),
                    ("7@d", "stream:0", "partial"),
                    (f"live@{play + 1}", "live", "partial"),
                    ("7@d", "stream:0", "partial"),
                ]
        finally:
            await server.stop()

    run(scenario())


def test_live_ends_by_itself_at_until(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: server.connected("BH-001"), agent=agent)
                until = iso(server.now() + timedelta(seconds=0.5))  # half a real second
                server.push("BH-001", "live", url="http://127.0.0.1:9/live", title="Trực tiếp", until=until)
                await eventually(lambda: agent.sink.log and agent.sink.log[0].ended, what="live to end", agent=agent)
                assert agent.sink.log[0].outcome == "cut"
        finally:
            await server.stop()

    run(scenario())


def test_events_that_do_not_verify_or_are_not_for_us_are_ignored(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        server.add_device("BH-002")
        server.publish("BH-001", [relay_slot(server)])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                log = agent.sink.log
                await eventually(lambda: server.connected("BH-001") and log, agent=agent)
                server.push("BH-001", "stop", bad_signature=True)  # signed with another key
                server.push("BH-001", "stop", expires_in=-5)  # expired
                server.push_raw(
                    "BH-001",
                    {"type": "stop", "id": 5000, "at": iso(server.now()), "device": "BH-002"},
                )  # for another device, on our stream
                server.push("BH-001", "volume", volume=20)
                await eventually(lambda: agent.playout.volume == 20, agent=agent)  # events are handled in order
                assert agent.stats.ignored == {"bad_signature": 1, "expired": 1, "other_device": 1}
                assert log[0].ended is None  # none of the stops stopped anything
                await eventually(lambda: "event_bad_signature" in logs(server, "BH-001"), agent=agent)

                # The same event twice (a replay after reconnecting) is handled once.
                payload = {"type": "volume", "id": 6000, "at": iso(server.now()), "device": "*", "volume": 40}
                server.push_raw("BH-001", payload)
                await eventually(lambda: agent.playout.volume == 40, agent=agent)
                agent.playout.set_volume(50)
                server.push_raw("BH-001", payload)
                server.push("*", "volume", volume=60)
                await eventually(lambda: agent.playout.volume == 60, agent=agent)
                assert agent.stats.ignored["duplicate"] == 1
                assert agent.stats.events == {"volume": 3}
        finally:
            await server.stop()

    run(scenario())


def test_events_bound_to_another_audience_are_refused_and_logged(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        server.publish("BH-001", [relay_slot(server)])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: server.connected("BH-001") and agent.version, agent=agent)
                # Signed by our server, sent to everyone ("*"), but meant for other devices: a replay.
                server.push("*", "volume", volume=11, audience={"devices": ["BH-002", "BH-003"]})
                server.push("*", "volume", volume=12, audience={"units": ["26069"], "groups": [4]})
                server.push("*", "volume", volume=13, audience={"units": "75"})  # not a list: names nobody
                server.push("*", "volume", volume=14, audience=None)
                server.push("*", "volume", volume=15, audience={"units": ["75"], "kinds": ["board"]})  # e-boards
                # Addressed to it: by its code, by its province (an ancestor unit), by its group.
                server.push("*", "volume", volume=21, audience={"devices": ["BH-002", "BH-001"]})
                await eventually(lambda: agent.playout.volume == 21, agent=agent)
                server.push("*", "volume", volume=22, audience={"units": ["75"], "kinds": ["speaker"]})
                await eventually(lambda: agent.playout.volume == 22, agent=agent)
                server.push("*", "volume", volume=23, audience={"units": ["1"], "groups": [3]})
                await eventually(lambda: agent.playout.volume == 23, agent=agent)
                # An event from a server that names no audience (before protocol revision 1.1) is taken as before.
                server.push("*", "volume", volume=24)
                await eventually(lambda: agent.playout.volume == 24, agent=agent)
                assert agent.stats.ignored == {"wrong_audience": 5}
                assert agent.stats.events == {"volume": 4}
                await eventually(lambda: logs(server, "BH-001").count("event_wrong_audience") == 5, agent=agent)
        finally:
            await server.stop()

    run(scenario())


def test_a_fresh_device_checks_the_audience_with_what_its_enrolment_said(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        server.publish("BH-001")
        server.manifest_down = True  # events come, the manifest does not
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: server.connected("BH-001"), agent=agent)
                assert agent.version == 0
                server.push("*", "volume", volume=31, audience={"units": ["26068"]})
                await eventually(lambda: agent.playout.volume == 31, agent=agent)
                assert agent.version == 0
        finally:
            await server.stop()

    run(scenario())


def test_a_manifest_carried_by_its_event_is_taken_without_a_fetch_and_a_bad_one_is_fetched(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: server.connected("BH-001") and agent.version == 1, agent=agent)
                fetched = server.manifest_200["BH-001"]
                # Revision 1.3 (§4.4): the event carries the new manifest; as the server does, no version in it.
                server.publish("BH-001", volume=55)
                server.push("BH-001", "manifest", inline=server.inline("BH-001"))
                await eventually(lambda: agent.version == 2, what="the inline manifest", agent=agent)
                assert agent.stats.inline_manifests == 1
                assert agent.document["settings"]["volume"] == 55
                assert server.manifest_200["BH-001"] == fetched  # taken from the event, not fetched

                # Signed by another key: refused, and the manifest is fetched instead.
                server.publish("BH-001", volume=60)
                server.push("BH-001", "manifest", inline=server.inline("BH-001", other_key=True))
                await eventually(lambda: agent.version == 3, what="the fetched manifest", agent=agent)
                assert server.manifest_200["BH-001"] == fetched + 1
                assert agent.stats.manifests_refused == 1
                assert agent.stats.inline_manifests == 1

                # Not three fields: fetched (nothing new, so a 304).
                requests = server.manifest_requests["BH-001"]
                server.push("BH-001", "manifest", inline="garbage")
                await eventually(lambda: server.manifest_requests["BH-001"] == requests + 1, agent=agent)
                assert agent.stats.ignored["inline_manifest_invalid"] == 1
                assert agent.version == 3
        finally:
            await server.stop()

    run(scenario())


def test_manifest_event_fetches_and_reboot_reports_then_restarts(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: server.connected("BH-001") and agent.version == 1, agent=agent)
                version = server.publish("BH-001")
                server.push("BH-001", "manifest", version=version)
                await eventually(lambda: agent.version == version, what="the new manifest", agent=agent)
                fetched = server.manifest_200["BH-001"]
                server.push("BH-001", "manifest", version=version)  # one we already hold: no fetch
                server.push("BH-001", "reboot")
                assert await eventually(lambda: agent.task.done(), what="the agent to stop", agent=None)
                assert agent.task.result() == "reboot"
                assert server.manifest_200["BH-001"] == fetched
                assert "reboot" in logs(server, "BH-001")  # reported before restarting
        finally:
            await server.stop()

    run(scenario())
