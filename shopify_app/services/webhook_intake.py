"""Group commit for compliance webhooks: concurrent deliveries share one transaction.

Shopify needs a 200 only once a delivery is committed, and it may send many at once (a merchant's bulk
erasure, a backlog after an outage). A transaction per delivery made PostgreSQL's commit and the ORM's cost
per statement the ceiling of the intake (bench/README.md, webhook intake). So the request threads of a
process hand their verified, parsed delivery to the process's :class:`WebhookIntake` and wait
(``shopify_app/group_commit.py``: leader-follower, no timer, no writer thread). The leader:

1. stores every waiting delivery and the requests they create in one transaction, with a fixed number of
   statements whatever the batch size (:func:`privacy_requests.accept_deliveries`), and commits;
2. wakes each request with its outcome (200 once committed). If the transaction failed, nothing of the
   batch was stored and each request raises :class:`IntakeUnavailable` (503: Shopify delivers again);
3. then, while the next leader writes the next batch, queues the jobs of the batch's requests. If Redis is
   down that is only logged, and the sweeper queues them later. The leader's own answer waits for this
   step (at most one Redis timeout); the other requests' answers do not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from shopify_app import queue
from shopify_app.errors import AppError
from shopify_app.group_commit import GroupCommit
from shopify_app.platform.webhooks import WebhookDelivery
from shopify_app.services import privacy_requests
from shopify_app.services.privacy_requests import AcceptedDelivery, ConcurrentDelivery
from shopify_app.settings import Settings

log = logging.getLogger(__name__)

MAX_BATCH = 200
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
                 max_batch: int = MAX_BATCH) -> None:
        self._new_session = new_session
        self._redis = redis
        self._settings = settings
        self._group: GroupCommit[WebhookDelivery, AcceptedDelivery] = GroupCommit(
            self._write, _unavailable, max_batch=max_batch, name="webhook intake", after_batch=self._queue_jobs)

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
            session = self._new_session()
            try:
                return privacy_requests.accept_deliveries(session, batch)
            except ConcurrentDelivery:
                session.rollback()
                concurrent += 1
                if concurrent > CONCURRENT_RETRIES:
                    raise
            except DBAPIError as exc:
                session.rollback()
                if not exc.connection_invalidated or reconnected:
                    raise
                reconnected = True
            finally:
                session.close()

    def _queue_jobs(self, accepted: list[AcceptedDelivery]) -> None:
        """After the commit, the jobs of the batch's requests (RQ's atomic unique enqueue: the sweeper may queue
        the same request meanwhile). At the first Redis error the rest are left to the sweeper, so an outage
        costs this thread one timeout, not one per delivery."""
        for a in accepted:
            if a.duplicate or a.privacy_request_id is None or not a.kind:
                continue
            try:
                queue.enqueue_privacy_request(self._redis, self._settings, a.privacy_request_id, a.kind, new=a.created)
            except RedisError as exc:
                log.warning("Redis unavailable (%s); privacy requests of this batch left for the sweeper",
                            type(exc).__name__)
                return
