"""Reports: the on-disk journal, delivery in order after an outage, 429 Retry-After, seq across restarts."""

from __future__ import annotations

import json
from datetime import timedelta

from fake_server import FakeServer
from helpers import eventually, now_s, records, run, running_agent

from nguon_agent.journal import DiskJournal

CODE = "K7Q2-9XWD"


def assert_exactly_once(server: FakeServer, code: str, last_seq: int) -> None:
    assert sorted(server.stored(code)) == list(range(1, last_seq + 1))
    assert server.duplicates[code] == 0


def test_journal_keeps_unacknowledged_records_and_seq_across_restarts(tmp_path):
    journal = DiskJournal(tmp_path)
    assert [journal.append({"type": "log", "message": str(i)}) for i in range(5)] == [1, 2, 3, 4, 5]
    journal.ack(3)
    journal.close()
    journal = DiskJournal(tmp_path)
    assert [r["seq"] for r in journal.pending(10)] == [4, 5]
    assert journal.append({"type": "log", "message": "after restart"}) == 6
    journal.ack(6)
    assert len(journal) == 0
    assert (tmp_path / "journal.jsonl").stat().st_size == 0  # compacted once everything is acknowledged
    journal.close()
    journal = DiskJournal(tmp_path)
    assert journal.append({"type": "log", "message": "x"}) == 7  # the counter survived the compaction
    journal.close()
    # A torn last line (power cut mid-write) is dropped; nothing before it is lost.
    with open(tmp_path / "journal.jsonl", "ab") as handle:
        handle.write(b'{"seq": 8, "type": "lo')
    journal = DiskJournal(tmp_path)
    assert [r["seq"] for r in journal.pending(10)] == [7]
    assert journal.append({"type": "log", "message": "y"}) == 8
    journal.close()
    lines = (tmp_path / "journal.jsonl").read_bytes().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [7, 8]


def test_batches_respect_report_batch_max(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        server.publish("BH-001", report_batch_max=3)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: agent.version == 2, agent=agent)
                await eventually(lambda: not len(agent.store.journal), agent=agent)
                server.rate_limit = 1  # hold the next request back so that records pile up
                server.retry_after = "0.3"
                for i in range(10):
                    agent.log_record("info", f"test {i}")
                await eventually(lambda: not len(agent.store.journal), what="the journal to drain", agent=agent)
                assert max(n for _, _, n, _ in server.report_requests) <= 3
                assert_exactly_once(server, "BH-001", agent.store.journal.last_seq)
        finally:
            await server.stop()

    run(scenario())


def test_playing_goes_on_through_an_outage_and_reports_arrive_after_it_once_each(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        sha = server.add_media(b"bulletin " * 300)
        t0 = now_s()
        slot = server.slot(
            "4@d", t0 + timedelta(seconds=30), t0 + timedelta(seconds=50), [server.audio_item(sha, "B", 6.0, 77)]
        )
        server.publish("BH-001", [slot], heartbeat_seconds=5)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE, start_at=t0) as agent:
                await eventually(lambda: (tmp_path / "media" / sha).exists(), what="the media", agent=agent)
                await eventually(lambda: server.connected("BH-001"), what="the stream", agent=agent)
                volume = server.push("BH-001", "volume", volume=70)  # an event before the outage
                await eventually(lambda: agent.playout.volume == 70, agent=agent)
                await eventually(lambda: server.stored("BH-001"), what="first reports", agent=agent)
                connects = server.stream_connects["BH-001"]
                fetches = server.manifest_requests["BH-001"]

                await server.stop()  # the link drops
                await eventually(lambda: not agent.stats.stream_up, what="the stream to drop", agent=agent)
                await eventually(
                    lambda: [(e.key, e.outcome) for e in agent.sink.log] == [("77", "completed")],
                    timeout=15,
                    what="the slot to play offline",
                    agent=agent,
                )
                await eventually(lambda: len(agent.store.journal) >= 4, what="records to pile up", agent=agent)
                pending = [r["seq"] for r in agent.store.journal.records()]
                assert pending == sorted(pending)
                assert {"heartbeat", "play"} <= {r["type"] for r in agent.store.journal.records()}

                await server.start()  # the link comes back, on the same address
                await eventually(lambda: not len(agent.store.journal), what="the backlog to drain", agent=agent)
                assert_exactly_once(server, "BH-001", agent.store.journal.last_seq)
                assert [(p["item"], p["result"]) for p in records(server, "BH-001", "play")] == [("77", "played")]
                await eventually(lambda: server.stream_connects["BH-001"] > connects, what="reconnect", agent=agent)
                await eventually(lambda: server.manifest_requests["BH-001"] > fetches, what="re-fetch", agent=agent)
                assert str(volume) in server.last_event_ids  # Last-Event-ID sent on reconnect
        finally:
            await server.stop()

    run(scenario())


def test_429_retry_after_is_honoured(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        server.rate_limit = 1
        server.retry_after = "1"
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: len(server.report_requests) >= 2, what="a retried batch", agent=agent)
                (t429, _, n429, s429), (t200, _, n200, s200) = server.report_requests[:2]
                assert (s429, s200) == (429, 200)
                assert t200 - t429 >= 0.95  # waited the Retry-After seconds
                assert n200 >= n429  # the same batch (plus anything new), not dropped
                await eventually(lambda: not len(agent.store.journal), agent=agent)
                assert_exactly_once(server, "BH-001", agent.store.journal.last_seq)
                assert agent.stats.rate_limited == 1
        finally:
            await server.stop()

    run(scenario())


def test_seq_stays_monotonic_across_restarts_and_unsent_records_survive(tmp_path):
    async def scenario():
        server = FakeServer()
        server.add_device("BH-001", enrol_code=CODE)
        await server.start()
        try:
            async with running_agent(server.url, tmp_path, code=CODE) as agent:
                await eventually(lambda: agent.version == 1, agent=agent)
                await eventually(lambda: server.stored("BH-001"), agent=agent)
                await server.stop()
                for i in range(3):
                    agent.log_record("info", f"offline {i}")
                first_run_last = agent.store.journal.last_seq
                assert len(agent.store.journal) >= 3
            async with running_agent(server.url, tmp_path) as agent:  # restart, still offline
                await eventually(lambda: len(agent.store.journal) > 3, what="the first heartbeat", agent=agent)
                seqs = [r["seq"] for r in agent.store.journal.records()]
                assert seqs[0] <= first_run_last < seqs[-1]
                assert seqs == sorted(set(seqs))
                await server.start()
                await eventually(lambda: not len(agent.store.journal), what="delivery", agent=agent)
                assert_exactly_once(server, "BH-001", agent.store.journal.last_seq)
                offline = [r["message"] for r in records(server, "BH-001", "log") if r["message"].startswith("off")]
                assert offline == ["offline 0", "offline 1", "offline 2"]
        finally:
            await server.stop()

    run(scenario())
