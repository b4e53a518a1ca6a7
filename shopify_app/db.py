"""The database boundary: the only module that creates engines and sessions.

The web app gets one session per request (``session()``), closed at teardown.
Workers and scripts use :func:`session_scope`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from flask import Flask, g
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

EXTENSION_KEY = "db.sessionmaker"
SQLITE_BEGIN_OPTION = "sqlite_begin"
HIDE_PARAMETERS = True
"""SQLAlchemy's error texts leave out the statement's values (shoppers' emails, phones and ids), which would
reach logs. PostgreSQL's own message may still quote some (``DETAIL: Key (…)=(…)``), so jobs record only an
unexpected error's type (``errors.failure_reason``)."""


@lru_cache(maxsize=8)
def get_engine(database_url: str) -> Engine:
    """One pooled engine per URL and process (gunicorn workers each build their own after fork)."""
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"timeout": 5}, hide_parameters=HIDE_PARAMETERS)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # No pre-ping: it costs a round trip per request. After a database restart the first
    # query of each process fails (503, so Shopify delivers again) and the pool is rebuilt.
    return create_engine(database_url, pool_size=5, max_overflow=10, pool_recycle=1800, hide_parameters=HIDE_PARAMETERS)


WRITE_LOCK_TIMEOUT_MS = 3000
WRITE_STATEMENT_TIMEOUT_MS = 4000
"""For the writes that someone waits on (a webhook delivery: Shopify gives up after 5 s; a shopper's consent
post): waiting longer for a lock (a shop row held by ``shop/redact``'s erasure, say) is worse than failing,
since then nothing is stored and the sender tries again after the 503. The one-statement writes get them from
their engine (:func:`get_autocommit_engine`), a transaction from :func:`limit_write_waits`."""


def limit_write_waits(session: Session) -> None:
    """Give up on the session's next transaction's lock waits and statements after the timeouts above.

    PostgreSQL: transaction-local settings (``set_config(..., true)``), so the pooled connection goes back
    unchanged; this begins the transaction. SQLite: nothing (its busy timeout already bounds the wait for the
    write lock, and :func:`begin_write` must still come first).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT set_config('lock_timeout', :lock, true), "
                             "set_config('statement_timeout', :statement, true)"),
                        {"lock": f"{WRITE_LOCK_TIMEOUT_MS}ms", "statement": f"{WRITE_STATEMENT_TIMEOUT_MS}ms"})


@lru_cache(maxsize=8)
def get_autocommit_engine(database_url: str) -> Engine:
    """PostgreSQL, each statement its own transaction: committed (WAL flushed) by the time it returns.

    For a unit of work that is one statement (the batches of consent records and of webhook deliveries):
    no BEGIN or COMMIT round trip. A small pool of its own, so the request sessions' pool is left alone; no
    rollback when a connection goes back to it (there is no transaction to end). Its statements give up
    after the timeouts above.
    """
    options = f"-c lock_timeout={WRITE_LOCK_TIMEOUT_MS} -c statement_timeout={WRITE_STATEMENT_TIMEOUT_MS}"
    return create_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=2, pool_recycle=1800,
                         pool_reset_on_return=None, connect_args={"options": options}, hide_parameters=HIDE_PARAMETERS)


def autocommit_engine_for(database_url: str) -> Engine | None:
    """:func:`get_autocommit_engine` on PostgreSQL; None elsewhere (the one-statement writes are PostgreSQL's)."""
    return get_autocommit_engine(database_url) if database_url.startswith("postgresql") else None


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # pysqlite's own transaction handling breaks SAVEPOINTs; we take it over
    # (SQLAlchemy's documented recipe) and begin transactions ourselves below.
    dbapi_connection.isolation_level = None
    # WAL lets the web processes read while a worker writes; the busy timeout
    # makes concurrent writers wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection) -> None:  # type: ignore[no-untyped-def]
    # Reads begin DEFERRED so they never block anyone (WAL). Writers that read
    # first ask for IMMEDIATE (see begin_write), so a concurrent commit cannot
    # make their write fail half-way with SQLITE_BUSY_SNAPSHOT.
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def begin_write(session: Session) -> None:
    """Start the session's transaction as a writer. Call first in a read-then-write unit of work.

    On SQLite this takes the write lock up front (waiting up to the busy timeout);
    on PostgreSQL it changes nothing.
    """
    if not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})


@lru_cache(maxsize=32)
def _insert_unless_exists(dialect: str, table: Any, unique: str) -> Any:
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    return insert(table).on_conflict_do_nothing(index_elements=[unique]).returning(table.c[unique])


def insert_many_unless_exist(session: Session, model: type[Any], rows: list[dict[str, Any]], *,
                             unique: str) -> set[Any]:
    """INSERT … ON CONFLICT (unique) DO NOTHING for many rows (one statement, or a few for big batches): the
    ``unique`` values it inserted. One statement object per table, so SQLAlchemy compiles it once."""
    if not rows:
        return set()
    statement = _insert_unless_exists(session.get_bind().dialect.name, model.__table__, unique)
    return set(session.execute(statement, rows).scalars())


def get_sessionmaker(database_url: str) -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(database_url), expire_on_commit=False)


@contextmanager
def session_scope(database_url: str) -> Iterator[Session]:
    """A session for one unit of work outside a request: commit on success, roll back on error."""
    session = get_sessionmaker(database_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = get_sessionmaker(app.config["SETTINGS"].database_url)
    app.teardown_appcontext(_close_session)


def session() -> Session:
    """The current request's session, opened on first use."""
    if "db_session" not in g:
        from flask import current_app

        g.db_session = current_app.extensions[EXTENSION_KEY]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    db_session = g.pop("db_session", None)
    if db_session is not None:
        db_session.close()
