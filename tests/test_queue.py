"""The queue boundary: the webhook intake's batched enqueue queues the same jobs as the one-by-one enqueue."""

from __future__ import annotations

from redis import Redis
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from shopify_app import queue
from shopify_app.models import RequestKind
from shopify_app.settings import Settings

# Set when the job is made or queued; everything else must be equal.
MOMENTS = {b"created_at", b"enqueued_at"}


def stored_job(redis: Redis, request_id: int) -> dict[bytes, bytes]:
    fields = redis.hgetall(Job.key_for(queue.privacy_job_id(request_id)))
    assert fields, "no job"
    return {name: value for name, value in fields.items() if name not in MOMENTS}


def test_batched_jobs_equal_those_queued_one_by_one(redis_conn: Redis, settings: Settings) -> None:
    kinds = [RequestKind.DATA_REQUEST, RequestKind.CUSTOMER_REDACT, RequestKind.SHOP_REDACT]
    for request_id, kind in enumerate(kinds, start=1):
        assert queue.enqueue_privacy_request(redis_conn, settings, request_id, kind, new=True)
    one_by_one = {request_id: stored_job(redis_conn, request_id) for request_id in (1, 2, 3)}
    redis_conn.flushdb()

    queue.enqueue_new_privacy_requests(redis_conn, settings, list(enumerate(kinds, start=1)))

    assert {request_id: stored_job(redis_conn, request_id) for request_id in (1, 2, 3)} == one_by_one
    privacy = queue.get_queue(redis_conn)
    assert privacy.job_ids == [queue.privacy_job_id(i) for i in (1, 2, 3)]
    assert privacy.key.encode() in redis_conn.smembers(privacy.redis_queues_keys)
    job = Job.fetch(queue.privacy_job_id(1), connection=redis_conn, serializer=JSONSerializer)
    assert list(job.args) == [1] and job.func_name == queue.PRIVACY_JOBS[RequestKind.DATA_REQUEST]
    assert job.timeout == queue.JOB_TIMEOUT_SECONDS[RequestKind.DATA_REQUEST] and job.retries_left


def test_a_job_queued_meanwhile_is_not_queued_twice(redis_conn: Redis, settings: Settings) -> None:
    """The sweeper may queue a request between the intake's COMMIT and its enqueue."""
    assert queue.enqueue_privacy_request(redis_conn, settings, 7, RequestKind.CUSTOMER_REDACT)
    queue.enqueue_new_privacy_requests(redis_conn, settings, [(7, RequestKind.CUSTOMER_REDACT),
                                                              (8, RequestKind.CUSTOMER_REDACT)])
    assert queue.get_queue(redis_conn).job_ids == [queue.privacy_job_id(7), queue.privacy_job_id(8)]


def test_a_finished_job_under_a_reused_id_is_replaced(redis_conn: Redis, settings: Settings) -> None:
    """SQLite reuses the ids of deleted rows: a new request may meet the failed job of an old one."""
    assert queue.enqueue_privacy_request(redis_conn, settings, 9, RequestKind.DATA_REQUEST)
    old = Job.fetch(queue.privacy_job_id(9), connection=redis_conn, serializer=JSONSerializer)
    queue.get_queue(redis_conn).remove(old)
    old.set_status(JobStatus.FAILED)

    queue.enqueue_new_privacy_requests(redis_conn, settings, [(9, RequestKind.CUSTOMER_REDACT)])

    job = Job.fetch(queue.privacy_job_id(9), connection=redis_conn, serializer=JSONSerializer)
    assert job.get_status() == JobStatus.QUEUED
    assert job.func_name == queue.PRIVACY_JOBS[RequestKind.CUSTOMER_REDACT]
    assert queue.get_queue(redis_conn).job_ids == [queue.privacy_job_id(9)]


def test_kinds_the_merchant_fulfils_get_no_job(redis_conn: Redis, settings: Settings) -> None:
    queue.enqueue_new_privacy_requests(redis_conn, settings, [(3, RequestKind.ERASURE)])
    assert queue.get_queue(redis_conn).count == 0


def test_a_redis_that_forgot_the_script_gets_it_again(redis_conn: Redis, settings: Settings) -> None:
    """A restarted Redis has no scripts; the batch loads RQ's and goes on."""
    queue.enqueue_new_privacy_requests(redis_conn, settings, [(1, RequestKind.CUSTOMER_REDACT)])
    redis_conn.script_flush()
    queue.enqueue_new_privacy_requests(redis_conn, settings, [(2, RequestKind.CUSTOMER_REDACT),
                                                              (3, RequestKind.DATA_REQUEST)])
    assert queue.get_queue(redis_conn).job_ids == [queue.privacy_job_id(i) for i in (1, 2, 3)]
