"""Privacy jobs: compile a customer's data, erase a customer's data, erase a shop's data."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rq import get_current_job

from shopify_app import db
from shopify_app.errors import failure_reason
from shopify_app.models import PrivacyRequest, RequestStatus, Shop
from shopify_app.services import erasure, privacy_requests, reports
from workers.context import JobContext, job_context, raise_job_failure

log = logging.getLogger(__name__)

DONE_STATUSES = (RequestStatus.COMPLETED, RequestStatus.CLOSED)


def _is_last_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


def _run(
    privacy_request_id: int,
    work: Callable[[JobContext, PrivacyRequest], dict[str, Any]],
    prepare: Callable[[JobContext, PrivacyRequest], Any] | None = None,
) -> dict[str, Any]:
    """The life cycle shared by every privacy job: skip if done, mark, work, record the outcome.

    ``prepare`` runs first, outside any write transaction (slow reads from
    Shopify); ``work`` then gets its result and writes in one short transaction.

    Failures are recorded for the merchant and then re-raised, so RQ's retries
    and failed-job registry see them: a privacy job never fails quietly.
    """
    with job_context() as ctx:
        db.begin_write(ctx.session)
        privacy_request = ctx.session.get(PrivacyRequest, privacy_request_id)
        if privacy_request is None or privacy_request.status in DONE_STATUSES:
            return {"skipped": True}
        privacy_requests.mark_processing(ctx.session, privacy_request)
        ctx.session.commit()
        try:
            prepared = prepare(ctx, privacy_request) if prepare else None
            ctx.session.commit()  # end the read transaction before taking the write lock
            db.begin_write(ctx.session)
            # What ``prepare`` read is written now: the request is locked, so that an erasure of this customer
            # either ran before (and is seen here) or waits for this transaction and erases what it writes
            # (``erasure.erase_customer_data``). Erasures themselves lock their customer's requests in id order.
            privacy_request = (privacy_requests.lock_request(ctx.session, privacy_request_id) if prepare
                               else ctx.session.get(PrivacyRequest, privacy_request_id))
            if privacy_request is None or privacy_request.status in DONE_STATUSES:
                ctx.session.rollback()
                return {"skipped": True}
            detail = work(ctx, privacy_request, prepared) if prepare else work(ctx, privacy_request)
            if ctx.session.get(PrivacyRequest, privacy_request_id) is not None and \
                    privacy_request.status not in DONE_STATUSES:
                privacy_requests.mark_completed(ctx.session, privacy_request, detail)
            ctx.session.commit()
            return detail
        except Exception as exc:
            try:
                _record_failure(ctx, privacy_request_id, failure_reason(exc))
            except Exception as recording:  # noqa: BLE001 (the database may be what failed; RQ still hears of it)
                log.error("Privacy request %s: the failure could not be recorded (%s)", privacy_request_id,
                          type(recording).__name__)
            raise_job_failure(exc, f"Privacy request {privacy_request_id}")


def _record_failure(ctx: JobContext, privacy_request_id: int, reason: str) -> None:
    ctx.session.rollback()
    db.begin_write(ctx.session)
    privacy_request = ctx.session.get(PrivacyRequest, privacy_request_id)
    if privacy_request is not None:
        privacy_requests.mark_failed(ctx.session, privacy_request, reason, final=_is_last_attempt())
        ctx.session.commit()


def _fetch_from_shopify(ctx: JobContext, privacy_request: PrivacyRequest) -> reports.ShopifyData:
    return reports.fetch_shopify_data(ctx.session, ctx.admin, ctx.cipher, privacy_request,
                                      bulk_orders_from=ctx.settings.bulk_orders_from,
                                      last_attempt=_is_last_attempt())


def _compile(ctx: JobContext, privacy_request: PrivacyRequest, shopify: reports.ShopifyData) -> dict[str, Any]:
    if privacy_requests.is_anonymised(privacy_request):
        # The customer's data was erased while this job read Shopify: a report now would bring it back.
        privacy_requests.mark_closed(ctx.session, privacy_request, outcome="erased", actor="system")
        return {"skipped": "erased"}
    report = reports.store_customer_report(ctx.session, privacy_request, shopify)
    return {"report_id": report.id, "size_bytes": report.size_bytes, "sha256": report.sha256}


def _erase_customer(ctx: JobContext, privacy_request: PrivacyRequest) -> dict[str, Any]:
    return erasure.erase_customer_data(ctx.session, privacy_request)


def _erase_shop(ctx: JobContext, privacy_request: PrivacyRequest) -> dict[str, Any]:
    shop = ctx.session.get(Shop, privacy_request.shop_id)
    return erasure.erase_shop_data(ctx.session, shop) if shop else {"counts": {}}


def compile_customer_data(privacy_request_id: int) -> dict[str, Any]:
    """``customers/data_request``: compile the subject-access report."""
    return _run(privacy_request_id, _compile, prepare=_fetch_from_shopify)


def erase_customer_data(privacy_request_id: int) -> dict[str, Any]:
    """``customers/redact``: erase what we hold about one customer. Safe to run twice."""
    return _run(privacy_request_id, _erase_customer)


def erase_shop_data(privacy_request_id: int) -> dict[str, Any]:
    """``shop/redact``: erase everything of one shop, leaving a tombstone. Safe to run twice."""
    return _run(privacy_request_id, _erase_shop)
