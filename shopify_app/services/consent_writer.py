"""Group commit for consent records: the concurrent requests of a process share one INSERT and one COMMIT.

Every storefront visitor's choice comes through ``POST /proxy/consent``. The request threads of a process hand
their validated record to the process's :class:`ConsentWriter` and wait (``shopify_app/group_commit.py``: the
leader-follower batching, no timer, no writer thread). The leader takes every record waiting at that moment
and:

1. counts them against the per-visitor and per-shop rate limits in Redis, in one round trip
   (:meth:`FixedWindowLimiter.hit_many`);
2. writes the allowed ones in one transaction: on PostgreSQL one statement, whose one parameter is a JSON
   array of the rows, that finds each shop by its domain and inserts every row, in autocommit mode (so it
   is committed, WAL flushed, when it returns: one round trip for the whole batch); elsewhere (SQLite) one
   SELECT of the shops and one executemany INSERT, then COMMIT;
3. gives each waiting request its own outcome: stored (the view answers 204), rate limited (429),
   unknown shop (404), or :class:`ConsentWriteFailed` (503, ``Retry-After``) when the transaction failed:
   then nothing of the batch was stored, and the storefront sends the choice again.

Durability is unchanged: a 204 is sent only after the COMMIT of the batch holding the record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from shopify_app.db import SQLITE_BEGIN_OPTION
from shopify_app.errors import AppError, NotFoundError
from shopify_app.group_commit import GroupCommit
from shopify_app.models import ConsentRecord, Shop
from shopify_app.services import consent
from shopify_app.services.consent import ConsentInput
from shopify_app.services.rate_limits import FixedWindowLimiter

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


@dataclasses.dataclass(frozen=True)
class _Record:
    """One request's record as the batch writes it."""

    shop_domain: str
    visitor_id: str
    row: dict[str, Any]  # the columns, and "shop": the domain


Outcome = None | Exception
"""Per record: None once stored, or the exception its request raises."""


def _row(shop_domain: str, record: ConsentInput, recorded_at: dt.datetime) -> dict[str, Any]:
    c = record.choices
    return {"shop": shop_domain, "visitor_id": record.visitor_id, "customer_id": record.customer_id,
            "action": record.action, "analytics": c.analytics, "marketing": c.marketing, "preferences": c.preferences,
            "sale_of_data": c.sale_of_data, "gpc": record.gpc, "revision": record.revision,
            "text_hash": record.text_hash, "language": record.language, "ip_truncated": record.ip_truncated,
            "user_agent": record.user_agent,
            "recorded_at": recorded_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat()}


def _write_failed() -> ConsentWriteFailed:
    return ConsentWriteFailed("The record could not be stored; try again.")


def _stored_or_unknown(item: _Record, found_domains: set[str]) -> Outcome:
    return None if item.shop_domain in found_domains else NotFoundError("Unknown shop.")


class ConsentWriter:
    """Group commit of consent records for one process and database. Thread-safe; share one per app."""

    def __init__(self, engine: Engine, limiter: FixedWindowLimiter | None, *, max_batch: int = MAX_BATCH,
                 autocommit_engine: Engine | None = None) -> None:
        """``engine``: the app's; on PostgreSQL, ``autocommit_engine`` (same database) writes the batches."""
        self._engine = engine
        self._limiter = limiter
        self._autocommit_engine = autocommit_engine if engine.dialect.name == "postgresql" else None
        self._group: GroupCommit[_Record, None] = GroupCommit(
            self._write, _write_failed, max_batch=max_batch, name="consent writer")

    def waiting(self) -> int:
        """How many records wait for a batch (not counting the batch being written)."""
        return self._group.waiting()

    def submit(self, shop_domain: str, record: ConsentInput, *, recorded_at: dt.datetime | None = None) -> None:
        """Store one record; return once it is committed.

        Raises :class:`RateLimitExceeded`, :class:`NotFoundError` (unknown shop) or
        :class:`ConsentWriteFailed`; in each case the record was not stored.
        """
        row = _row(shop_domain, record, recorded_at or dt.datetime.now(dt.UTC))
        self._group.submit(_Record(shop_domain, record.visitor_id, row))

    def _write(self, batch: list[_Record]) -> list[Outcome]:
        """Rate limits, then one transaction for the allowed records; one outcome per record of ``batch``."""
        outcomes: list[Outcome] = [None] * len(batch)
        if self._limiter is not None:
            outcomes = list(self._limiter.hit_many([
                ((consent.VISITOR_LIMIT, consent.visitor_key(item.shop_domain, item.visitor_id)),
                 (consent.SHOP_LIMIT, item.shop_domain))
                for item in batch]))
        allowed = [index for index, verdict in enumerate(outcomes) if verdict is None]
        if not allowed:
            return outcomes
        try:
            try:
                found = self._write_rows([batch[i] for i in allowed])
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    raise
                # A pooled connection the server had closed (a database restart, an idle timeout): the pool
                # is rebuilt, and the batch tried once more on a new connection. (Had the connection died
                # after the COMMIT, the records would be stored twice, as they would be when the storefront
                # sends them again after a 503; proofs are append-only, a duplicate changes no outcome.)
                found = self._write_rows([batch[i] for i in allowed])
        except DBAPIError as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated or len(allowed) == 1:
                log.error("Consent records not stored (%d): %s", len(allowed), type(exc.orig or exc).__name__)
                for i in allowed:
                    outcomes[i] = _write_failed()
                return outcomes
            # Not the database's availability but one row (or a shop erased meanwhile): write each record
            # on its own, so that only the culprit fails. Already counted against the rate limits.
            for i in allowed:
                try:
                    found = self._write_rows([batch[i]])
                except DBAPIError as one:
                    log.error("Consent record not stored: %s", type(one.orig or one).__name__)
                    outcomes[i] = _write_failed()
                else:
                    outcomes[i] = _stored_or_unknown(batch[i], found)
            return outcomes
        for i in allowed:
            outcomes[i] = _stored_or_unknown(batch[i], found)
        return outcomes

    def _write_rows(self, items: list[_Record]) -> set[str]:
        """Insert the records of known shops, committed on return; return the shop domains that were found."""
        if self._autocommit_engine is not None:
            payload = json.dumps([item.row for item in items], ensure_ascii=False, separators=(",", ":"))
            with self._autocommit_engine.connect() as connection:
                return {domain for (domain,) in connection.exec_driver_sql(_PG_INSERT, (payload,))}
        with self._engine.connect() as connection, \
                connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}).begin():
            return self._insert_generic(connection, items)

    @staticmethod
    def _insert_generic(connection: Connection, items: list[_Record]) -> set[str]:
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
