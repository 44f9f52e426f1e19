"""The fleet simulator and the command line, against the fake server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import sys
from pathlib import Path

from fake_server import FakeServer
from helpers import eventually, run

from nguon_agent.clock import ScaledClock
from nguon_agent.simulate import Fleet, read_codes, read_tokens, save_tokens

AGENT_DIR = Path(__file__).resolve().parents[1]


def fleet_server(n: int, tmp_path: Path) -> tuple[FakeServer, Path]:
    server = FakeServer()
    lines = []
    for i in range(n):
        code, token = f"SIM-{i:03d}", f"nd1_token_{i:03d}"
        server.add_device(code, token=token)
        lines.append(json.dumps({"token": token, "public_key": server.public_key, "device": {"code": code}}))
    tokens = tmp_path / "tokens.jsonl"
    tokens.write_text("\n".join(lines) + "\n")
    return server, tokens


def test_a_fleet_holds_streams_follows_manifest_events_and_records_arrival_times(tmp_path):
    async def scenario():
        server, tokens = fleet_server(30, tmp_path)
        await server.start()
        stats_file = tmp_path / "stats.jsonl"
        clock = ScaledClock(30.0)  # heartbeats (at a random point of their 60 s period) within 2 s
        fleet = Fleet(server.url, read_tokens(tokens), clock, media=False, stats_file=stats_file)
        try:
            await fleet.start()
            await eventually(lambda: fleet.stats()["connected"] == 30, what="30 streams")
            await eventually(lambda: fleet.stats()["manifests"]["versions"] == {"1": 30}, what="30 manifests")
            for code in server.devices:
                server.publish(code)
            event = server.push("*", "manifest", version=2)
            await eventually(lambda: fleet.stats()["manifests"]["versions"] == {"2": 30}, what="the new version")
            await eventually(lambda: fleet.stats()["reports_sent"] >= 30, what="first heartbeats")
            stats = fleet.stats()
            assert stats["events_by_type"] == {"manifest": 30}
            assert stats["enrolled"] == 30 and stats["errors"] == 0
        finally:
            await fleet.stop()
            await server.stop()
        rows = [json.loads(line) for line in stats_file.read_text().splitlines()]
        events = [r for r in rows if r["kind"] == "event"]
        manifests = [r for r in rows if r["kind"] == "manifest"]
        assert sorted(r["device"] for r in events) == sorted(server.devices)
        assert {(r["type"], r["id"], r["version"]) for r in events} == {("manifest", event, 2)}
        assert sorted((r["device"], r["version"]) for r in manifests) == sorted(
            [(code, 1) for code in server.devices] + [(code, 2) for code in server.devices]
        )
        for code in server.devices:  # each device's new version arrived after its event
            got_event = next(r["t"] for r in events if r["device"] == code)
            got_v2 = next(r["t"] for r in manifests if r["device"] == code and r["version"] == 2)
            assert got_event <= got_v2

    run(scenario())


def test_a_fleet_without_media_acknowledges_an_alert_at_once_and_records_when_each_ack_left(tmp_path):
    async def scenario():
        server, tokens = fleet_server(20, tmp_path)
        siren = server.add_media(b"SIREN " * 500)
        await server.start()
        stats_file = tmp_path / "stats.jsonl"
        fleet = Fleet(server.url, read_tokens(tokens), ScaledClock(30.0), media=False, stats_file=stats_file)
        try:
            await fleet.start()
            await eventually(lambda: fleet.stats()["connected"] == 20, what="20 streams")
            await eventually(lambda: fleet.stats()["manifests"]["held"] == 20, what="20 manifests")
            event = server.push_alert("*", 17, server.audio_item(siren, "Cảnh báo", 30.0))
            await eventually(lambda: fleet.stats()["alerts_reported"] == {"acknowledged": 20}, what="20 acks")
            stats = fleet.stats()
            assert stats["events_by_type"]["alert"] == 20 and stats["errors"] == 0
            assert all(agent.playout.current_item == "" for agent in fleet.agents)  # nothing "plays" the alert
        finally:
            await fleet.stop()
            await server.stop()
        # Only the acknowledgement: no download, no play, no other record for the alert.
        assert not [sha for sha, _ in server.media_requests if sha == siren]
        for code in server.devices:
            alerts = [(r["alert"], r["state"]) for r in server.stored(code).values() if r["type"] == "alert"]
            assert alerts == [(17, "acknowledged")]
            assert not [r for r in server.stored(code).values() if r.get("occurrence") == "alert@17"]
        rows = [json.loads(line) for line in stats_file.read_text().splitlines()]
        received = {r["device"]: r["t"] for r in rows if r["kind"] == "event" and r["type"] == "alert"}
        acked = {r["device"]: r["t"] for r in rows if r["kind"] == "alert" and r["state"] == "acknowledged"}
        assert sorted(received) == sorted(acked) == sorted(server.devices)
        assert {(r["id"], r["alert"]) for r in rows if r["kind"] == "event" and r["type"] == "alert"} == {(event, 17)}
        assert all(received[code] <= acked[code] for code in server.devices)

    run(scenario())


def test_a_fleet_enrols_with_codes_and_saves_its_tokens(tmp_path):
    async def scenario():
        server = FakeServer()
        codes = []
        for i in range(5):
            code = f"CODE-{i:04d}"
            server.add_device(f"SIM-{i}", enrol_code=code)
            codes.append(code)
        (tmp_path / "codes.txt").write_text("# codes\n" + "\n".join(codes) + "\n")
        await server.start()
        fleet = Fleet(server.url, read_codes(tmp_path / "codes.txt"), ScaledClock(1.0), media=True)
        try:
            await fleet.start()
            await eventually(lambda: fleet.stats()["connected"] == 5, what="5 streams")
        finally:
            await fleet.stop()
            await server.stop()
        assert save_tokens(fleet, tmp_path / "saved.jsonl") == 5
        saved = read_tokens(tmp_path / "saved.jsonl")
        assert sorted(e.credentials.code for e in saved) == [f"SIM-{i}" for i in range(5)]
        assert {e.credentials.token for e in saved} == {d.token for d in server.devices.values()}

    run(scenario())


async def start_cli(*args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(AGENT_DIR), os.environ.get("PYTHONPATH", "")])}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "nguon_agent",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


def test_cli_run_enrols_keeps_state_and_stops_on_sigterm(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code="K7Q2-9XWD")
        await server.start()
        state = tmp_path / "state"
        try:
            proc = await start_cli(
                "run", "--server", server.url, "--state", str(state), "--code", "K7Q2-9XWD", "--time-scale", "10"
            )
            try:
                ready = lambda: server.stored("BH-001") and (state / "manifest.signed").exists()  # noqa: E731
                await eventually(ready, timeout=20, what="a report and a saved manifest")
            finally:
                proc.send_signal(signal.SIGTERM)
                _, stderr = await asyncio.wait_for(proc.communicate(), 20)
            assert proc.returncode == 0, stderr.decode()
            status = await start_cli("status", "--state", str(state))
            out, _ = await asyncio.wait_for(status.communicate(), 20)
        finally:
            await server.stop()
        assert stat.S_IMODE((state / "credentials.json").stat().st_mode) == 0o600
        info = json.loads(out)
        assert info["enrolled"] and info["device"]["code"] == "BH-001"
        assert info["manifest_version"] == 1
        assert info["last_seq"] >= 1

    run(scenario())


def test_cli_simulate_prints_json_stats_on_sigint(tmp_path):
    async def progress_until(proc, predicate) -> dict:
        """Read the --progress lines on stderr until one satisfies the predicate."""
        while True:
            line = await proc.stderr.readline()
            assert line, "the simulator ended early"
            if line.startswith(b"{") and predicate(stats := json.loads(line)):
                return stats

    async def scenario():
        server, tokens = fleet_server(10, tmp_path)
        await server.start()
        try:
            proc = await start_cli(
                "--log-level",
                "WARNING",
                "simulate",
                "--server",
                server.url,
                "--devices",
                "10",
                "--tokens",
                str(tokens),
                "--no-media",
                "--progress",
                "0.1",
            )
            try:
                ready = lambda s: s["connected"] == 10 and s["manifests"]["held"] == 10  # noqa: E731
                await asyncio.wait_for(progress_until(proc, ready), 30)
            finally:
                proc.send_signal(signal.SIGINT)
                out, stderr = await asyncio.wait_for(proc.communicate(), 30)
        finally:
            await server.stop()
        assert proc.returncode == 0, stderr.decode()
        stats = json.loads(out)
        assert stats["devices"] == 10 and stats["connected"] == 10
        assert stats["manifests"] == {"held": 10, "versions": {"1": 10}, "refused": 0, "not_modified": 0}
        assert stats["rss_mb"] > 0

    run(scenario())
