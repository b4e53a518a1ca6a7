"""Privacy requests: accepting webhook deliveries, listing them, and moving them through their states."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.errors import NotFoundError
from shopify_app.models import (
    OPEN_STATUSES,
    PrivacyRequest,
    RequestKind,
    RequestStatus,
    Shop,
    StorefrontRequest,
    WebhookDelivery,
    utcnow,
)
from shopify_app.platform.payloads import (
    CustomersDataRequestPayload,
    CustomersRedactPayload,
    ShopRedactPayload,
)
from shopify_app.platform.topics import Topic
from shopify_app.platform.webhooks import WebhookDelivery as Delivery
from shopify_app.services import audit, shops
from shopify_app.services.identifiers import customer_ref

STOREFRONT_SOURCE = "storefront"
REPORT_KINDS = (RequestKind.DATA_REQUEST, RequestKind.ACCESS)
"""Kinds whose job compiles a report (the others' jobs erase)."""

RESPONSE_PERIOD = dt.timedelta(days=30)
"""GDPR art. 12(3): answer within one month; Shopify asks for 30 days."""

TOPIC_KINDS = {
    Topic.CUSTOMERS_DATA_REQUEST: RequestKind.DATA_REQUEST,
    Topic.CUSTOMERS_REDACT: RequestKind.CUSTOMER_REDACT,
    Topic.SHOP_REDACT: RequestKind.SHOP_REDACT,
}


@dataclasses.dataclass(frozen=True)
class AcceptedDelivery:
    """What the webhook route needs to know after the commit."""

    privacy_request_id: int | None
    kind: str | None
    duplicate: bool
    created: bool = False


def accept_delivery(session: Session, delivery: Delivery) -> AcceptedDelivery:
    """Store a verified delivery and the request it creates in one transaction, then commit.

    A webhook id seen before is a duplicate and changes nothing (the unique
    constraint decides, so concurrent redeliveries are safe too).
    """
    db.begin_write(session)
    shop = shops.get_or_create_shop(session, delivery.shop_domain)
    privacy_request: PrivacyRequest | None = None
    created = False
    if delivery.topic is Topic.APP_UNINSTALLED:
        shops.mark_uninstalled(session, shop)
    else:
        privacy_request = _find_same_request(session, shop, delivery)
        if privacy_request is None:
            privacy_request, created = _new_request(session, shop, delivery), True
    # The unique webhook id decides duplicates, with no savepoint: a delivery seen before inserts
    # nothing, and the whole transaction (request included) is rolled back.
    inserted = db.insert_unless_exists(session, WebhookDelivery, {
        "webhook_id": delivery.webhook_id, "event_id": delivery.event_id, "topic": delivery.topic.value,
        "shop_id": shop.id, "triggered_at": delivery.triggered_at, "api_version": delivery.api_version,
        "received_at": utcnow(), "privacy_request_id": privacy_request.id if privacy_request else None,
    }, unique="webhook_id")
    if inserted is None:
        session.rollback()
        seen = session.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id == delivery.webhook_id)).one()
        return AcceptedDelivery(seen.privacy_request_id, _kind_of(session, seen.privacy_request_id), duplicate=True)
    if privacy_request is None:
        session.commit()
        return AcceptedDelivery(None, None, duplicate=False)
    audit.record(session, shop.id, actor="shopify", action="webhook.received", privacy_request_id=privacy_request.id,
                 detail={"topic": delivery.topic.value, "webhook_id": delivery.webhook_id})
    if privacy_request.kind == RequestKind.ERASURE:  # Shopify has now carried out a storefront erasure
        mark_closed(session, privacy_request, outcome="erased", actor="shopify")
    session.commit()
    return AcceptedDelivery(privacy_request.id, privacy_request.kind, duplicate=False, created=created)


def _kind_of(session: Session, privacy_request_id: int | None) -> str | None:
    if privacy_request_id is None:
        return None
    privacy_request = session.get(PrivacyRequest, privacy_request_id)
    return privacy_request.kind if privacy_request else None


def _find_same_request(session: Session, shop: Shop, delivery: Delivery) -> PrivacyRequest | None:
    """A request that this delivery repeats under another webhook id (the handlers' own idempotency)."""
    payload = delivery.payload
    query = select(PrivacyRequest).where(PrivacyRequest.shop_id == shop.id, PrivacyRequest.kind == TOPIC_KINDS[delivery.topic])
    if isinstance(payload, CustomersDataRequestPayload):
        query = query.where(PrivacyRequest.shopify_request_id == payload.data_request_id)
    elif isinstance(payload, CustomersRedactPayload):
        query = query.where(PrivacyRequest.customer_id == payload.customer.id, PrivacyRequest.status.in_(OPEN_STATUSES))
    else:
        query = query.where(PrivacyRequest.status.in_(OPEN_STATUSES))
    found = session.scalars(query.order_by(PrivacyRequest.id).limit(1)).first()
    if found is None and isinstance(payload, CustomersRedactPayload):
        found = _storefront_erasure_awaiting_shopify(session, shop, payload.customer.id)
    return found


def _storefront_erasure_awaiting_shopify(session: Session, shop: Shop, customer_id: int) -> PrivacyRequest | None:
    """A storefront erasure whose own part is done (our data erased, Shopify asked to erase): Shopify's redact ends it.

    Its customer id was erased with the rest, so it is found by the hash kept for this purpose.
    """
    query = (
        select(PrivacyRequest)
        .join(StorefrontRequest, StorefrontRequest.privacy_request_id == PrivacyRequest.id)
        .where(PrivacyRequest.shop_id == shop.id, PrivacyRequest.kind == RequestKind.ERASURE,
               PrivacyRequest.status == RequestStatus.COMPLETED,
               StorefrontRequest.customer_ref == customer_ref(shop.id, customer_id))
    )
    return session.scalars(query.order_by(PrivacyRequest.id).limit(1)).first()


def _new_request(session: Session, shop: Shop, delivery: Delivery) -> PrivacyRequest:
    payload = delivery.payload
    received_at = utcnow()
    privacy_request = PrivacyRequest(
        shop_id=shop.id,
        kind=TOPIC_KINDS[delivery.topic],
        source="webhook",
        status=RequestStatus.RECEIVED,
        received_at=received_at,
        due_at=received_at + RESPONSE_PERIOD,
    )
    if isinstance(payload, (CustomersDataRequestPayload, CustomersRedactPayload)):
        privacy_request.customer_id = payload.customer.id
        privacy_request.customer_email = payload.customer.email
        privacy_request.customer_phone = payload.customer.phone
    if isinstance(payload, CustomersDataRequestPayload):
        privacy_request.orders_requested = list(payload.orders_requested)
        privacy_request.shopify_request_id = payload.data_request_id
    if isinstance(payload, CustomersRedactPayload):
        privacy_request.orders_to_redact = list(payload.orders_to_redact)
    if isinstance(payload, ShopRedactPayload) and shop.shopify_shop_id is None:
        shop.shopify_shop_id = payload.shop_id
    session.add(privacy_request)
    session.flush()
    return privacy_request


# -- reading, always scoped to one shop ---------------------------------------------


def list_requests(
    session: Session,
    shop_id: int,
    *,
    status: str | None = None,
    kind: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[PrivacyRequest]:
    query = select(PrivacyRequest).where(PrivacyRequest.shop_id == shop_id)
    if status:
        query = query.where(PrivacyRequest.status == status)
    if kind:
        query = query.where(PrivacyRequest.kind == kind)
    query = query.order_by(PrivacyRequest.due_at, PrivacyRequest.id).limit(limit).offset(offset)
    return session.scalars(query).all()


def get_request(session: Session, shop_id: int, privacy_request_id: int) -> PrivacyRequest:
    """The request, if it belongs to ``shop_id``; otherwise :class:`NotFoundError` (never 403: no existence leak)."""
    privacy_request = session.get(PrivacyRequest, privacy_request_id)
    if privacy_request is None or privacy_request.shop_id != shop_id:
        raise NotFoundError("No such privacy request.")
    return privacy_request


def open_requests(session: Session, *, limit: int = 1000) -> Sequence[PrivacyRequest]:
    """Requests that must have a job (received or processing), oldest first, across all shops (the sweeper)."""
    query = (
        select(PrivacyRequest)
        .where(PrivacyRequest.status.in_(OPEN_STATUSES))
        # A storefront request waits for the merchant; it has a job only once they start one (``processing``).
        .where((PrivacyRequest.source != STOREFRONT_SOURCE) | (PrivacyRequest.status == RequestStatus.PROCESSING))
        .order_by(PrivacyRequest.received_at)
        .limit(limit)
    )
    return session.scalars(query).all()


# -- state changes, made by jobs and by the merchant ------------------------------


def mark_processing(session: Session, privacy_request: PrivacyRequest) -> None:
    privacy_request.status = RequestStatus.PROCESSING
    privacy_request.started_at = utcnow()
    privacy_request.attempts += 1
    audit.record(session, privacy_request.shop_id, actor="system", action="job.started",
                 privacy_request_id=privacy_request.id, detail={"attempt": privacy_request.attempts})


def mark_completed(session: Session, privacy_request: PrivacyRequest, detail: dict[str, object]) -> None:
    privacy_request.status = RequestStatus.COMPLETED
    privacy_request.completed_at = utcnow()
    privacy_request.failure_reason = None
    action = "report.compiled" if privacy_request.kind in REPORT_KINDS else "data.erased"
    audit.record(session, privacy_request.shop_id, actor="system", action=action,
                 privacy_request_id=privacy_request.id, detail=detail)


def mark_failed(session: Session, privacy_request: PrivacyRequest, reason: str, *, final: bool) -> None:
    """Record a failed attempt. Only the last attempt moves the request to ``failed``."""
    privacy_request.failure_reason = reason[:2000]
    if final:
        privacy_request.status = RequestStatus.FAILED
    audit.record(session, privacy_request.shop_id, actor="system", action="job.failed",
                 privacy_request_id=privacy_request.id, detail={"reason": reason[:500], "final": final})


def mark_closed(session: Session, privacy_request: PrivacyRequest, *, outcome: str, actor: str) -> None:
    """Close a request that another party finished (Shopify's redact after a storefront erasure). Does not commit."""
    previous = privacy_request.status
    privacy_request.status = RequestStatus.CLOSED
    privacy_request.closed_at = utcnow()
    privacy_request.outcome = outcome
    audit.record(session, privacy_request.shop_id, actor=actor, action="request.closed",
                 privacy_request_id=privacy_request.id, detail={"outcome": outcome, "previous_status": previous})
