"""Many simulated devices in one process: one event loop, one shared connection pool, a silent sink each.

Built to hold thousands of event streams on a small machine: no thread per device, nothing on disk, a few
kilobytes of Python objects per device besides its socket, and one signature check per fanned-out event.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import resource
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from nguon_agent.agent import Agent, AgentOptions, EnrolmentError, Observer, SlotInterner
from nguon_agent.clock import Clock
from nguon_agent.crypto import SignatureCache, check_public_key
from nguon_agent.sinks import SilentSink
from nguon_agent.store import Credentials, MemoryStore

log = logging.getLogger("nguon_agent.simulate")


@dataclass
class DeviceEntry:
    code: str | None = None  # enrolment code
    credentials: Credentials | None = None


def read_codes(path: Path) -> list[DeviceEntry]:
    """One enrolment code a line (blank lines and # comments skipped)."""
    entries = []
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            entries.append(DeviceEntry(code=line.split()[0]))
    return entries


def read_tokens(path: Path, public_key: str | None = None) -> list[DeviceEntry]:
    """Tokens, one a line: a JSON object {"token", "public_key", "device"}, or `token [public_key [code]]`."""
    entries = []
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            doc = json.loads(line)
            device = doc.get("device") or {}
            if isinstance(device, str):
                device = {"code": device}
            token, key = doc["token"], doc.get("public_key") or public_key
        else:
            parts = line.split()
            token = parts[0]
            key = parts[1] if len(parts) > 1 else public_key
            device = {"code": parts[2]} if len(parts) > 2 else {}
        if not key:
            raise ValueError(f"{path}:{number}: no public key (give it in the file or with --public-key)")
        check_public_key(key)
        entries.append(DeviceEntry(credentials=Credentials(token=token, public_key=key, device=device)))
    return entries


class StatsFile(Observer):
    """JSON lines, one per verified event and per new manifest version, with the local receive time, and one per
    alert report record the server took, with the time the batch holding it was sent:

    {"t": 1764150000.123, "device": "BH-001", "kind": "event", "type": "manifest", "id": 1043, "version": 18,
     "at": "..."}
    {"t": 1764150000.456, "device": "BH-001", "kind": "manifest", "version": 18}
    {"t": 1764150001.001, "device": "BH-001", "kind": "event", "type": "alert", "id": 1044, "alert": 17, "at": "..."}
    {"t": 1764150001.034, "device": "BH-001", "kind": "alert", "alert": 17, "state": "acknowledged"}
    """

    def __init__(self, path: Path):
        self._file: TextIO = open(path, "a", buffering=1 << 16, encoding="utf-8")  # noqa: SIM115

    def _write(self, row: dict[str, Any]) -> None:
        self._file.write(json.dumps(row, separators=(",", ":"), ensure_ascii=False) + "\n")

    def on_event(self, agent: Agent, payload: dict[str, Any], received: float) -> None:
        row = {"t": round(received, 6), "device": agent.device_code or agent.name, "kind": "event"}
        for name in ("type", "id", "version", "at"):
            if name in payload:
                row[name] = payload[name]
        if isinstance(payload.get("alert"), dict):  # alert, alert_cancel: which alert
            row["alert"] = payload["alert"].get("id")
        self._write(row)

    def on_manifest(self, agent: Agent, version: int, received: float) -> None:
        row = {"t": round(received, 6), "device": agent.device_code or agent.name, "kind": "manifest"}
        self._write({**row, "version": version})

    def on_alert(self, agent: Agent, alert_id: int, state: str, sent: float) -> None:
        row = {"t": round(sent, 6), "device": agent.device_code or agent.name, "kind": "alert"}
        self._write({**row, "alert": alert_id, "state": state})

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def rss_kb() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, wanted)
    if soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class Fleet:
    def __init__(
        self,
        server: str,
        entries: list[DeviceEntry],
        clock: Clock,
        *,
        media: bool = True,
        play: bool = True,
        sse: bool = True,
        stats_file: Path | None = None,
        ramp: float = 1000.0,
        extra_connections: int = 512,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
    ):
        self.server = server
        self.entries = entries
        self.clock = clock
        self.media, self.play, self.sse = media, play, sse
        self.ramp = ramp
        self.extra_connections = extra_connections
        self.backoff = (backoff_base, backoff_max)
        self.observer: StatsFile | Observer = StatsFile(stats_file) if stats_file else Observer()
        self.cache = SignatureCache()
        self.interner = SlotInterner()
        self.agents: list[Agent] = []
        self.enrol_failed = 0
        self.started_at = time.monotonic()
        self._tasks: list[asyncio.Task] = []
        self._stopping = False
        self.session: aiohttp.ClientSession | None = None

    def _agent(self, index: int, store: MemoryStore, code: str | None) -> Agent:
        options = AgentOptions(
            media=self.media,
            play=self.play,
            sse=self.sse,
            heartbeat_phase=True,
            backoff_base=self.backoff[0],
            backoff_max=self.backoff[1],
            download_concurrency=1,
        )
        return Agent(
            self.server,
            store,
            clock=self.clock,
            sink=SilentSink(self.clock, keep_log=False),
            session=self.session,
            code=code,
            options=options,
            signature_cache=self.cache,
            interner=self.interner,
            observer=self.observer,
            name=f"sim{index}",
        )

    async def _run_device(self, index: int, entry: DeviceEntry) -> None:
        store = MemoryStore(entry.credentials)
        code = entry.code
        while not self._stopping:
            agent = self._agent(index, store, code)
            self.agents[index] = agent
            try:
                if await agent.run() != "reboot":
                    return
            except EnrolmentError as exc:
                self.enrol_failed += 1
                log.warning("sim%d: %s", index, exc)
                return

    async def start(self) -> None:
        raise_fd_limit(len(self.entries) * 2 + 1024)
        connector = aiohttp.TCPConnector(
            limit=len(self.entries) + self.extra_connections, limit_per_host=0, ttl_dns_cache=None
        )
        self.session = aiohttp.ClientSession(connector=connector, read_bufsize=1 << 14)
        self.agents = [None] * len(self.entries)  # type: ignore[list-item]
        per_step = max(1, int(self.ramp / 20))
        for index, entry in enumerate(self.entries):
            self._tasks.append(asyncio.ensure_future(self._run_device(index, entry)))
            if (index + 1) % per_step == 0:
                await asyncio.sleep(0.05)
        gc.collect()
        gc.freeze()  # thousands of long-lived objects: keep full collections short

    async def stop(self) -> None:
        self._stopping = True
        for agent in self.agents:
            if agent is not None:
                agent.stop()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=15)
        for task in self._tasks:
            task.cancel()
        if self.session is not None:
            await self.session.close()
        if isinstance(self.observer, StatsFile):
            self.observer.close()

    def stats(self) -> dict[str, Any]:
        agents = [a for a in self.agents if a is not None]
        versions: Counter[int] = Counter(a.version for a in agents if a.document is not None)
        events: Counter[str] = Counter()
        ignored: Counter[str] = Counter()
        alerts: Counter[str] = Counter()
        for agent in agents:
            events.update(agent.stats.events)
            ignored.update(agent.stats.ignored)
            alerts.update(agent.stats.alerts_reported)
        rss = rss_kb()
        n = len(self.entries)
        return {
            "devices": n,
            "started": len(agents),
            "enrolled": sum(1 for a in agents if a.credentials is not None),
            "enrol_failed": self.enrol_failed,
            "connected": sum(1 for a in agents if a.stats.stream_up),
            "ever_connected": sum(1 for a in agents if a.stats.connects),
            "stream_connects": sum(a.stats.connects for a in agents),
            "stream_failures": sum(a.stats.stream_failures for a in agents),
            "stream_errors": dict(Counter(a.stats.last_error for a in agents if a.stats.last_error)),
            "manifests": {
                "held": sum(versions.values()),
                "versions": {str(v): c for v, c in sorted(versions.items())},
                "refused": sum(a.stats.manifests_refused for a in agents),
                "not_modified": sum(a.stats.not_modified for a in agents),
            },
            "events_received": sum(events.values()),
            "events_by_type": dict(events),
            "events_ignored": dict(ignored),
            "alerts_reported": dict(alerts),
            "reports_sent": sum(a.stats.records_sent for a in agents),
            "report_requests": sum(a.stats.report_requests for a in agents),
            "reports_pending": sum(len(a.store.journal) for a in agents),
            "rate_limited": sum(a.stats.rate_limited for a in agents),
            "media_downloaded": sum(a.stats.media_ok for a in agents),
            "errors": sum(a.stats.errors for a in agents),
            "elapsed_s": round(time.monotonic() - self.started_at, 3),
            "rss_mb": round(rss / 1024, 1),
            "rss_per_device_kb": round(rss / n, 1) if n else None,
        }


async def run_fleet(
    fleet: Fleet,
    *,
    duration: float | None = None,
    progress: float | None = None,
    out: TextIO = sys.stdout,
) -> dict[str, Any]:
    """Run until SIGINT/SIGTERM or `duration` seconds; print the stats as JSON and return them.

    SIGUSR1 prints the stats without stopping; `progress` prints them to stderr every so many seconds.
    """
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, done.set)
    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        loop.add_signal_handler(signal.SIGUSR1, lambda: print(json.dumps(fleet.stats()), file=out, flush=True))

    async def report_progress() -> None:
        while True:
            await asyncio.sleep(progress)
            print(json.dumps(fleet.stats()), file=sys.stderr, flush=True)
            if isinstance(fleet.observer, StatsFile):
                fleet.observer.flush()

    async def flush_stats_file() -> None:
        while True:
            await asyncio.sleep(1)
            if isinstance(fleet.observer, StatsFile):
                fleet.observer.flush()

    helpers = [asyncio.ensure_future(flush_stats_file())]
    if progress:
        helpers.append(asyncio.ensure_future(report_progress()))
    try:
        await fleet.start()
        if duration is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=max(0.0, duration - (time.monotonic() - fleet.started_at)))
        else:
            await done.wait()
        stats = fleet.stats()
    finally:
        for helper in helpers:
            helper.cancel()
        await fleet.stop()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    print(json.dumps(stats, indent=1), file=out, flush=True)
    return stats


def save_tokens(fleet: Fleet, path: Path) -> int:
    """Write the tokens the fleet enrolled with (JSON lines, the --tokens format)."""
    count = 0
    with open(path, "w", encoding="utf-8") as handle:
        for agent in fleet.agents:
            if agent is not None and agent.credentials is not None:
                c = agent.credentials
                handle.write(json.dumps({"token": c.token, "public_key": c.public_key, "device": c.device}) + "\n")
                count += 1
    path.chmod(0o600)
    return count
