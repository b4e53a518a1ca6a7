"""Group commit: the concurrent requests of a process share one transaction.

The two hot write paths (consent records, compliance webhooks) must answer only once their row is committed,
and a transaction per request makes PostgreSQL's commit (a WAL flush), the round trips and the SQL layer's
cost per statement the ceiling of the whole app. Instead, the request threads of a process (gunicorn's
gthread workers, or the threaded server of development and tests) hand their validated item to a
:class:`GroupCommit` and wait. One of them, the leader, takes every item waiting at that moment (at most
``max_batch``), calls ``write_batch`` with them, and wakes each waiting request with its own outcome.

Items that arrive while a batch is being written wait for the next one, so batches grow with the load by
themselves, and a lone request is written at once. Optionally (``gather_seconds``, see :meth:`in_flight`), a
leader that is not alone waits a moment before taking its batch, so that more items join it. When the
leader's own item is done, it hands the lead to the first waiting request and returns.

There is no writer thread. Every waiting item belongs to a request thread that waits for it, so a graceful
shutdown (gunicorn waits for the requests in flight, up to ``--graceful-timeout``) writes them all, and a
killed process loses only requests that were never answered. Nothing is started before or after a fork; a
child process starts with an empty queue (:func:`os.register_at_fork`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")

BatchWriter = Callable[[list[Item]], Sequence["Result | Exception"]]
"""Writes a batch; returns one outcome per item, in order: its result, or the exception its request raises."""


def _held_lock() -> Any:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclasses.dataclass(eq=False)
class _Pending(Generic[Item, Result]):
    """One request's item, from the moment it is queued until its batch is written."""

    item: Item
    # Held from creation until the request is woken (the cheapest wake-up there is: a bare lock).
    wake: Any = dataclasses.field(default_factory=_held_lock)
    done: bool = False
    result: Result | None = None
    error: Exception | None = None


_instances: weakref.WeakSet[GroupCommit[Any, Any]] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for instance in list(_instances):
        instance._reset()


os.register_at_fork(after_in_child=_reset_after_fork)


class GroupCommit(Generic[Item, Result]):
    """Leader-follower batching of one kind of write, for one process. Thread-safe; share one per app.

    ``failure`` builds the exception every unfinished request of a batch raises when ``write_batch`` itself
    raised: the batch's transaction failed, so none of it was stored. ``after_batch``, if given, runs in the
    leader's thread with the batch's results once its requests are woken and the lead handed on: work that
    must follow the commit but that only the leader's own request waits for (the next batch is written
    meanwhile).
    """

    def __init__(self, write_batch: BatchWriter[Item, Result], failure: Callable[[], Exception], *,
                 max_batch: int, name: str, after_batch: Callable[[list[Result]], None] | None = None,
                 gather_seconds: float = 0.0) -> None:
        self._write_batch = write_batch
        self._gather_seconds = gather_seconds
        self._after_batch = after_batch
        self._failure = failure
        self._max_batch = max_batch
        self._name = name
        self._reset()
        _instances.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Pending[Item, Result]] = []
        self._leading = False  # some thread is writing batches (or has been handed the lead)
        self._in_flight = 0  # requests inside in_flight()

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Around each whole request that may submit an item, from reading it to answering.

        With ``gather_seconds``, a leader that is not the only request in flight sleeps that long before
        taking its batch, so that the others' items join it (PostgreSQL's ``commit_delay`` and
        ``commit_siblings``, within the process): under load, a few milliseconds of latency for fewer, bigger
        commits. A lone request is written at once. A sleep rather than a wait for the others' ``submit``:
        most of them are still being read and parsed by the server, which needs the GIL this releases.
        """
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def waiting(self) -> int:
        """How many items wait for a batch (not counting the batch being written)."""
        with self._lock:
            return len(self._queue)

    def submit(self, item: Item) -> Result:
        """Write ``item`` with whatever else is waiting; return its result once the batch is done, or raise."""
        pending: _Pending[Item, Result] = _Pending(item)
        with self._lock:
            self._queue.append(pending)
            follow = self._leading
            self._leading = True
        if follow:
            pending.wake.acquire()  # until the leader (or whoever hands us the lead) releases it
        if not pending.done:  # the first of a quiet moment, or handed the lead: our item is still queued
            self._lead(pending)
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[return-value]

    def _lead(self, own: _Pending[Item, Result]) -> None:
        """Write batches until ``own`` is done, then hand the lead to the next waiting item, if any."""
        batch: list[_Pending[Item, Result]] = []
        results: list[Result] = []
        try:
            while not own.done:
                if self._gather_seconds and self._in_flight > 1:
                    time.sleep(self._gather_seconds)
                with self._lock:
                    batch = self._queue[:self._max_batch]
                    del self._queue[:self._max_batch]
                outcomes = self._write_batch([pending.item for pending in batch])
                for pending, outcome in zip(batch, outcomes, strict=True):
                    self._finish(pending, outcome)
                    if not isinstance(outcome, Exception):
                        results.append(outcome)
                batch = []
        except BaseException as exc:  # never leave a waiting request behind, whatever happened
            with self._lock:
                if own in self._queue:
                    self._queue.remove(own)
            for pending in [*batch, own]:
                if not pending.done:
                    self._finish(pending, self._failure())
            if not isinstance(exc, Exception):
                raise
            log.error("%s: batch failed: %s", self._name, type(exc).__name__)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].wake.release()  # hand over the lead
                else:
                    self._leading = False
        if self._after_batch is not None and results:
            try:
                self._after_batch(results)
            except Exception as exc:  # the batch is committed and answered; this part is best effort
                log.error("%s: after the batch: %s", self._name, type(exc).__name__)  # no text: it may hold data

    @staticmethod
    def _finish(pending: _Pending[Item, Result], outcome: Result | Exception) -> None:
        if isinstance(outcome, Exception):
            pending.error = outcome
        else:
            pending.result = outcome
        pending.done = True
        if pending.wake.locked():  # the leader's own item was never waited on
            pending.wake.release()
