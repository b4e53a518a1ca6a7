"""Maintenance jobs: the sweeper that makes sure no privacy request is ever left behind."""

from __future__ import annotations

import datetime as dt
import logging

from shopify_app import db, queue
from shopify_app.models import utcnow
from shopify_app.services import privacy_requests, retention
from workers.context import job_context

log = logging.getLogger(__name__)

STALE_AFTER = dt.timedelta(seconds=max(queue.JOB_TIMEOUT_SECONDS.values()) + 120)
"""A job still ``started`` after the longest job timeout has lost its worker (RQ kills overrunning jobs)."""


def sweep_pending_requests(*, now: dt.datetime | None = None, page_size: int = 1000) -> dict[str, int]:
    """Queue a job for every open request that has no live job in Redis.

    Runs at worker start and every minute from the cron scheduler. Safe to run
    concurrently: job ids are unique per request. Works when Redis came back empty,
    and when a worker died mid-job (SIGKILL, lost machine). Reads the open requests
    ``page_size`` at a time, so a backlog of any size costs bounded memory per round trip.
    """
    now = now or utcnow()
    pending = queued = 0
    with job_context() as ctx:
        redis = queue.shared_connection(ctx.settings.redis_url)
        for page in privacy_requests.open_requests(ctx.session, page_size=page_size):
            pending += len(page)
            by_job_id = {queue.privacy_job_id(r.id): r for r in page}
            requeue = queue.jobs_to_requeue(redis, list(by_job_id), started_before=now - STALE_AFTER)
            queued += sum(queue.enqueue_privacy_request(redis, ctx.settings, by_job_id[job_id].id,
                                                        by_job_id[job_id].kind, replace_started=True)
                          for job_id in requeue)
        if queued:
            log.info("Sweeper queued %d of %d open privacy requests", queued, pending)
        return {"pending": pending, "queued": queued}


def purge_expired_data(*, now: dt.datetime | None = None) -> dict[str, int]:
    """The daily retention job: delete what is past its retention period."""
    with job_context() as ctx:
        db.begin_write(ctx.session)
        reports = retention.purge_expired_reports(ctx.session, now=now)
        others = retention.purge_personal_data(ctx.session, now=now)
        ctx.session.commit()
        # Reports are always counted; the other kinds only when something went (the audit log has them per shop).
        return {"privacy_reports": sum(reports.values()), **{name: count for name, count in others.items() if count}}
