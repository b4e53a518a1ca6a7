"""The Redis/RQ boundary: connections, queues, and enqueueing privacy jobs.

Jobs carry the id of a committed row and nothing else, so no personal data
ever reaches Redis. Job functions are named by import path (strings), which
keeps this module free of imports from ``workers``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from shopify_app.models import RequestKind

if TYPE_CHECKING:
    from flask import Flask

    from shopify_app.settings import Settings

log = logging.getLogger(__name__)

PRIVACY_QUEUE = "privacy"
MAINTENANCE_QUEUE = "maintenance"
QUEUE_NAMES = (MAINTENANCE_QUEUE, PRIVACY_QUEUE)  # a worker serves maintenance first

PRIVACY_JOBS: dict[str, str] = {
    RequestKind.DATA_REQUEST: "workers.privacy.compile_customer_data",
    RequestKind.CUSTOMER_REDACT: "workers.privacy.erase_customer_data",
    RequestKind.SHOP_REDACT: "workers.privacy.erase_shop_data",
}
JOB_TIMEOUT_SECONDS: dict[str, int] = {
    RequestKind.DATA_REQUEST: 15 * 60,
    RequestKind.CUSTOMER_REDACT: 10 * 60,
    RequestKind.SHOP_REDACT: 30 * 60,
}
FAILURE_TTL_SECONDS = 35 * 24 * 3600  # longer than the legal month, so a failure stays inspectable
RESULT_TTL_SECONDS = 3600
LIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})
EXTENSION_KEY = "redis"


def connect(redis_url: str) -> Redis:
    """A Redis client with short timeouts, so an outage fails fast instead of stalling a request."""
    return Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = connect(app.config["SETTINGS"].redis_url)


def get_queue(redis: Redis, name: str = PRIVACY_QUEUE) -> Queue:
    return Queue(name, connection=redis, serializer=JSONSerializer)


def privacy_job_id(privacy_request_id: int) -> str:
    return f"privacy-request-{privacy_request_id}"


def enqueue_privacy_request(redis: Redis, settings: Settings, privacy_request_id: int, kind: str) -> bool:
    """Queue the job for one request unless a live one exists. True if a job was queued now.

    A finished, failed or stopped job with the same id is replaced, so the
    sweeper and the merchant's "retry" can both use this function.
    """
    job_id = privacy_job_id(privacy_request_id)
    try:
        existing = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    except NoSuchJobError:
        existing = None
    if existing is not None:
        if existing.get_status(refresh=False) in LIVE_STATUSES:
            return False
        existing.delete()
    intervals = list(settings.job_retry_intervals)
    try:
        get_queue(redis).enqueue(
            PRIVACY_JOBS[kind],
            privacy_request_id,
            job_id=job_id,
            unique=True,
            job_timeout=JOB_TIMEOUT_SECONDS[kind],
            retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
            failure_ttl=FAILURE_TTL_SECONDS,
            result_ttl=RESULT_TTL_SECONDS,
            description=f"{kind} {privacy_request_id}",
        )
    except DuplicateJobError:
        return False
    return True


def try_enqueue_privacy_request(redis: Redis, settings: Settings, privacy_request_id: int, kind: str) -> bool:
    """Like :func:`enqueue_privacy_request`, but a Redis outage is logged, not raised.

    The request is already committed; the sweeper queues it once Redis is back.
    """
    try:
        return enqueue_privacy_request(redis, settings, privacy_request_id, kind)
    except RedisError as exc:
        log.warning("Redis unavailable (%s); privacy request %d left for the sweeper", type(exc).__name__,
                    privacy_request_id)
        return False


def live_job_ids(redis: Redis, job_ids: list[str]) -> set[str]:
    """The subset of ``job_ids`` that are queued, running or scheduled."""
    jobs = Job.fetch_many(job_ids, connection=redis, serializer=JSONSerializer)
    return {job.id for job in jobs if job is not None and job.get_status(refresh=False) in LIVE_STATUSES}


def delete_job(redis: Redis, job_id: str) -> None:
    try:
        Job.fetch(job_id, connection=redis, serializer=JSONSerializer).delete()
    except NoSuchJobError:
        pass

