"""Group commit for consent records: the concurrent requests of a process share one INSERT and one COMMIT.

Every storefront visitor's choice comes through ``POST /proxy/consent``, so a transaction per record would
make PostgreSQL's commit (a WAL flush), a few round trips and the SQL layer's cost per statement the ceiling
of the whole app. Instead, the request threads of a process (gunicorn's gthread workers, or the threaded
server of development and tests) hand their validated record to the process's :class:`ConsentWriter` and
wait. One of them, the leader, takes every record waiting at that moment (at most ``max_batch``) and:

1. counts them against the per-visitor and per-shop rate limits in Redis, in one round trip
   (:meth:`FixedWindowLimiter.hit_many`);
2. writes the allowed ones in one transaction: on PostgreSQL one statement, whose one parameter is a JSON
   array of the rows, that finds each shop by its domain and inserts every row, in autocommit mode (so it
   is committed, WAL flushed, when it returns: one round trip for the whole batch); elsewhere (SQLite) one
   SELECT of the shops and one executemany INSERT, then COMMIT;
3. wakes each waiting request with its own outcome: stored (the view answers 204), rate limited (429),
   unknown shop (404), or :class:`ConsentWriteFailed` (503, ``Retry-After``) when the transaction failed:
   then nothing of the batch was stored, and the storefront sends the choice again.

Records that arrive while a batch is being written wait for the next one, so batches grow with the load by
themselves, and a lone request is written at once: there is no timer and no added latency. When the
leader's own record is done, it hands the lead to the first waiting request and returns.

There is no writer thread. Every waiting record belongs to a request thread that waits for it, so a
graceful shutdown (gunicorn waits for the requests in flight, up to ``--graceful-timeout``) writes them all,
and a killed process loses only requests that were never answered. Nothing is started before or after a
fork; a child process starts with an empty queue (:func:`os.register_at_fork`).

Durability is unchanged: a 204 is sent only after the COMMIT of the batch holding the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from shopify_app.db import SQLITE_BEGIN_OPTION
from shopify_app.errors import AppError, NotFoundError
from shopify_app.models import ConsentRecord, Shop
from shopify_app.services import consent
from shopify_app.services.consent import ConsentInput
from shopify_app.services.rate_limits import FixedWindowLimiter, RateLimitExceeded

log = logging.getLogger(__name__)

MAX_BATCH = 500

COLUMNS = ("visitor_id", "customer_id", "action", "analytics", "marketing", "preferences", "sale_of_data", "gpc",
           "revision", "text_hash", "language", "ip_truncated", "user_agent", "recorded_at")
_PG_TYPES = ("varchar", "bigint", "varchar", "boolean", "boolean", "boolean", "boolean", "boolean", "integer",
             "varchar", "varchar", "varchar", "varchar", "timestamp")

# The whole batch is one statement with one parameter, a JSON array of rows (json.dumps in C is far cheaper
# than binding 15 parameters a row), and the same text for any batch size, so psycopg prepares it once. It
# finds the batch's shops by domain, inserts the rows of those it found and returns their domains (the other
# rows' shops are unknown). Run in autocommit mode, it is its own transaction, committed before it returns.
# The FOREIGN KEY still guards the shop: one erased meanwhile fails the statement (see ConsentWriter._write).
_PG_INSERT = (
    "WITH v AS (SELECT * FROM json_to_recordset(%s::json) AS v(shop varchar, "
    + ", ".join(f"{c} {t}" for c, t in zip(COLUMNS, _PG_TYPES, strict=True)) + ")), "
    "s AS (SELECT id, domain FROM shops WHERE domain IN (SELECT shop FROM v)), "
    "ins AS (INSERT INTO consent_records (shop_id, " + ", ".join(COLUMNS) + ") "
    "SELECT s.id, " + ", ".join(f"v.{c}" for c in COLUMNS) + " FROM v JOIN s ON s.domain = v.shop) "
    "SELECT domain FROM s"
)


class ConsentWriteFailed(AppError):
    """The batch holding this record could not be committed: nothing of it was stored; send it again."""

    status_code = 503


def _held_lock() -> Any:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclasses.dataclass(eq=False)
class _Pending:
    """One request's record, from the moment it is queued until its batch is written."""

    shop_domain: str
    visitor_id: str
    row: dict[str, Any]  # the columns, and "shop": the domain
    # Held from creation until the request is woken (the cheapest wake-up there is: a bare lock).
    wake: Any = dataclasses.field(default_factory=_held_lock)
    lead: bool = False  # woken to lead, not because the record is done
    done: bool = False
    error: Exception | None = None


def _row(shop_domain: str, record: ConsentInput, recorded_at: dt.datetime) -> dict[str, Any]:
    c = record.choices
    return {"shop": shop_domain, "visitor_id": record.visitor_id, "customer_id": record.customer_id,
            "action": record.action, "analytics": c.analytics, "marketing": c.marketing, "preferences": c.preferences,
            "sale_of_data": c.sale_of_data, "gpc": record.gpc, "revision": record.revision,
            "text_hash": record.text_hash, "language": record.language, "ip_truncated": record.ip_truncated,
            "user_agent": record.user_agent,
            "recorded_at": recorded_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat()}


_writers: weakref.WeakSet[ConsentWriter] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for writer in list(_writers):
        writer._reset()


os.register_at_fork(after_in_child=_reset_after_fork)


class ConsentWriter:
    """Group commit of consent records for one process and database. Thread-safe; share one per app."""

    def __init__(self, engine: Engine, limiter: FixedWindowLimiter | None, *, max_batch: int = MAX_BATCH,
                 autocommit_engine: Engine | None = None) -> None:
        """``engine``: the app's; on PostgreSQL, ``autocommit_engine`` (same database) writes the batches."""
        self._engine = engine
        self._limiter = limiter
        self._max_batch = max_batch
        self._autocommit_engine = autocommit_engine if engine.dialect.name == "postgresql" else None
        self._reset()
        _writers.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leading = False  # some thread is writing batches (or has been handed the lead)

    def waiting(self) -> int:
        """How many records wait for a batch (not counting the batch being written)."""
        with self._lock:
            return len(self._queue)

    def submit(self, shop_domain: str, record: ConsentInput, *, recorded_at: dt.datetime | None = None) -> None:
        """Store one record; return once it is committed.

        Raises :class:`RateLimitExceeded`, :class:`NotFoundError` (unknown shop) or
        :class:`ConsentWriteFailed`; in each case the record was not stored.
        """
        row = _row(shop_domain, record, recorded_at or dt.datetime.now(dt.UTC))
        item = _Pending(shop_domain, record.visitor_id, row)
        with self._lock:
            self._queue.append(item)
            follow = self._leading
            self._leading = True
        if follow:
            item.wake.acquire()  # until the leader (or whoever hands us the lead) releases it
            if not item.done:  # handed the lead: our record is still queued
                self._lead(item)
        else:
            self._lead(item)
        if item.error is not None:
            raise item.error

    def _lead(self, own: _Pending) -> None:
        """Write batches until ``own`` is done, then hand the lead to the next waiting record, if any."""
        batch: list[_Pending] = []
        try:
            while not own.done:
                with self._lock:
                    batch = self._queue[:self._max_batch]
                    del self._queue[:self._max_batch]
                self._write(batch)
                batch = []
        except BaseException as exc:  # never leave a waiting request behind, whatever happened
            with self._lock:
                if own in self._queue:
                    self._queue.remove(own)
            for item in [*batch, own]:
                if not item.done:
                    self._finish(item, ConsentWriteFailed("The record could not be stored; try again."))
            if not isinstance(exc, Exception):
                raise
            log.error("Consent writer failed: %s", type(exc).__name__)
        finally:
            with self._lock:
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    successor.wake.release()
                else:
                    self._leading = False

    @staticmethod
    def _finish(item: _Pending, error: Exception | None) -> None:
        item.error = error
        item.done = True
        if item.wake.locked():  # the leader's own item was never waited on
            item.wake.release()

    def _write(self, batch: list[_Pending]) -> None:
        """Rate limits, then one transaction for the allowed records; every item of ``batch`` ends done."""
        verdicts: Sequence[RateLimitExceeded | None] = [None] * len(batch)
        if self._limiter is not None:
            verdicts = self._limiter.hit_many([
                ((consent.VISITOR_LIMIT, consent.visitor_key(item.shop_domain, item.visitor_id)),
                 (consent.SHOP_LIMIT, item.shop_domain))
                for item in batch])
        allowed = []
        for item, verdict in zip(batch, verdicts, strict=True):
            if verdict is not None:
                self._finish(item, verdict)
            else:
                allowed.append(item)
        if not allowed:
            return
        try:
            try:
                found = self._write_rows(allowed)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # A pooled connection the server had closed (a database restart, an idle timeout): the pool
                # is rebuilt, and the batch tried once more on a new connection. (Had the connection died
                # after the COMMIT, the records would be stored twice, as they would be when the storefront
                # sends them again after a 503; proofs are append-only, a duplicate changes no outcome.)
                found = self._write_rows(allowed)
        except DBAPIError as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated or len(allowed) == 1:
                log.error("Consent records not stored (%d): %s", len(allowed), type(exc.orig or exc).__name__)
                for item in allowed:
                    self._finish(item, ConsentWriteFailed("The record could not be stored; try again."))
                return
            # Not the database's availability but one row (or a shop erased meanwhile): write each record
            # on its own, so that only the culprit fails. Already counted against the rate limits.
            for item in allowed:
                try:
                    found = self._write_rows([item])
                except DBAPIError as one:
                    log.error("Consent record not stored: %s", type(one.orig or one).__name__)
                    self._finish(item, ConsentWriteFailed("The record could not be stored; try again."))
                else:
                    self._finish(item, None if item.shop_domain in found else NotFoundError("Unknown shop."))
            return
        for item in allowed:
            self._finish(item, None if item.shop_domain in found else NotFoundError("Unknown shop."))

    def _write_rows(self, items: list[_Pending]) -> set[str]:
        """Insert the records of known shops, committed on return; return the shop domains that were found."""
        if self._autocommit_engine is not None:
            payload = json.dumps([item.row for item in items], ensure_ascii=False, separators=(",", ":"))
            with self._autocommit_engine.connect() as connection:
                return {domain for (domain,) in connection.exec_driver_sql(_PG_INSERT, (payload,))}
        with self._engine.connect() as connection, \
                connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}).begin():
            return self._insert_generic(connection, items)

    @staticmethod
    def _insert_generic(connection: Connection, items: list[_Pending]) -> set[str]:
        """Any database (SQLite): the shops, then an executemany INSERT, in the caller's transaction."""
        domains = {item.shop_domain for item in items}
        shop_ids = dict(connection.execute(select(Shop.domain, Shop.id).where(Shop.domain.in_(domains))).all())
        rows = []
        for item in items:
            shop_id = shop_ids.get(item.shop_domain)
            if shop_id is not None:
                values = {k: v for k, v in item.row.items() if k != "shop"}
                values["recorded_at"] = dt.datetime.fromisoformat(values["recorded_at"]).replace(tzinfo=dt.UTC)
                rows.append({"shop_id": shop_id, **values})
        if rows:
            connection.execute(insert(ConsentRecord.__table__), rows)
        return set(shop_ids)
