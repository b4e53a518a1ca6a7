"""The app's database engines as tests watch them: statements run on the pooled engine and, on PostgreSQL,
on the autocommit engine of the one-statement batch writers (consent records, webhook deliveries)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event

from shopify_app import db


def app_engines(database_url: str) -> list[Engine]:
    return [engine for engine in (db.get_engine(database_url), db.autocommit_engine_for(database_url)) if engine]


@contextmanager
def listening(database_url: str, name: str, listener: Callable[..., None]) -> Iterator[None]:
    """``listener`` on the event ``name`` of every engine of the app, for the duration of the block."""
    engines = app_engines(database_url)
    for engine in engines:
        event.listen(engine, name, listener)
    try:
        yield
    finally:
        for engine in engines:
            event.remove(engine, name, listener)
