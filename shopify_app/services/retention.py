"""Retention: delete what we store once its retention period is over, and count it in the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections import Counter

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from shopify_app.models import (
    AuditEntry,
    ConsentRecord,
    PrivacyReport,
    PrivacyRequest,
    RequestStatus,
    RetentionDueCustomer,
    RetentionErasureBatch,
    RetentionScan,
    Shop,
    ShopSettings,
    StorefrontRequest,
    WebhookDelivery,
    utcnow,
)
from shopify_app.services import audit
from shopify_app.services.months import add_months

log = logging.getLogger(__name__)


def purge_expired_reports(session: Session, *, now: dt.datetime | None = None) -> dict[int, int]:
    """Delete compiled reports past their 30 days; one audit entry per shop with the count. Does not commit."""
    now = now or utcnow()
    expired = session.execute(
        select(PrivacyReport.id, PrivacyReport.shop_id).where(PrivacyReport.expires_at <= now)
    ).all()
    per_shop = Counter(shop_id for _, shop_id in expired)
    if expired:
        session.execute(delete(PrivacyReport).where(PrivacyReport.id.in_([report_id for report_id, _ in expired])))
    for shop_id, count in per_shop.items():
        audit.record(session, shop_id, actor="system", action="retention.purged",
                     detail={"privacy_reports": count})
    return dict(per_shop)


# -- everything else we store: storefront submissions, closed requests, consent, audit, deliveries ---------

UNCONFIRMED_RETENTION = dt.timedelta(days=7)
"""A guest's submission whose email link was never opened is not a request; it goes after a week."""
WEBHOOK_DELIVERY_RETENTION = dt.timedelta(days=90)
"""Long past Shopify's redelivery window, so a delivery id is never needed again."""
RETENTION_DUE_DONE_RETENTION = dt.timedelta(days=30)
"""A customer whose erasure Shopify accepted stays listed a month (the merchant sees the outcome), then goes."""
RETENTION_DUE_FAILED_RETENTION = dt.timedelta(days=90)
"""A customer Shopify refused to erase stays listed for the merchant to act on; a later scan lists them again."""
RETENTION_HISTORY_MONTHS = 13
"""Weekly scans and erasure batches hold counts only; a year of them shows the merchant the pattern."""
DEFAULT_REQUEST_RETENTION_MONTHS = 36
DEFAULT_CONSENT_RETENTION_MONTHS = 13
DEFAULT_AUDIT_RETENTION_MONTHS = 60
FINISHED_STATUSES = (RequestStatus.COMPLETED, RequestStatus.CLOSED)


@dataclasses.dataclass(frozen=True)
class RetentionPeriods:
    """One shop's periods, in months (the merchant sets them on the Settings page)."""

    request_months: int = DEFAULT_REQUEST_RETENTION_MONTHS
    consent_months: int = DEFAULT_CONSENT_RETENTION_MONTHS
    audit_months: int = DEFAULT_AUDIT_RETENTION_MONTHS

    @classmethod
    def of(cls, shop_settings: ShopSettings | None) -> RetentionPeriods:
        def months(name: str, default: int) -> int:
            value = getattr(shop_settings, name, None)
            return value if isinstance(value, int) and value > 0 else default

        return cls(request_months=months("request_retention_months", DEFAULT_REQUEST_RETENTION_MONTHS),
                   consent_months=months("consent_retention_months", DEFAULT_CONSENT_RETENTION_MONTHS),
                   audit_months=months("audit_retention_months", DEFAULT_AUDIT_RETENTION_MONTHS))


def purge_personal_data(session: Session, *, now: dt.datetime | None = None) -> dict[str, int]:
    """Apply every retention period but the reports', shop by shop; one audit entry per shop with its counts.

    What goes (a date exactly at the limit is past it):

    - unconfirmed storefront submissions 7 days after they were made;
    - the personal fields of requests finished (completed or closed) longer ago than the shop's
      request period (default 3 years), and what the shopper wrote in the storefront form;
    - a visitor's consent records once their *last* choice is older than the consent period
      (default 13 months): the proof of a choice still in force is kept with its history;
    - audit entries older than the audit period (default 5 years);
    - webhook deliveries older than 90 days;
    - customers past retention (ids only) a month after Shopify accepted their erasure, or 90 days after
      Shopify refused it; weekly scans and erasure batches after 13 months.

    Does not commit. Returns the totals.
    """
    now = now or utcnow()
    totals: Counter[str] = Counter()
    rows = session.execute(select(Shop.id, ShopSettings).outerjoin(ShopSettings, ShopSettings.shop_id == Shop.id)).all()
    for shop_id, shop_settings in rows:
        periods = RetentionPeriods.of(shop_settings)
        counts = {
            "unconfirmed_requests": session.execute(delete(StorefrontRequest).where(
                StorefrontRequest.shop_id == shop_id, StorefrontRequest.status == "unconfirmed",
                StorefrontRequest.created_at <= now - UNCONFIRMED_RETENTION)).rowcount,
            "finished_requests_anonymised": _anonymise_finished_requests(
                session, shop_id, add_months(now, -periods.request_months)),
            "consent_records": _purge_consent_records(session, shop_id, add_months(now, -periods.consent_months)),
            "webhook_deliveries": session.execute(delete(WebhookDelivery).where(
                WebhookDelivery.shop_id == shop_id,
                WebhookDelivery.received_at <= now - WEBHOOK_DELIVERY_RETENTION)).rowcount,
            "audit_entries": session.execute(delete(AuditEntry).where(
                AuditEntry.shop_id == shop_id, AuditEntry.at <= add_months(now, -periods.audit_months))).rowcount,
            "retention_due_rows": _purge_retention_due(session, shop_id, now),
        }
        purged = {name: count for name, count in counts.items() if count}
        if purged:
            audit.record(session, shop_id, actor="system", action="retention.purged", detail=purged)
        totals.update(counts)
    # Deliveries of shops erased by shop/redact belong to no shop any more: no audit entry to count them in.
    orphans = session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.shop_id.is_(None), WebhookDelivery.received_at <= now - WEBHOOK_DELIVERY_RETENTION)).rowcount
    if orphans:
        log.info("Retention: %d webhook deliveries of erased shops deleted", orphans)
    totals["webhook_deliveries"] += orphans
    return {name: totals[name] for name in ("unconfirmed_requests", "finished_requests_anonymised", "consent_records",
                                            "audit_entries", "webhook_deliveries", "retention_due_rows")}


def _purge_retention_due(session: Session, shop_id: int, now: dt.datetime) -> int:
    history_cutoff = add_months(now, -RETENTION_HISTORY_MONTHS)
    customers = session.execute(delete(RetentionDueCustomer).where(
        RetentionDueCustomer.shop_id == shop_id,
        ((RetentionDueCustomer.status == "erasure_requested")
         & (RetentionDueCustomer.erasure_requested_at <= now - RETENTION_DUE_DONE_RETENTION))
        | ((RetentionDueCustomer.status == "failed")
           & (RetentionDueCustomer.found_at <= now - RETENTION_DUE_FAILED_RETENTION)))).rowcount
    scans = session.execute(delete(RetentionScan).where(
        RetentionScan.shop_id == shop_id, RetentionScan.started_at <= history_cutoff)).rowcount
    batches = session.execute(delete(RetentionErasureBatch).where(
        RetentionErasureBatch.shop_id == shop_id, RetentionErasureBatch.status == "done",
        RetentionErasureBatch.created_at <= history_cutoff)).rowcount
    return customers + scans + batches


def _anonymise_finished_requests(session: Session, shop_id: int, cutoff: dt.datetime) -> int:
    finished_at = func.coalesce(PrivacyRequest.closed_at, PrivacyRequest.completed_at)
    has_personal_data = or_(
        PrivacyRequest.customer_id.is_not(None), PrivacyRequest.customer_email.is_not(None),
        PrivacyRequest.customer_phone.is_not(None), PrivacyRequest.note.is_not(None),
        StorefrontRequest.email.is_not(None), StorefrontRequest.message.is_not(None),
        StorefrontRequest.correction.is_not(None), StorefrontRequest.handling_note.is_not(None),
        StorefrontRequest.customer_ref.is_not(None),
    )
    ids = list(session.scalars(
        select(PrivacyRequest.id)
        .outerjoin(StorefrontRequest, StorefrontRequest.privacy_request_id == PrivacyRequest.id)
        .where(PrivacyRequest.shop_id == shop_id, PrivacyRequest.status.in_(FINISHED_STATUSES),
               finished_at <= cutoff, has_personal_data)
    ))
    if not ids:
        return 0
    session.execute(update(PrivacyRequest).where(PrivacyRequest.id.in_(ids)).values(
        customer_id=None, customer_email=None, customer_phone=None, note=None, orders_requested=[],
        orders_to_redact=[]).execution_options(synchronize_session="fetch"))
    session.execute(update(StorefrontRequest).where(StorefrontRequest.privacy_request_id.in_(ids)).values(
        email=None, message=None, correction=None, handling_note=None, customer_ref=None,
        report_token_hash=None).execution_options(synchronize_session="fetch"))
    return len(ids)


def _purge_consent_records(session: Session, shop_id: int, cutoff: dt.datetime) -> int:
    expired_visitors = (
        select(ConsentRecord.visitor_id)
        .where(ConsentRecord.shop_id == shop_id)
        .group_by(ConsentRecord.visitor_id)
        .having(func.max(ConsentRecord.recorded_at) <= cutoff)
    )
    return session.execute(delete(ConsentRecord).where(
        ConsentRecord.shop_id == shop_id, ConsentRecord.visitor_id.in_(expired_visitors))).rowcount
