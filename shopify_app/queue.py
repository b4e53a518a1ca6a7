"""The Redis/RQ boundary: connections, queues, and enqueueing privacy jobs.

Jobs carry the id of a committed row and nothing else, so no personal data
ever reaches Redis. Job functions are named by import path (strings), which
keeps this module free of imports from ``workers``.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from redis import Redis
from redis.exceptions import NoScriptError, RedisError
from rq import Queue, Retry
from rq import scripts as rq_scripts
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
    # A storefront access request runs the same compile job once the merchant starts it; the other
    # storefront kinds are fulfilled by the merchant's own actions and have no job.
    RequestKind.ACCESS: "workers.privacy.compile_customer_data",
}
JOB_TIMEOUT_SECONDS: dict[str, int] = {
    RequestKind.DATA_REQUEST: 15 * 60,
    RequestKind.CUSTOMER_REDACT: 10 * 60,
    RequestKind.SHOP_REDACT: 30 * 60,
    RequestKind.ACCESS: 15 * 60,
}
FAILURE_TTL_SECONDS = 35 * 24 * 3600  # longer than the legal month, so a failure stays inspectable
# A job's outcome lives in the database (the request's status and history), so a finished job is deleted
# at once: keeping it for an hour held one Redis key per job and made Redis grow with the traffic
# (bench/README.md, soak). The sweeper and the "replace a finished job" logic treat "no job" the same way.
RESULT_TTL_SECONDS = 0
LIVE_STATUSES = frozenset({JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED})
EXTENSION_KEY = "redis"


WEB_SOCKET_TIMEOUT_SECONDS = 2.0
"""The web app's wait for a Redis answer. A webhook batch's leader answers Shopify only after queueing the
batch's jobs, and Shopify gives up after 5 s: a Redis that accepts connections but does not answer (hung, or
behind a broken network) must cost less than that. Workers keep longer waits (they answer nobody)."""


def connect(redis_url: str, *, socket_timeout: float = 5.0) -> Redis:
    """A Redis client with short timeouts, so an outage fails fast instead of stalling a request."""
    return Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=socket_timeout,
                          health_check_interval=30)


@functools.cache
def shared_connection(redis_url: str) -> Redis:
    """One client per URL for a process's jobs: a client made per job stays alive in :func:`get_queue`'s
    cache, each with its own pool of connections."""
    return connect(redis_url)


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = connect(app.config["SETTINGS"].redis_url, socket_timeout=WEB_SOCKET_TIMEOUT_SECONDS)


@functools.lru_cache(maxsize=64)
def get_queue(redis: Redis, name: str = PRIVACY_QUEUE) -> Queue:
    """One Queue per connection and name: a new Queue asks Redis for its version (INFO) before its first
    enqueue, an extra round trip per job when a Queue is made per call."""
    return Queue(name, connection=redis, serializer=JSONSerializer)


def privacy_job_id(privacy_request_id: int) -> str:
    return f"privacy-request-{privacy_request_id}"


def enqueue_privacy_request(
    redis: Redis, settings: Settings, privacy_request_id: int, kind: str, *, replace_started: bool = False,
    new: bool = False,
) -> bool:
    """Queue the job for one request unless a live one exists. True if a job was queued now.

    A finished, failed or stopped job with the same id is replaced, so the
    sweeper and the merchant's "retry" can both use this function; so is a
    ``started`` one when the caller knows its worker died (``replace_started``). For a request
    created just now (``new``) no job can exist, so that look-up is skipped.
    """
    if kind not in PRIVACY_JOBS:
        return False  # fulfilled by the merchant's actions (services/fulfilment.py), not by a job
    job_id = privacy_job_id(privacy_request_id)
    try:
        existing = None if new else Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    except NoSuchJobError:
        existing = None
    if existing is not None:
        status = existing.get_status(refresh=False)
        if status in LIVE_STATUSES and not (replace_started and status == JobStatus.STARTED):
            return False
        existing.delete()
    queue = get_queue(redis)
    try:
        # RQ's atomic check-and-enqueue: the sweeper and the intake may race
        queue.enqueue_job(_privacy_job(queue, settings, privacy_request_id, kind), unique=True)
    except DuplicateJobError:
        if new:  # an old, finished job under a reused id (SQLite reuses ids of deleted rows)
            return enqueue_privacy_request(redis, settings, privacy_request_id, kind)
        return False
    return True


def enqueue_new_privacy_requests(redis: Redis, settings: Settings, requests: Sequence[tuple[int, str]]) -> None:
    """Queue the jobs of requests created just now, ``(id, kind)`` each, in one pipeline (the webhook intake's
    batches): one round trip for the batch instead of two per job.

    Each job goes through RQ's own atomic unique-enqueue script, exactly as ``Queue.enqueue_job(job,
    unique=True)`` runs it, so a job the sweeper queued meanwhile is not queued twice. (RQ has no batched
    form of it; this uses two of its private helpers, which is why ``rq`` is pinned and
    ``tests/test_queue.py`` checks that the jobs equal those of :func:`enqueue_privacy_request`.)
    """
    queue = get_queue(redis)
    jobs = [(request_id, kind, _privacy_job(queue, settings, request_id, kind))
            for request_id, kind in requests if kind in PRIVACY_JOBS]
    if not jobs:
        return
    for job in jobs:
        queue._prepare_for_queue(job[2])  # noqa: SLF001 (what Queue._enqueue_async_job does before the script)
    unique_enqueue = rq_scripts.get_unique_enqueue_script(redis)
    try:
        queued = _run_unique_enqueue(redis, queue, unique_enqueue.sha, [job for _, _, job in jobs])
    except NoScriptError:  # a Redis that restarted since the script was loaded (nothing of the pipeline ran)
        redis.script_load(unique_enqueue.script)
        queued = _run_unique_enqueue(redis, queue, unique_enqueue.sha, [job for _, _, job in jobs])
    for (request_id, kind, _job), was_queued in zip(jobs, queued, strict=True):
        if not was_queued:  # an old, finished job under a reused id (SQLite reuses ids of deleted rows)
            enqueue_privacy_request(redis, settings, request_id, kind)


def _run_unique_enqueue(redis: Redis, queue: Queue, sha: str, jobs: list[Job]) -> list[int]:
    """RQ's unique-enqueue script for each job, in one pipeline; 1 for each job queued, 0 for a duplicate.

    EVALSHA straight away: a redis-py ``Script`` in a pipeline first asks whether the script is loaded
    (SCRIPT EXISTS), a second round trip per batch.
    """
    with redis.pipeline(transaction=False) as pipe:
        pipe.sadd(queue.redis_queues_keys, queue.key)
        for job in jobs:
            pipe.evalsha(sha, 2, job.key, queue.key, job.id, "R", job.ttl if job.ttl is not None else -1,
                         *rq_scripts._build_hset_args(job))  # noqa: SLF001
        return pipe.execute()[1:]


def _privacy_job(queue: Queue, settings: Settings, privacy_request_id: int, kind: str) -> Job:
    return queue.create_job(
        PRIVACY_JOBS[kind],
        args=(privacy_request_id,),
        job_id=privacy_job_id(privacy_request_id),
        timeout=JOB_TIMEOUT_SECONDS[kind],
        retry=_retry(settings),
        failure_ttl=FAILURE_TTL_SECONDS,
        result_ttl=RESULT_TTL_SECONDS,
        description=f"{kind} {privacy_request_id}",
    )


def _retry(settings: Settings) -> Retry | None:
    intervals = list(settings.job_retry_intervals)
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def try_enqueue_privacy_request(redis: Redis, settings: Settings, privacy_request_id: int, kind: str,
                                *, new: bool = False) -> bool:
    """Like :func:`enqueue_privacy_request`, but a Redis outage is logged, not raised.

    The request is already committed; the sweeper queues it once Redis is back.
    """
    try:
        return enqueue_privacy_request(redis, settings, privacy_request_id, kind, new=new)
    except RedisError as exc:
        log.warning("Redis unavailable (%s); privacy request %d left for the sweeper", type(exc).__name__,
                    privacy_request_id)
        return False


def jobs_to_requeue(redis: Redis, job_ids: list[str], *, started_before: dt.datetime) -> list[str]:
    """The subset of ``job_ids`` that need a new job: none in Redis, a finished one, or one that died.

    A job still marked ``started`` after ``started_before`` cannot be running any more (RQ kills a job
    at its timeout), so its worker died; queued and scheduled jobs are left alone.
    """
    jobs = Job.fetch_many(job_ids, connection=redis, serializer=JSONSerializer)
    needed = []
    for job_id, job in zip(job_ids, jobs, strict=True):
        status = job.get_status(refresh=False) if job is not None else None
        if status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
            continue
        if status == JobStatus.STARTED and job.started_at and job.started_at.replace(tzinfo=dt.UTC) > started_before:
            continue
        needed.append(job_id)
    return needed


# -- storefront requests and retention: jobs the merchant starts --------------------------

ACCESS_LINK_JOB = "workers.fulfilment.send_access_report_link"
RETENTION_SCANS_JOB = "workers.retention_due.queue_retention_scans"
RETENTION_SCAN_JOB = "workers.retention_due.scan_retention_due"
RETENTION_ERASURE_JOB = "workers.retention_due.erase_retention_due"


def access_link_job_id(privacy_request_id: int) -> str:
    return f"access-report-link-{privacy_request_id}"


def _enqueue_unique(redis: Redis, settings: Settings, queue_name: str, func: str, argument: int, job_id: str,
                    timeout: int, depends_on: str | None = None) -> bool:
    """Queue ``func(argument)`` as ``job_id`` unless a live job has that id; True if queued now."""
    try:
        existing = Job.fetch(job_id, connection=redis, serializer=JSONSerializer)
    except NoSuchJobError:
        existing = None
    if existing is not None:
        if existing.get_status(refresh=False) in LIVE_STATUSES:
            return False
        existing.delete()
    try:
        # RQ refuses unique=True with a dependency; the id check above then stands alone.
        get_queue(redis, queue_name).enqueue(
            func, argument, job_id=job_id, unique=depends_on is None, job_timeout=timeout, depends_on=depends_on,
            retry=_retry(settings),
            failure_ttl=FAILURE_TTL_SECONDS, result_ttl=RESULT_TTL_SECONDS, description=f"{func} {argument}",
        )
    except DuplicateJobError:
        return False
    return True


def enqueue_access_fulfilment(redis: Redis, settings: Settings, privacy_request_id: int, *, email_link: bool) -> bool:
    """Queue the compile job of a storefront access request and, if asked, the email of its link after it.

    The email job depends on the compile job, so it runs once the report exists (the sweeper
    queues it again if Redis lost it). Only ids reach Redis.
    """
    queued = enqueue_privacy_request(redis, settings, privacy_request_id, RequestKind.ACCESS)
    if email_link:
        enqueue_access_report_link(redis, settings, privacy_request_id, after=privacy_job_id(privacy_request_id))
    return queued


def enqueue_access_report_link(redis: Redis, settings: Settings, privacy_request_id: int, *,
                               after: str | None = None) -> bool:
    return _enqueue_unique(redis, settings, PRIVACY_QUEUE, ACCESS_LINK_JOB, privacy_request_id,
                           access_link_job_id(privacy_request_id), 5 * 60, depends_on=after)


def enqueue_retention_scan(redis: Redis, settings: Settings, shop_id: int) -> bool:
    """Queue the search for customers past retention in one shop (one live scan per shop)."""
    return _enqueue_unique(redis, settings, MAINTENANCE_QUEUE, RETENTION_SCAN_JOB, shop_id,
                           f"retention-scan-{shop_id}", 60 * 60)


def enqueue_retention_erasure(redis: Redis, settings: Settings, batch_id: int) -> bool:
    """Queue one batch erasure; its progress is stored in the database, so a retry resumes it."""
    return _enqueue_unique(redis, settings, PRIVACY_QUEUE, RETENTION_ERASURE_JOB, batch_id,
                           f"retention-erasure-{batch_id}", 2 * 60 * 60)


BANNER_PUBLISH_JOB = "workers.banner.publish_banner"


def try_enqueue_banner_publication(redis: Redis, settings: Settings, shop_id: int) -> bool:
    """Queue writing the banner configuration to the shop's metafield (at install); a Redis outage only logs.

    Without it the app embed block has nothing to show until the merchant first saves the banner.
    """
    try:
        return _enqueue_unique(redis, settings, MAINTENANCE_QUEUE, BANNER_PUBLISH_JOB, shop_id,
                               f"banner-publish-{shop_id}", 120)
    except RedisError as exc:
        log.warning("Redis unavailable (%s); banner of shop %d not published yet", type(exc).__name__, shop_id)
        return False
