"""Progress of a render: the stages the caller is told about, wall and CPU time per stage."""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Callable, Iterator

ProgressCallback = Callable[[str, float], None]

# Where each stage starts, as a fraction of the whole render (synthesis of long texts dominates with HTTP engines).
STAGES = {"synthesise": 0.0, "analyse": 0.2, "normalise": 0.3, "encode": 0.5, "store": 0.95}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (process-wide: concurrent renders add up)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class _Clock:
    """Wall time per stage in `timings`, CPU time (the tools', mostly) in `cpu`; reports progress."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self.timings: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.on_progress = on_progress
        self.reported: set[str] = set()
        self.started = (time.perf_counter(), _cpu_seconds())

    def report(self, name: str) -> None:
        """Tell the caller a stage has begun (once per stage; the normalise/encode passes may alternate)."""
        if self.on_progress is not None and name in STAGES and name not in self.reported:
            self.reported.add(name)
            self.on_progress(name, STAGES[name])

    def add(self, name: str, seconds: float) -> None:
        self.timings[name] = round(self.timings.get(name, 0.0) + seconds, 4)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.report(name)
        start, cpu = time.perf_counter(), _cpu_seconds()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)
            self.cpu[name] = round(self.cpu.get(name, 0.0) + _cpu_seconds() - cpu, 4)

    def finish(self) -> dict:
        self.timings["total"] = round(time.perf_counter() - self.started[0], 4)
        self.cpu["total"] = round(_cpu_seconds() - self.started[1], 4)
        return {"timings": self.timings, "cpu_seconds": self.cpu}
