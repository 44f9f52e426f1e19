"""A receiver without an event stream (docs/device-protocol.md §4.3): it asks GET /alerts with every manifest poll,
handles each answered event as a streamed one (signature, audience, duplicates), and acts on an alert once."""

from __future__ import annotations

from pathlib import Path

from fake_server import FakeServer
from helpers import eventually, records, run, running_agent

from nguon_agent.clock import ScaledClock
from nguon_agent.simulate import Fleet, read_tokens

CODE = "K7Q2-9XWD"


def alert_states(server: FakeServer, alert_id: int, code: str = "BH-001") -> list[tuple]:
    return [(r["state"], r.get("reason")) for r in records(server, code, "alert") if r["alert"] == alert_id]


def test_a_polling_receiver_acknowledges_a_polled_alert_once_however_often_it_is_answered(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        server.publish("BH-001", heartbeat_seconds=5)  # 5 s of the agent's clock: 0.25 s real at 20x
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, sse=False, play=False) as agent:
                await eventually(lambda: server.alert_polls["BH-001"], what="the first alert poll", agent=agent)
                server.push_alert("*", 41)  # no stream is open: only the poll carries it
                await eventually(lambda: alert_states(server, 41), what="the acknowledgement", agent=agent)
                # The fake server answers it on every poll (as a real one may until the report arrives).
                polls = server.alert_polls["BH-001"]
                await eventually(lambda: server.alert_polls["BH-001"] >= polls + 3, what="3 more polls", agent=agent)
                assert alert_states(server, 41) == [("acknowledged", None)]
                assert agent.stats.events == {"alert": 1}
                assert agent.stats.ignored.get("duplicate", 0) >= 3
                assert agent.stats.connects == 0 and server.stream_connects["BH-001"] == 0

                # Signed with another key, or for another device: refused as a streamed event would be.
                server.alert_events[42] = {**server.alert_events[41], "id": server.event_id + 1, "device": "BH-999"}
                server.alert_events[42]["alert"] = {**server.alert_events[41]["alert"], "id": 42}
                polls = server.alert_polls["BH-001"]
                await eventually(lambda: server.alert_polls["BH-001"] >= polls + 2, what="two more polls", agent=agent)
                assert alert_states(server, 42) == []
                assert agent.stats.ignored.get("other_device")
        finally:
            await server.stop()

    run(scenario())


def test_a_server_without_the_alert_poll_is_not_asked_again(tmp_path):
    async def scenario():
        server = FakeServer()
        server.alerts_enabled = False  # a server before revision 1.2
        server.add_device("BH-001", enrol_code=CODE)
        server.publish("BH-001", heartbeat_seconds=5)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, sse=False) as agent:
                await eventually(lambda: agent.version == 2, what="the first manifest", agent=agent)
                server.publish("BH-001")
                await eventually(lambda: agent.version == 3, what="a polled manifest", agent=agent)
                assert server.alert_polls["BH-001"] == 1  # asked once, answered 404, then only the manifest
        finally:
            await server.stop()

    run(scenario())


def test_a_simulated_fleet_without_streams_gets_an_alert_by_polling(tmp_path: Path):
    async def scenario():
        server = FakeServer()
        lines = []
        for i in range(20):
            server.add_device(f"SIM-{i:03d}", token=f"nd1_token_{i:03d}")
            server.publish(f"SIM-{i:03d}", heartbeat_seconds=5)
            lines.append(f"nd1_token_{i:03d} {server.public_key} SIM-{i:03d}")
        tokens = tmp_path / "tokens.txt"
        tokens.write_text("\n".join(lines) + "\n")
        await server.start()
        fleet = Fleet(server.url, read_tokens(tokens), ScaledClock(20.0), media=False, play=False, sse=False)
        try:
            await fleet.start()
            await eventually(lambda: len(server.alert_polls) == 20, what="20 devices polling")
            server.push_alert("*", 51)
            acked = lambda: {code for code in server.devices if alert_states(server, 51, code)}  # noqa: E731
            await eventually(lambda: len(acked()) == 20, what="20 acknowledgements")
            assert sum(server.stream_connects.values()) == 0
            assert all(alert_states(server, 51, code) == [("acknowledged", None)] for code in server.devices)
        finally:
            await fleet.stop()
            await server.stop()

    run(scenario())
