"""Test helpers: run a coroutine with a deadline, wait for a condition, run an agent against the fake server."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nguon_agent.agent import Agent, AgentOptions
from nguon_agent.clock import ScaledClock
from nguon_agent.sinks import SilentSink
from nguon_agent.store import DiskStore


def run(coro, timeout: float = 60.0):
    """Run a test coroutine on a fresh loop, failing it if it takes longer than `timeout` seconds."""

    async def bounded():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


async def eventually(
    predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition", agent: Agent | None = None
):
    """Wait until predicate() is truthy (checked every 10 ms), at most `timeout` seconds; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        task = getattr(agent, "task", None)
        if task is not None and task.done():
            task.result()  # raises what the agent died of
            raise AssertionError(f"the agent stopped while waiting for {what}")
        if time.monotonic() > deadline:
            stats = (agent.stats.ignored, agent.stats.events) if agent is not None else None
            raise AssertionError(f"timed out waiting for {what} {stats}")
        await asyncio.sleep(0.01)


def now_s() -> datetime:
    """Now, to the second (manifests carry whole seconds)."""
    return datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)


def agent_options(**overrides) -> AgentOptions:
    values = {
        "backoff_base": 0.05,
        "backoff_max": 0.4,
        "request_timeout": 5.0,
        "stream_read_timeout": 10.0,
    }
    values.update(overrides)
    return AgentOptions(**values)


@contextlib.asynccontextmanager
async def running_agent(
    url: str,
    state: Path,
    *,
    code: str | None = None,
    scale: float = 20.0,
    start_at: datetime | None = None,
    **options,
):
    """An agent with a disk state, an accelerated clock and a silent sink, running until the block ends."""
    clock = ScaledClock(scale, start_at or datetime.now(UTC))
    agent = Agent(
        url,
        DiskStore(state, fsync=False),
        clock=clock,
        sink=SilentSink(clock),
        code=code,
        options=agent_options(**options),
    )
    agent.task = asyncio.ensure_future(agent.run())
    try:
        yield agent
    finally:
        agent.stop()
        await asyncio.wait_for(agent.task, 10)


def records(server, code: str, kind: str | None = None) -> list[dict]:
    stored = server.stored(code)
    rows = [stored[seq] for seq in sorted(stored)]
    return [r for r in rows if kind is None or r.get("type") == kind]


def logs(server, code: str) -> list[str]:
    return [r["message"] for r in records(server, code, "log")]
