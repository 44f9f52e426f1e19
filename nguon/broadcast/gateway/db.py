"""Database work from the event loop: always in a worker thread, one short job at a time."""

from __future__ import annotations

import asyncio

from django.db import connections


def prepare_connections() -> None:
    """Drop this thread's connection if an error broke it; otherwise keep it open for the next job.

    Django's request signals recycle connections per request; the gateway has no requests in Django's sense, so
    its threads keep their connection (opening one per job would cost more than most jobs) and reconnect after
    a failure (a restarted PostgreSQL, for one).
    """
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and connection.errors_occurred and not connection.is_usable():
            connection.close()


def _job(function, *args):
    prepare_connections()
    return function(*args)


async def run(function, *args):
    """Run `function(*args)` (which uses the ORM) in a thread of the loop's default executor."""
    return await asyncio.to_thread(_job, function, *args)
