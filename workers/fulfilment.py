"""Storefront access requests: email the shopper their download link once the report is compiled."""

from __future__ import annotations

import logging

from shopify_app import queue
from shopify_app.services import access_reports
from workers.context import job_context

log = logging.getLogger(__name__)


def send_access_report_link(privacy_request_id: int) -> str:
    """Runs after the compile job (``depends_on``). Raises while the report is not ready, so RQ retries."""
    with job_context() as ctx:
        return access_reports.send_report_link(ctx.session, ctx.settings, privacy_request_id)


def queue_owed_report_links() -> dict[str, int]:
    """Hourly safety net: queue the link email of every compiled report still owed one (e.g. Redis lost the job)."""
    with job_context() as ctx:
        owed = access_reports.links_to_send(ctx.session)
        ctx.session.rollback()
        if not owed:
            return {"owed": 0, "queued": 0}
        redis = queue.shared_connection(ctx.settings.redis_url)
        queued = sum(queue.enqueue_access_report_link(redis, ctx.settings, privacy_request_id)
                     for privacy_request_id in owed)
        if queued:
            log.info("Queued %d owed report-link emails", queued)
        return {"owed": len(owed), "queued": queued}
