"""Report intake: one writer group-commits the batches of many requests in one transaction.

Each request waits for its batch's commit before it is answered, so nothing acknowledged can be lost. While a
transaction runs, new batches queue up and go into the next one: the busier the gateway, the bigger the groups.

The writing itself runs in a process of its own (`nguon/broadcast/report_writer.py`, started with the gateway), so
that the ORM's Python work for 10,000 acknowledgements does not take the interpreter lock from the event loop that
answers the devices and fans out events; a thread here collects the groups and passes them on through a pipe. With
NGUON_GATEWAY_WRITER=thread it runs in that thread instead (one process less).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import queue
import subprocess
import sys
import threading

from django.db import transaction

from nguon.broadcast import report_writer as writer
from nguon.broadcast import reports
from nguon.broadcast.gateway.db import prepare_connections

logger = logging.getLogger(__name__)

_STOP = None


class IntakeFailed(Exception):
    """The batch could not be stored (the database refused it): the device keeps it and retries."""


class Intake:
    def __init__(self, *, max_pending: int = 20000, group_records: int = 5000, mode: str | None = None):
        # Batches queued or being written; past this, requests get 429. Sized for an alert: every device of a large
        # province acknowledging at once with one small batch each (the batches themselves are at most 1 MiB).
        self.max_pending = max_pending
        self.max_pending_records = 200_000  # and records, so that big batches cannot pile up without bound
        self.pending_records = 0  # touched on the event loop only
        self.group_records = group_records  # records per transaction, at most (a little more with a big batch)
        self.pending = 0  # touched on the event loop only
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        mode = mode or os.environ.get("NGUON_GATEWAY_WRITER", "process")
        self._backend = WriterProcess() if mode == "process" else InThread()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="nguon-report-writer", daemon=True)
            self._thread.start()

    def busy(self) -> bool:
        return self.pending >= self.max_pending or self.pending_records >= self.max_pending_records

    async def submit(self, batch: reports.Batch) -> None:
        """Return once the batch is committed (its counts set); raise IntakeFailed if it could not be."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self.pending += 1
        self.pending_records += len(batch.records)
        try:
            self._queue.put((batch, done, loop))
            await done
        finally:
            self.pending -= 1
            self.pending_records -= len(batch.records)

    async def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is not None:
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join, timeout)
            self._thread = None

    def later(self, function, *args) -> None:
        """Run `function(*args)` in the writer thread, in a transaction of its own, without waiting for it: small
        writes the gateway makes (alert dispatch states) queue behind the reports instead of racing them."""
        self._queue.put(_Job(function, args))

    def _run(self) -> None:
        self._backend.prepare()
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            group, jobs, records = [], [], 0
            item = first
            while True:
                if isinstance(item, _Job):
                    jobs.append(item)
                else:
                    group.append(item)
                    records += len(item[0].records)
                if records >= self.group_records:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
            if group:
                batches = [batch for batch, _done, _loop in group]
                failures = self._backend.write(batches)
                for (_batch, done, loop), failure in zip(group, failures, strict=True):
                    loop.call_soon_threadsafe(_settle, done, None if failure is None else IntakeFailed(failure))
            if jobs:
                self._backend.run_jobs([(job.function, job.args) for job in jobs])
        self._backend.close()


class _Job:
    __slots__ = ("function", "args")

    def __init__(self, function, args):
        self.function, self.args = function, args


def write_group(batches: list[reports.Batch]) -> list[str | None]:
    """Store the batches in one transaction (their counts set); None per batch stored, else why it was not."""
    prepare_connections()
    try:
        reports.ingest(batches)
        return [None] * len(batches)
    except Exception:
        # One bad batch must not cost the others: store them one by one to find it.
        logger.exception("group commit of %d report batches failed; retrying one by one", len(batches))
        return [_write_one(batch) for batch in batches]


def _write_one(batch: reports.Batch) -> str | None:
    prepare_connections()
    try:
        reports.ingest([batch])
    except Exception as exc:
        logger.exception("report batch of device %s could not be stored", batch.device_id)
        return str(exc) or type(exc).__name__
    return None


def run_job(function, args) -> None:
    """A `later` job, in a transaction of its own; a failure is logged, not raised (nobody waits for it)."""
    prepare_connections()
    try:
        with transaction.atomic():
            function(*args)
    except Exception:
        logger.exception("gateway job %s failed", getattr(function, "__name__", function))


class InThread:
    """The writing done in the intake's own thread (NGUON_GATEWAY_WRITER=thread)."""

    def prepare(self):
        pass

    def write(self, batches):
        return write_group(batches)

    def run_jobs(self, jobs):
        for function, args in jobs:
            run_job(function, args)

    def close(self):
        pass


class WriterProcess:
    """The writing done by `python -m nguon.broadcast.report_writer`, one group at a time over a pipe.

    A writer that dies (or cannot be started) fails the group it held: those devices get 503 and send again; the
    next group starts a new one. Jobs it held are lost like a crashed thread's would be (they only note `sent`).
    """

    def __init__(self):
        self._child: subprocess.Popen | None = None

    def prepare(self):
        """Start the process now, not at the first acknowledgement (Django takes seconds to set up)."""
        try:
            self._ensure()
        except Exception:
            logger.exception("the report writer process did not start; trying again at the first batch")
            self._kill()

    def _ensure(self) -> subprocess.Popen:
        if self._child is None or self._child.poll() is not None:
            self._child = subprocess.Popen(
                [sys.executable, "-m", "nguon.broadcast.report_writer"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=os.environ.copy(),
            )
            if writer.receive(self._child.stdout) != writer.READY:
                raise OSError("the report writer did not start")
        return self._child

    def _call(self, message):
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)  # before anything is written
        try:
            child = self._ensure()
            writer.send_bytes(child.stdin, data)
            return writer.receive(child.stdout)
        except Exception as exc:
            logger.error("the report writer process failed (%s); starting a new one for the next group", exc)
            self._kill()
            raise

    def write(self, batches):
        try:
            answers = self._call(("write", batches))
        except Exception as exc:
            return [f"writer process: {exc}"] * len(batches)
        for batch, (_failure, counts) in zip(batches, answers, strict=True):
            batch.stored, batch.duplicates, batch.device_gone = counts
        return [failure for failure, _counts in answers]

    def run_jobs(self, jobs):
        try:
            self._call(("jobs", jobs))
        except Exception:
            logger.exception("gateway jobs could not be run by the writer process")

    def _kill(self):
        if self._child is not None:
            with contextlib.suppress(OSError):
                self._child.kill()
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                self._child.wait(5)
            self._child = None

    def close(self):
        if self._child is not None and self._child.poll() is None:
            with contextlib.suppress(OSError):
                self._child.stdin.close()  # the writer ends at end of input, once the last group is written
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(30)
        self._kill()


def _settle(done: asyncio.Future, failure: Exception | None) -> None:
    if done.done():  # the request went away meanwhile; its records are stored all the same
        return
    if failure is None:
        done.set_result(None)
    else:
        done.set_exception(failure)
