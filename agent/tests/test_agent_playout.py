"""Playout by the clock, with an accelerated clock: slots start at their time, items in order, cut at the end."""

from __future__ import annotations

from datetime import timedelta

from fake_server import FakeServer
from helpers import eventually, now_s, records, run, running_agent

CODE = "K7Q2-9XWD"
SCALE = 20.0  # device seconds per real second
TOLERANCE = 2.0  # device seconds (0.1 s real) for "started at its time"


def near(moment, expected, tolerance=TOLERANCE) -> bool:
    return abs((moment - expected).total_seconds()) <= tolerance


def test_a_slot_plays_its_items_in_order_at_its_wall_clock_time(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        a = server.add_media(b"A" * 3000)
        b = server.add_media(b"B" * 2000)
        d = server.add_media(b"D" * 1000)
        t0 = now_s()
        relay = {"kind": "stream", "title": "VOV1", "url": "http://127.0.0.1:9/vov1"}
        first = server.slot(
            "12@today",
            t0 + timedelta(seconds=20),
            t0 + timedelta(seconds=40),
            [server.audio_item(a, "Bản tin A", 5.0, bulletin=41), server.audio_item(b, "Bản tin B", 3.0, 42), relay],
            volume=60,
        )
        # A relay followed by an audio item: the relay leaves the last 4 s of the slot to the audio.
        second = server.slot(
            "13@today",
            t0 + timedelta(seconds=45),
            t0 + timedelta(seconds=60),
            [relay, server.audio_item(d, "Bản tin D", 4.0, bulletin=43)],
        )
        server.publish("BH-001", [first, second])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, scale=SCALE, start_at=t0) as agent:
                log = agent.sink.log
                await eventually(lambda: len(log) == 5 and log[4].ended, timeout=15, what="both slots", agent=agent)
                assert [(e.key, e.outcome) for e in log] == [
                    ("41", "completed"),
                    ("42", "completed"),
                    ("stream:2", "cut"),
                    ("stream:0", "cut"),
                    ("43", log[4].outcome),  # timed to end with the slot: completed, or cut by milliseconds
                ]
                assert near(log[0].started, t0 + timedelta(seconds=20))  # A at the slot start
                assert near(log[1].started, t0 + timedelta(seconds=25))  # B after A's 5 s
                assert near(log[2].started, t0 + timedelta(seconds=28))  # the relay after B
                assert near(log[2].ended, t0 + timedelta(seconds=40))  # stopped at the slot end
                assert log[0].volume == 60
                assert near(log[3].started, t0 + timedelta(seconds=45))
                assert near(log[3].ended, t0 + timedelta(seconds=56))  # 4 s before the end: room for D
                assert near(log[4].started, t0 + timedelta(seconds=56))
                plays = lambda: records(server, "BH-001", "play")  # noqa: E731
                await eventually(lambda: len(plays()) == 5, what="five play records", agent=agent)
                assert [(p["occurrence"], p["item"], p["result"]) for p in plays()] == [
                    ("12@today", "41", "played"),
                    ("12@today", "42", "played"),
                    ("12@today", "stream:2", "played"),
                    ("13@today", "stream:0", "played"),
                    ("13@today", "43", "played"),
                ]
                assert all(p["started_at"] <= p["ended_at"] for p in plays())
        finally:
            await server.stop()

    run(scenario())


def test_audio_running_past_the_slot_end_is_cut_and_reported_partial(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        a = server.add_media(b"A" * 3000)
        b = server.add_media(b"B" * 3000)
        t0 = now_s()
        slot = server.slot(
            "5@d",
            t0 + timedelta(seconds=10),
            t0 + timedelta(seconds=18),
            [server.audio_item(a, "A", 6.0, bulletin=1), server.audio_item(b, "B", 6.0, bulletin=2)],
        )
        server.publish("BH-001", [slot])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, scale=SCALE, start_at=t0) as agent:
                plays = lambda: records(server, "BH-001", "play")  # noqa: E731
                await eventually(lambda: len(plays()) == 2, what="two play records", agent=agent)
                assert [(p["item"], p["result"]) for p in plays()] == [("1", "played"), ("2", "partial")]
                assert near(agent.sink.log[1].ended, t0 + timedelta(seconds=18))
        finally:
            await server.stop()

    run(scenario())


def test_joining_a_slot_late_skips_what_is_over_and_starts_the_current_item(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        shas = [server.add_media(bytes([65 + i]) * 1000) for i in range(3)]
        t0 = now_s()
        items = [server.audio_item(sha, f"item {i}", 5.0, bulletin=i) for i, sha in enumerate(shas)]
        slot = server.slot("9@d", t0 - timedelta(seconds=7), t0 + timedelta(seconds=30), items)
        server.publish("BH-001", [slot])
        (tmp_path / "media").mkdir(parents=True)
        for i, sha in enumerate(shas):  # already in the cache from an earlier run
            (tmp_path / "media" / sha).write_bytes(bytes([65 + i]) * 1000)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, scale=SCALE, start_at=t0) as agent:
                plays = lambda: records(server, "BH-001", "play")  # noqa: E731
                await eventually(lambda: len(plays()) == 3, what="three play records", agent=agent)
                assert [(p["item"], p["result"]) for p in plays()] == [
                    ("0", "skipped"),
                    ("1", "played"),
                    ("2", "played"),
                ]
                assert [e.key for e in agent.sink.log] == ["1", "2"]
                assert near(agent.sink.log[0].started, t0)
        finally:
            await server.stop()

    run(scenario())


def test_malformed_slots_are_skipped_and_the_rest_plays(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        a = server.add_media(b"A" * 1000)
        t0 = now_s()
        good = server.slot(
            "2@d", t0 + timedelta(seconds=10), t0 + timedelta(seconds=20), [server.audio_item(a, "A", 3.0, 5)]
        )
        junk = [42, {"id": "1@d", "start": "soon", "end": "later", "items": []}, {"start": good["start"]}]
        good["items"].append("not an item")
        server.publish("BH-001", [*junk, good])
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, scale=SCALE, start_at=t0) as agent:
                await eventually(lambda: records(server, "BH-001", "play"), what="a play record", agent=agent)
                assert [(p["occurrence"], p["item"], p["result"]) for p in records(server, "BH-001", "play")] == [
                    ("2@d", "5", "played")
                ]
                assert not [m for m in records(server, "BH-001", "log") if m["message"].startswith("internal")]
        finally:
            await server.stop()

    run(scenario())
