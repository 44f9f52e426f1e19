"""Report intake: one writer thread group-commits the batches of many requests in one transaction.

Each request waits for its batch's commit before it is answered, so nothing acknowledged can be lost. While a
transaction runs, new batches queue up and go into the next one: the busier the gateway, the bigger the groups.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading

from django.db import transaction

from nguon.broadcast import reports
from nguon.broadcast.gateway.db import prepare_connections

logger = logging.getLogger(__name__)

_STOP = None


class IntakeFailed(Exception):
    """The batch could not be stored (the database refused it): the device keeps it and retries."""


class Intake:
    def __init__(self, *, max_pending: int = 20000, group_records: int = 5000):
        # Batches queued or being written; past this, requests get 429. Sized for an alert: every device of a large
        # province acknowledging at once with one small batch each (the batches themselves are at most 1 MiB).
        self.max_pending = max_pending
        self.max_pending_records = 200_000  # and records, so that big batches cannot pile up without bound
        self.pending_records = 0  # touched on the event loop only
        self.group_records = group_records  # records per transaction, at most (a little more with a big batch)
        self.pending = 0  # touched on the event loop only
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

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
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
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
                self._write(group)
            for job in jobs:
                job.run()

    def _write(self, group: list) -> None:
        prepare_connections()
        try:
            reports.ingest([batch for batch, _done, _loop in group])
            failures = [None] * len(group)
        except Exception:
            # One bad batch must not cost the others: store them one by one to find it.
            logger.exception("group commit of %d report batches failed; retrying one by one", len(group))
            failures = [self._write_one(batch) for batch, _done, _loop in group]
        for (_batch, done, loop), failure in zip(group, failures, strict=True):
            loop.call_soon_threadsafe(_settle, done, failure)

    def _write_one(self, batch: reports.Batch) -> Exception | None:
        prepare_connections()
        try:
            reports.ingest([batch])
        except Exception as exc:
            logger.exception("report batch of device %s could not be stored", batch.device_id)
            return IntakeFailed(str(exc))
        return None


class _Job:
    __slots__ = ("function", "args")

    def __init__(self, function, args):
        self.function, self.args = function, args

    def run(self) -> None:
        prepare_connections()
        try:
            with transaction.atomic():
                self.function(*self.args)
        except Exception:
            logger.exception("gateway job %s failed", getattr(self.function, "__name__", self.function))


def _settle(done: asyncio.Future, failure: Exception | None) -> None:
    if done.done():  # the request went away meanwhile; its records are stored all the same
        return
    if failure is None:
        done.set_result(None)
    else:
        done.set_exception(failure)
