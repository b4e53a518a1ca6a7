"""Storefront access requests: the merchant starts the compile job, then the shopper gets a download link.

The report is compiled by the same job as ``customers/data_request`` (``workers.privacy.compile_customer_data``).
Delivery is either ``email`` (a link to ``/apps/privacy/report?token=…`` through the app proxy,
valid 7 days and for a few downloads; only its SHA-256 is stored) or ``merchant`` (the merchant
downloads it from the admin and answers the shopper themselves).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.encryption import TokenCipher
from shopify_app.errors import AppError, NotFoundError, ShopifyApiError, ShopNotInstalledError
from shopify_app.models import (
    PrivacyReport,
    PrivacyRequest,
    RequestKind,
    RequestStatus,
    Shop,
    StorefrontRequest,
    utcnow,
)
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.services import audit, notifications, privacy_requests, shops
from shopify_app.services.fulfilment import WAITING, load, resolve_customer
from shopify_app.services.identifiers import customer_ref
from shopify_app.services.rate_limits import FixedWindowLimiter
from shopify_app.services.report_downloads import ReportDownload
from shopify_app.services.request_actions import InvalidFormError, RequestStateError
from shopify_app.services.storefront_requests import LINK_IP_LIMIT, InvalidLinkError, limit_key, token_hash
from shopify_app.settings import Settings

DELIVERIES = ("email", "merchant")
REPORT_LINK_LIFETIME = dt.timedelta(days=7)
MAX_REPORT_DOWNLOADS = 3
"""A few, not one: a mail scanner or a broken download must not use up the shopper's only chance."""


class ReportNotReadyError(AppError):
    """The report is not compiled yet; the link job is retried."""

    status_code = 409


def start_access(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, shop_id: int,
                 privacy_request_id: int, data: dict[str, Any], *, actor: str) -> tuple[PrivacyRequest, str]:
    """Mark the request ``processing`` (a job must now exist) and record how it is delivered. Commits.

    The web layer queues the compile job (and the link email) after the commit; if Redis is
    down, the sweeper queues them.
    """
    delivery = data.get("delivery", "email")
    if delivery not in DELIVERIES:
        raise InvalidFormError("The form has errors.", {"delivery": "email or merchant."})
    privacy_request, storefront = load(session, shop_id, privacy_request_id, (RequestKind.ACCESS,))
    if privacy_request.status not in WAITING:
        raise RequestStateError("A report is already being compiled or was compiled.")
    if delivery == "email" and not storefront.email:
        raise RequestStateError("The shopper's address was erased: deliver the report yourself.")
    customer_id = privacy_request.customer_id
    try:  # a guest verified their email: their Shopify customer, if there is one, is in the report
        customer_id = resolve_customer(session, admin, cipher, privacy_request)[2]
    except (ShopifyApiError, ShopNotInstalledError):
        pass  # the job reads Shopify again, and the report says what it could not read
    session.commit()
    db.begin_write(session)
    privacy_requests.lock_request(session, privacy_request_id)  # an erasure meanwhile is seen, or waits
    privacy_request, storefront = load(session, shop_id, privacy_request_id)
    if privacy_request.status not in WAITING:
        raise RequestStateError("A report is already being compiled or was compiled.")
    if customer_id is not None and not privacy_requests.is_anonymised(privacy_request):
        privacy_request.customer_id = customer_id
        storefront.customer_ref = customer_ref(shop_id, customer_id)
    storefront.report_delivery = delivery
    privacy_request.status = RequestStatus.PROCESSING
    privacy_request.started_at = utcnow()
    privacy_request.failure_reason = None
    audit.record(session, shop_id, actor=actor, action="access.started", privacy_request_id=privacy_request.id,
                 detail={"delivery": delivery, "customer_found": customer_id is not None})
    session.commit()
    return privacy_request, delivery


def send_report_link(session: Session, settings: Settings, privacy_request_id: int) -> str:
    """Email the shopper a fresh download link once the report exists. Commits. Idempotent.

    Raises :class:`ReportNotReadyError` while the report is not compiled, and
    :class:`~shopify_app.mail.MailError` if the mail server refuses (the job is retried).
    """
    db.begin_write(session)
    privacy_request = session.get(PrivacyRequest, privacy_request_id)
    storefront = session.scalars(select(StorefrontRequest).where(
        StorefrontRequest.privacy_request_id == privacy_request_id)).first()
    if privacy_request is None or storefront is None or storefront.report_delivery != "email":
        return "skipped"
    if storefront.report_link_sent_at is not None:
        return "already_sent"
    if not storefront.email:
        return "no_address"
    report = session.scalars(select(PrivacyReport).where(
        PrivacyReport.privacy_request_id == privacy_request_id)).first()
    if report is None:
        if privacy_request.status in (RequestStatus.FAILED, RequestStatus.CLOSED):
            return "no_report"
        raise ReportNotReadyError("The report is not compiled yet.")
    shop = session.get(Shop, privacy_request.shop_id)
    assert shop is not None
    now = utcnow()
    token = secrets.token_urlsafe(32)
    storefront.report_token_hash = token_hash(token)
    storefront.report_token_expires_at = min(now + REPORT_LINK_LIFETIME, report.expires_at)
    storefront.report_downloads = 0
    link = f"https://{shop.domain}{storefront.path_prefix}/report?token={token}"
    notifications.send(settings, storefront.email, "report_link", storefront.language,
                       shop=notifications.shop_name(session, shop), link=link, downloads=str(MAX_REPORT_DOWNLOADS))
    storefront.report_link_sent_at = now
    audit.record(session, shop.id, actor="system", action="report.link_sent", privacy_request_id=privacy_request_id,
                 detail={"expires_at": storefront.report_token_expires_at.isoformat(),
                         "max_downloads": MAX_REPORT_DOWNLOADS})
    session.commit()
    return "sent"


def links_to_send(session: Session, *, limit: int = 500) -> Sequence[int]:
    """Compiled storefront reports whose link email is still owed (the sweeper queues them again)."""
    query = (
        select(StorefrontRequest.privacy_request_id)
        .join(PrivacyRequest, PrivacyRequest.id == StorefrontRequest.privacy_request_id)
        .join(PrivacyReport, PrivacyReport.privacy_request_id == PrivacyRequest.id)
        .where(StorefrontRequest.report_delivery == "email", StorefrontRequest.report_link_sent_at.is_(None),
               StorefrontRequest.email.is_not(None), PrivacyRequest.status == RequestStatus.COMPLETED)
        .limit(limit)
    )
    return [row for row in session.scalars(query) if row is not None]


def check_download_link(session: Session, limiter: FixedWindowLimiter, *, shop_domain: str, token: str,
                        ip: str) -> None:
    """:class:`InvalidLinkError` unless the emailed link still gives the report; downloads nothing.

    Opening the link shows download buttons (:func:`download_by_token`, a POST), so a mail scanner
    that follows links neither uses up the downloads nor carries the report away.
    """
    limiter.hit([(LINK_IP_LIMIT, limit_key("ip", ip))])
    _downloadable(session, shop_domain, token, utcnow())
    session.rollback()


def download_by_token(session: Session, limiter: FixedWindowLimiter, *, shop_domain: str, token: str, fmt: str,
                      ip: str) -> ReportDownload:
    """The report behind an emailed link, while the link lasts. Each download is audited. Commits."""
    limiter.hit([(LINK_IP_LIMIT, limit_key("ip", ip))])
    db.begin_write(session)
    shop, storefront, report = _downloadable(session, shop_domain, token, utcnow())
    storefront.report_downloads += 1
    audit.record(session, shop.id, actor="shopper", action="report.downloaded",
                 privacy_request_id=storefront.privacy_request_id,
                 detail={"format": fmt, "sha256": report.sha256, "via": "email_link",
                         "download": storefront.report_downloads})
    session.commit()
    name = f"privacy-report-{storefront.privacy_request_id}.{fmt}"
    if fmt == "html":
        return ReportDownload(report.html_document, "text/html", name)
    return ReportDownload(report.json_document, "application/json", name)


def _downloadable(session: Session, shop_domain: str, token: str,
                  now: dt.datetime) -> tuple[Shop, StorefrontRequest, PrivacyReport]:
    """The shop, request and report behind a download link, or :class:`InvalidLinkError` (rolled back)."""
    shop = shops.find_shop(session, shop_domain)
    if shop is None:
        session.rollback()
        raise NotFoundError("Unknown shop.")
    storefront = session.scalars(select(StorefrontRequest).where(
        StorefrontRequest.shop_id == shop.id, StorefrontRequest.report_token_hash == token_hash(token))).first()
    report = None if storefront is None or not token else session.scalars(select(PrivacyReport).where(
        PrivacyReport.privacy_request_id == storefront.privacy_request_id)).first()
    expires_at = storefront.report_token_expires_at if storefront is not None else None
    reason = None
    if storefront is None or not token:
        reason = "unknown"
    elif expires_at is None or expires_at <= now or report is None or report.expires_at <= now:
        reason = "expired"
    elif storefront.report_downloads >= MAX_REPORT_DOWNLOADS:
        reason = "used"
    if reason is not None:
        session.rollback()
        raise InvalidLinkError(reason)
    assert storefront is not None and report is not None
    return shop, storefront, report
