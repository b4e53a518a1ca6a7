"""What a job needs, built without Flask: settings, a DB session, the Shopify client.

The worker process calls :func:`configure` once at start (``python -m workers``
with ``Settings.from_env()``, tests with their own settings); jobs then use
:func:`job_context`.
"""

from __future__ import annotations

import dataclasses
import logging
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import NoReturn

from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.encryption import TokenCipher
from shopify_app.errors import AppError, failure_reason
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.settings import Settings

log = logging.getLogger(__name__)

_configured: Settings | None = None


def configure(settings: Settings) -> None:
    global _configured
    _configured = settings


def settings() -> Settings:
    return _configured if _configured is not None else Settings.from_env()


@lru_cache(maxsize=4)
def _admin_client(settings: Settings) -> ShopifyAdminClient:
    return ShopifyAdminClient.from_settings(settings)


@dataclasses.dataclass(frozen=True)
class JobContext:
    settings: Settings
    session: Session
    admin: ShopifyAdminClient
    cipher: TokenCipher


@contextmanager
def job_context() -> Iterator[JobContext]:
    """A context for one job. The job commits what it wants kept; the rest is rolled back."""
    current = settings()
    session = db.get_sessionmaker(current.database_url)()
    try:
        yield JobContext(current, session, _admin_client(current), TokenCipher(current.token_encryption_key))
    finally:
        session.rollback()
        session.close()


class JobFailedError(AppError):
    """What a failed job raises for RQ, whose failed-job registry in Redis keeps its text: the job's
    :func:`failure_reason`, never the original error's text."""


def raise_job_failure(exc: Exception, what: str) -> NoReturn:
    """Log where ``exc`` happened (its traceback's frames, not its text), then raise it to RQ as
    :class:`JobFailedError`."""
    reason = failure_reason(exc)
    log.error("%s failed: %s\n%s", what, reason, "".join(traceback.format_tb(exc.__traceback__)))
    raise JobFailedError(reason) from None
