"""Group commit for compliance webhooks: concurrent deliveries share one transaction.

Shopify needs a 200 only once a delivery is committed, and it may send many at once (a merchant's bulk
erasure, a backlog after an outage). A transaction per delivery made PostgreSQL's commit and the ORM's cost
per statement the ceiling of the intake (bench/README.md, webhook intake). So the request threads of a
process hand their verified, parsed delivery to the process's :class:`WebhookIntake` and wait
(``shopify_app/group_commit.py``: leader-follower, no writer thread). The leader:

1. if other deliveries are in flight in the process, waits :data:`GATHER_SECONDS` for them to join (each
   statement has a fixed cost: its execution, the commit's WAL flush, a round trip, the SQL layer's work),
   then stores every waiting delivery and the requests they create in one transaction: on PostgreSQL usually one
   statement in autocommit mode (:mod:`services.delivery_statement`), otherwise (SQLite, and the rarer
   batches) a fixed number of statements whatever the batch size (:func:`privacy_requests.accept_deliveries`),
   then COMMIT;
2. wakes each request with its outcome (200 once committed). If the transaction failed, nothing of the
   batch was stored and each request raises :class:`IntakeUnavailable` (503: Shopify delivers again);
3. then, while the next leader writes the next batch, queues the jobs of the batch's requests (one Redis
   pipeline for those it created, :func:`queue.enqueue_new_privacy_requests`). If Redis is
   down that is only logged, and the sweeper queues them later. The leader's own answer waits for this
   step (at most one Redis timeout); the other requests' answers do not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shopify_app import db, queue
from shopify_app.errors import AppError
from shopify_app.group_commit import GroupCommit
from shopify_app.platform.webhooks import WebhookDelivery
from shopify_app.services import delivery_statement, privacy_requests
from shopify_app.services.privacy_requests import AcceptedDelivery, ConcurrentDelivery
from shopify_app.settings import Settings

log = logging.getLogger(__name__)

MAX_BATCH = 200
GATHER_SECONDS = 0.002
"""A leader's wait for the deliveries in flight beside it: 2 ms of latency under load, none for a lone one.
Fewer commits matter most to PostgreSQL, which every web machine shares (bench/README.md, webhook intake)."""
CONCURRENT_RETRIES = 3

Outcome = AcceptedDelivery | Exception


class IntakeUnavailable(AppError):
    """The batch holding this delivery could not be committed: nothing of it was stored."""

    status_code = 503


def _unavailable() -> IntakeUnavailable:
    return IntakeUnavailable("Temporarily unavailable.")


class WebhookIntake:
    """Group commit of webhook deliveries for one process. Thread-safe; share one per app."""

    def __init__(self, new_session: Callable[[], Session], redis: Redis, settings: Settings, *,
                 max_batch: int = MAX_BATCH, gather_seconds: float = GATHER_SECONDS,
                 autocommit_engine: Engine | None = None) -> None:
        """``autocommit_engine``: on PostgreSQL, the same database in autocommit mode, for the one-statement
        batches (:func:`db.autocommit_engine_for`)."""
        self._new_session = new_session
        self._autocommit_engine = autocommit_engine
        self._redis = redis
        self._settings = settings
        self._group: GroupCommit[WebhookDelivery, AcceptedDelivery] = GroupCommit(
            self._write, _unavailable, max_batch=max_batch, name="webhook intake", after_batch=self._queue_jobs,
            gather_seconds=gather_seconds)

    def in_flight(self) -> AbstractContextManager[None]:
        """Around each whole webhook request, from reading it to answering (:meth:`GroupCommit.in_flight`)."""
        return self._group.in_flight()

    def waiting(self) -> int:
        return self._group.waiting()

    def submit(self, delivery: WebhookDelivery) -> AcceptedDelivery:
        """Store one delivery; return once it is committed (the batch's leader then queues its job).

        Raises :class:`IntakeUnavailable` if it could not be stored.
        """
        return self._group.submit(delivery)

    def _write(self, batch: list[WebhookDelivery]) -> list[Outcome]:
        try:
            outcomes: list[Outcome] = list(self._accept(batch))
        except DBAPIError as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated or len(batch) == 1:
                log.error("Webhook deliveries not stored (%d): %s", len(batch), type(exc.orig or exc).__name__)
                return [_unavailable() for _ in batch]
            # Not the database's availability but one delivery's data: store each on its own, so that only
            # the culprit fails (and is delivered again by Shopify).
            outcomes = []
            for delivery in batch:
                try:
                    outcomes.extend(self._accept([delivery]))
                except Exception as one:  # noqa: BLE001 (the others, committed one by one, must still get their 200)
                    # The type only: a database error's text carries the row's values (emails, phones).
                    log.error("Webhook delivery not stored: %s", type(one).__name__)
                    outcomes.append(_unavailable())
        return outcomes

    def _accept(self, batch: list[WebhookDelivery]) -> list[AcceptedDelivery]:
        """One transaction, committed on return. Tried again on a connection the server had closed (a database
        restart; had the COMMIT gone through, the retry finds the deliveries stored, answers 200 as for
        redeliveries, and the sweeper queues their jobs), and when another process stored one of the webhook
        ids first."""
        reconnected = False
        concurrent = 0
        while True:
            try:
                return self._accept_once(batch)
            except ConcurrentDelivery:
                concurrent += 1
                if concurrent > CONCURRENT_RETRIES:
                    raise
            except DBAPIError as exc:
                if not exc.connection_invalidated or reconnected:
                    raise
                reconnected = True

    def _accept_once(self, batch: list[WebhookDelivery]) -> list[AcceptedDelivery]:
        try:
            if self._autocommit_engine is not None:
                with self._autocommit_engine.connect() as connection:
                    accepted = delivery_statement.accept_deliveries(connection, batch)
                if accepted is not None:
                    return accepted
            with self._new_session() as session:  # closing it rolls back whatever was not committed
                # The process's other deliveries wait behind this batch: not for as long as a row stays held (each
                # lock wait gives up after db.WRITE_LOCK_TIMEOUT_MS; then 503, and Shopify delivers again).
                db.limit_write_waits(session)
                return privacy_requests.accept_deliveries(session, batch)
        except DBAPIError as exc:
            if privacy_requests.raced_on_a_data_request(exc):
                raise ConcurrentDelivery() from exc
            raise

    def _queue_jobs(self, accepted: list[AcceptedDelivery]) -> None:
        """After the commit, the jobs of the batch's requests: those created now in one pipeline, the others
        (deliveries that repeat an existing request) one by one, after a look at their job. Both go through
        RQ's atomic unique enqueue, as the sweeper may queue the same request meanwhile. A Redis error leaves
        the rest to the sweeper, so an outage costs this thread one timeout, not one per delivery."""
        requests = [a for a in accepted if not a.duplicate and a.privacy_request_id is not None and a.kind]
        try:
            queue.enqueue_new_privacy_requests(self._redis, self._settings,
                                               [(a.privacy_request_id, a.kind) for a in requests if a.created])
            for a in requests:
                if not a.created:
                    queue.enqueue_privacy_request(self._redis, self._settings, a.privacy_request_id, a.kind)
        except RedisError as exc:
            log.warning("Redis unavailable (%s); privacy requests of this batch left for the sweeper",
                        type(exc).__name__)
