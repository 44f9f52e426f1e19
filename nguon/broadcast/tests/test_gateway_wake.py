"""The gateway's wake-up channel (nguon.broadcast.gateway.wake) against the real database and Redis.

PostgreSQL: a committed outbox insert (create or bulk_create) wakes a listening Waker through the statement
trigger; with nothing written only the safety delay ends a wait; acknowledgements shared by one Waker reach
another; a listener whose connection the server kills comes back by itself. Redis (NGUON_TEST_REDIS_URL): the same
through pub/sub.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from django.db import connection, connections

from nguon.broadcast.gateway.wake import Waker, decode_acks, encode_acks
from nguon.broadcast.models import PushEvent

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
REDIS_URL = os.environ.get("NGUON_TEST_REDIS_URL", "")


def _in_thread(function):
    """Run ORM work in a thread with its own connection, closed afterwards (as the gateway's threads do)."""

    def job():
        try:
            return function()
        finally:
            connections.close_all()

    return asyncio.to_thread(job)


def _push():
    PushEvent.objects.create(type="command", device_ids=[], body={"command": "ping"})


def _push_many():
    PushEvent.objects.bulk_create([PushEvent(type="revoke", device_ids=[i]) for i in (1, 2)])


async def _listening(*wakers: Waker) -> None:
    for waker in wakers:
        await asyncio.wait_for(waker.listening.wait(), 30)
        assert await waker.wait(5) is True  # connecting wakes it once, for what committed before


def test_acknowledgement_messages_round_trip_and_stay_under_the_notify_limit():
    pairs = [(7, d) for d in range(1, 3000)] + [(9, 4)]
    messages = encode_acks(pairs)
    assert len(messages) > 1 and all(len(m) < 8000 for m in messages)
    assert sorted(p for m in messages for p in decode_acks(m)) == sorted(pairs)


@postgres_only
def test_postgres_notify_wakes_the_gateway_and_silence_leaves_the_safety_poll(transactional_db):
    async def scenario():
        received: list = []
        waker, other = Waker(lambda p: None, wake_mode="postgres"), Waker(received.extend, wake_mode="postgres")
        await waker.start()
        await other.start()
        try:
            await _listening(waker, other)
            assert await waker.wait(0.3) is False  # nothing committed: only the safety delay ends the wait
            await _in_thread(_push)
            assert await waker.wait(30) is True
            await _in_thread(_push_many)
            assert await waker.wait(30) is True

            waker.share_acks([(5, 7), (5, 8)])
            for _ in range(300):
                if len(received) == 2:
                    break
                await asyncio.sleep(0.05)
            assert sorted(received) == [(5, 7), (5, 8)]

            # The server drops the listening connection (a restart does the same): it reconnects and still wakes.
            await _in_thread(
                lambda: connection.cursor().execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query LIKE 'LISTEN%%' AND datname = current_database()"
                )
            )
            for _ in range(300):
                if not waker.listening.is_set():
                    break
                await asyncio.sleep(0.02)
            await _listening(waker)
            await _in_thread(_push)
            assert await waker.wait(30) is True
        finally:
            await waker.stop()
            await other.stop()

    asyncio.run(scenario())


@pytest.mark.skipif(not REDIS_URL, reason="NGUON_TEST_REDIS_URL is not set")
def test_redis_publish_on_commit_wakes_the_gateway_and_carries_acknowledgements(transactional_db, settings):
    settings.REDIS_URL = REDIS_URL
    settings.GATEWAY_WAKE = "redis"

    async def scenario():
        received: list = []
        waker, other = Waker(lambda p: None), Waker(received.extend)
        assert waker.mode == "redis"
        await waker.start()
        await other.start()
        try:
            await _listening(waker, other)
            assert await waker.wait(0.3) is False
            await _in_thread(_push)
            assert await waker.wait(30) is True
            await _in_thread(_push_many)
            assert await waker.wait(30) is True
            waker.share_acks([(3, 4)])
            for _ in range(300):
                if received:
                    break
                await asyncio.sleep(0.05)
            assert received == [(3, 4)]
        finally:
            await waker.stop()
            await other.stop()

    asyncio.run(scenario())
