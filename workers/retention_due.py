"""Customers past retention: the weekly scan of every installed shop, and the merchant's batch erasure."""

from __future__ import annotations

import logging

from rq import get_current_job
from sqlalchemy import select

from shopify_app import queue
from shopify_app.errors import failure_reason
from shopify_app.models import Shop
from shopify_app.services import retention_due
from workers.context import job_context, raise_job_failure

log = logging.getLogger(__name__)


def queue_retention_scans() -> dict[str, int]:
    """Weekly (cron): one scan job per installed shop, so one slow shop delays no other."""
    with job_context() as ctx:
        shops = ctx.session.scalars(select(Shop).where(Shop.uninstalled_at.is_(None),
                                                       Shop.access_token_encrypted.is_not(None))).all()
        ctx.session.rollback()
        redis = queue.shared_connection(ctx.settings.redis_url)
        queued = sum(queue.enqueue_retention_scan(redis, ctx.settings, shop.id) for shop in shops)
        return {"shops": len(shops), "queued": queued}


def scan_retention_due(shop_id: int) -> dict[str, int]:
    """Search one shop for customers past retention and store the list."""
    with job_context() as ctx:
        try:
            scan = retention_due.scan_shop(ctx.session, ctx.admin, ctx.cipher, shop_id)
        except Exception as exc:
            raise_job_failure(exc, f"Retention scan of shop {shop_id}")
        return {"scan_id": scan.id, "customers_due": scan.customers_due, "pages": scan.pages}


def erase_retention_due(batch_id: int) -> dict[str, int]:
    """Erase a batch of retention-due customers; resumes where a failed attempt stopped."""
    with job_context() as ctx:
        try:
            batch = retention_due.run_erasure_batch(ctx.session, ctx.admin, ctx.cipher, batch_id)
        except Exception as exc:
            ctx.session.rollback()
            job = get_current_job()
            if job is None or not job.retries_left:
                retention_due.mark_batch_failed(ctx.session, batch_id, failure_reason(exc))
            raise_job_failure(exc, f"Retention erasure batch {batch_id}")
        if batch is None:
            return {"skipped": 1}
        return {"succeeded": batch.succeeded, "failed": batch.failed}
