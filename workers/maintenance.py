"""Maintenance jobs: the sweeper that makes sure no privacy request is ever left behind."""

from __future__ import annotations

import datetime as dt
import logging

from redis import Redis

from shopify_app import db, queue
from shopify_app.models import utcnow
from shopify_app.services import privacy_requests, retention
from workers.context import job_context

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(seconds=max(queue.JOB_TIMEOUT_SECONDS.values()) + 120)
"""A request still ``processing`` after the longest job timeout has lost its job (RQ kills overrunning jobs)."""


def sweep_pending_requests(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Queue a job for every request that should have one and has none alive in Redis.

    Runs at worker start and every minute from the cron scheduler. Safe to run
    concurrently: job ids are unique per request. Works when Redis came back empty.
    """
    now = now or utcnow()
    with job_context() as ctx:
        pending = privacy_requests.requests_needing_a_job(ctx.session, stale_before=now - STALE_AFTER)
        if not pending:
            return {"pending": 0, "queued": 0}
        redis = queue.connect(ctx.settings.redis_url)
        live = queue.live_job_ids(redis, [queue.privacy_job_id(r.id) for r in pending])
        queued = 0
        for privacy_request in pending:
            job_id = queue.privacy_job_id(privacy_request.id)
            stale = privacy_request.status == "processing"
            if job_id in live and not stale:
                continue
            if stale:
                _forget_job(redis, job_id)
            queued += queue.enqueue_privacy_request(redis, ctx.settings, privacy_request.id, privacy_request.kind)
        if queued:
            log.info("Sweeper queued %d of %d pending privacy requests", queued, len(pending))
        return {"pending": len(pending), "queued": queued}


def _forget_job(redis: Redis, job_id: str) -> None:
    # The job outlived its timeout, so its worker is gone; drop it so a fresh one can be queued.
    queue.delete_job(redis, job_id)


def purge_expired_data(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The daily retention job: delete what is past its retention period."""
    with job_context() as ctx:
        db.begin_write(ctx.session)
        reports = retention.purge_expired_reports(ctx.session, now=now)
        ctx.session.commit()
        return {"privacy_reports": sum(reports.values())}
