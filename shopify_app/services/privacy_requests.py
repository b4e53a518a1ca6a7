"""Privacy requests: accepting webhook deliveries, listing them, and moving them through their states."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Select, and_, bindparam, insert, literal, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.errors import NotFoundError
from shopify_app.models import (
    DATA_REQUEST_UNIQUE_INDEX,
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


class ConcurrentDelivery(Exception):
    """Another transaction stored one of the batch's webhook ids, or one of its Shopify data requests under
    another webhook id, first: roll back and accept the batch again (it then sees the other's rows)."""


def raced_on_a_data_request(exc: DBAPIError) -> bool:
    """Whether the database refused a request because another transaction stored the same Shopify data request
    meanwhile (the unique index :data:`models.DATA_REQUEST_UNIQUE_INDEX`; PostgreSQL only: SQLite's writers
    never overlap)."""
    diagnostics = getattr(exc.orig, "diag", None)
    return isinstance(exc, IntegrityError) and getattr(diagnostics, "constraint_name", None) == \
        DATA_REQUEST_UNIQUE_INDEX


RequestKey = tuple[str, int, object]
"""What makes two deliveries the same request: (kind, shop id, Shopify's request id or the customer id)."""


@dataclasses.dataclass(frozen=True)
class _Match:
    id: int
    kind: str


# Built once: a statement's cache key is then memoized, and only the bound values change per batch.
_SEEN_DELIVERIES = select(WebhookDelivery.webhook_id, WebhookDelivery.privacy_request_id).where(
    WebhookDelivery.webhook_id.in_(bindparam("webhook_ids", expanding=True)))
_SHOPS = select(Shop).where(Shop.domain.in_(bindparam("domains", expanding=True)))
_OF_KIND = (PrivacyRequest.kind == bindparam("kind")) & PrivacyRequest.shop_id.in_(
    bindparam("shop_ids", expanding=True))
_OPEN = PrivacyRequest.status.in_(OPEN_STATUSES)
_SAME_REQUESTS: dict[str, Select[Any]] = {
    # kind -> (id, shop id, the value that identifies the request within the shop)
    RequestKind.DATA_REQUEST: select(PrivacyRequest.id, PrivacyRequest.shop_id, PrivacyRequest.shopify_request_id)
    .where(_OF_KIND, PrivacyRequest.shopify_request_id.in_(bindparam("values", expanding=True)))
    .order_by(PrivacyRequest.id),
    RequestKind.CUSTOMER_REDACT: select(PrivacyRequest.id, PrivacyRequest.shop_id, PrivacyRequest.customer_id)
    .where(_OF_KIND, _OPEN, PrivacyRequest.customer_id.in_(bindparam("values", expanding=True)))
    .order_by(PrivacyRequest.id),
    RequestKind.SHOP_REDACT: select(PrivacyRequest.id, PrivacyRequest.shop_id, literal(None))
    .where(_OF_KIND, _OPEN).order_by(PrivacyRequest.id),
}
_STOREFRONT_ERASURES = (
    select(PrivacyRequest.id, StorefrontRequest.customer_ref)
    .join(StorefrontRequest, StorefrontRequest.privacy_request_id == PrivacyRequest.id)
    .where(PrivacyRequest.kind == RequestKind.ERASURE, PrivacyRequest.status == RequestStatus.COMPLETED,
           PrivacyRequest.shop_id.in_(bindparam("shop_ids", expanding=True)),
           StorefrontRequest.customer_ref.in_(bindparam("refs", expanding=True)))
    .order_by(PrivacyRequest.id)
)


def accept_deliveries(session: Session, deliveries: Sequence[Delivery]) -> list[AcceptedDelivery]:
    """Store verified deliveries and the requests they create in one transaction, then commit.

    The batch costs a handful of statements, not a few per delivery (the webhook intake's group commit,
    ``services/webhook_intake.py``); new shops and storefront erasures closed here cost a few more. A
    webhook id seen before, or earlier in the batch, is a duplicate and changes nothing. The unique webhook
    id still decides between concurrent transactions: if another one stored one of these ids first, this
    raises :class:`ConcurrentDelivery` with nothing stored, and the caller rolls back and calls again (the
    other one has committed by then, so the id is seen). Rows are written in webhook id and domain order, so
    two processes' batches lock them in the same order.
    """
    db.begin_write(session)
    now = utcnow()
    webhook_ids = {delivery.webhook_id for delivery in deliveries}
    seen = dict(session.execute(_SEEN_DELIVERIES, {"webhook_ids": list(webhook_ids)}).all())
    fresh: dict[str, Delivery] = {}  # first delivery of each new webhook id, by webhook id (a stable lock order)
    for delivery in sorted(deliveries, key=lambda d: d.webhook_id):
        if delivery.webhook_id not in seen:
            fresh.setdefault(delivery.webhook_id, delivery)
    if not fresh:  # only redeliveries: change nothing (no shop is created again after shop/redact erased it)
        session.rollback()
        return [AcceptedDelivery(seen[d.webhook_id], None, duplicate=True) for d in deliveries]
    live = _live_shops(session, fresh.values())  # by webhook id; deliveries for an erased shop have none
    requests = [d for d in fresh.values() if d.topic is not Topic.APP_UNINSTALLED and d.webhook_id in live]
    keys = {d.webhook_id: _request_key(live[d.webhook_id], d) for d in requests}
    matches = _find_same_requests(session, list(keys.values()))
    new = [d for d in requests if keys[d.webhook_id] not in matches]
    created = _new_requests(session, live, new, now)
    matches.update(created)
    creators = {}  # the delivery that created each new request (later ones of the same key repeat it)
    for delivery in new:
        creators.setdefault(keys[delivery.webhook_id], delivery.webhook_id)

    inserted = db.insert_many_unless_exist(session, WebhookDelivery, [
        {"webhook_id": d.webhook_id, "event_id": d.event_id, "topic": d.topic.value,
         "shop_id": live[d.webhook_id].id if d.webhook_id in live else None, "triggered_at": d.triggered_at,
         "api_version": d.api_version, "received_at": now,
         "privacy_request_id": matches[keys[d.webhook_id]].id if d.webhook_id in keys else None}
        for d in fresh.values()], unique="webhook_id")
    if inserted != set(fresh):
        raise ConcurrentDelivery()
    for delivery in fresh.values():
        if delivery.topic is Topic.APP_UNINSTALLED and delivery.webhook_id in live:
            shops.mark_uninstalled(session, live[delivery.webhook_id])
    audit.record_many(session, [
        audit.Entry(live[d.webhook_id].id, actor="shopify", action="webhook.received",
                    privacy_request_id=matches[keys[d.webhook_id]].id,
                    detail={"topic": d.topic.value, "webhook_id": d.webhook_id})
        for d in requests])
    for delivery in requests:
        match = matches[keys[delivery.webhook_id]]
        if match.kind == RequestKind.ERASURE:  # Shopify has now carried out a storefront erasure
            privacy_request = session.get(PrivacyRequest, match.id)
            if privacy_request is not None and privacy_request.status != RequestStatus.CLOSED:
                mark_closed(session, privacy_request, outcome="erased", actor="shopify")
        if delivery.topic is Topic.SHOP_REDACT:
            shop = live[delivery.webhook_id]
            if shop.shopify_shop_id is None:
                shop.shopify_shop_id = delivery.payload.shop_id  # type: ignore[union-attr]
    session.commit()

    accepted: dict[str, AcceptedDelivery] = {}
    results = []
    for delivery in deliveries:
        if delivery.webhook_id in seen:
            results.append(AcceptedDelivery(seen[delivery.webhook_id], None, duplicate=True))
        elif delivery.webhook_id in accepted:  # sent twice in this batch
            results.append(dataclasses.replace(accepted[delivery.webhook_id], duplicate=True, created=False))
        else:
            key = keys.get(delivery.webhook_id)
            match = matches[key] if key is not None else None
            accepted[delivery.webhook_id] = AcceptedDelivery(
                match.id if match else None, match.kind if match else None, duplicate=False,
                created=key is not None and creators.get(key) == delivery.webhook_id)
            results.append(accepted[delivery.webhook_id])
    return results


def _live_shops(session: Session, deliveries: Iterable[Delivery]) -> dict[str, Shop]:
    """The shop of each delivery, by webhook id, created if unknown; none for a delivery that Shopify triggered
    before shop/redact erased its shop, if the shop has not installed the app again since (no row).

    Such a delivery is stored without a shop, so that its redeliveries stay duplicates, and creates nothing:
    there is no merchant to hand a report to and nothing of the shop's left to erase (its tombstone is the
    proof). One triggered after the erasure comes from a shop that installed the app again, and may arrive
    before the merchant first opens it (which creates the row): the shop is created as for any unknown one.
    """
    deliveries = list(deliveries)
    domains = {delivery.shop_domain for delivery in deliveries}
    found = {shop.domain: shop for shop in session.scalars(_SHOPS, {"domains": list(domains)})}
    erased_at = shops.erasure_times(session, sorted(domains - found.keys()))

    def before_erasure(delivery: Delivery) -> bool:
        at = erased_at.get(delivery.shop_domain)
        return at is not None and (delivery.triggered_at is None or delivery.triggered_at <= at)

    kept = [delivery for delivery in deliveries if not before_erasure(delivery)]
    for domain in sorted({delivery.shop_domain for delivery in kept} - found.keys()):
        found[domain] = shops.get_or_create_shop(session, domain)
    return {delivery.webhook_id: found[delivery.shop_domain] for delivery in kept}


def _request_key(shop: Shop, delivery: Delivery) -> RequestKey:
    payload = delivery.payload
    if isinstance(payload, CustomersDataRequestPayload):
        return (RequestKind.DATA_REQUEST, shop.id, payload.data_request_id)
    if isinstance(payload, CustomersRedactPayload):
        return (RequestKind.CUSTOMER_REDACT, shop.id, payload.customer.id)
    return (RequestKind.SHOP_REDACT, shop.id, None)


def _find_same_requests(session: Session, keys: list[RequestKey]) -> dict[RequestKey, _Match]:
    """Requests that these deliveries repeat under other webhook ids (the handlers' own idempotency).

    One query per kind present, whatever the number of deliveries; the oldest match wins.
    """
    found: dict[RequestKey, _Match] = {}
    wanted = set(keys)
    for kind, statement in _SAME_REQUESTS.items():
        of_kind = [key for key in wanted if key[0] == kind]
        if not of_kind:
            continue
        rows = session.execute(statement, {"kind": kind, "shop_ids": list({key[1] for key in of_kind}),
                                           "values": list({key[2] for key in of_kind})})
        for request_id, shop_id, value in rows:
            if (kind, shop_id, value) in wanted:
                found.setdefault((kind, shop_id, value), _Match(request_id, kind))
    found.update(_storefront_erasures_awaiting_shopify(
        session, [key for key in wanted if key[0] == RequestKind.CUSTOMER_REDACT and key not in found]))
    return found


def _storefront_erasures_awaiting_shopify(session: Session, keys: list[RequestKey]) -> dict[RequestKey, _Match]:
    """Storefront erasures whose own part is done (our data erased, Shopify asked to erase): Shopify's redact ends
    them.

    Their customer ids were erased with the rest, so they are found by the hash kept for this purpose.
    """
    if not keys:
        return {}
    by_ref = {customer_ref(key[1], int(key[2])): key for key in keys}  # type: ignore[call-overload]
    found: dict[RequestKey, _Match] = {}
    rows = session.execute(_STOREFRONT_ERASURES, {"shop_ids": list({key[1] for key in keys}),
                                                  "refs": list(by_ref)})
    for request_id, ref in rows:
        found.setdefault(by_ref[ref], _Match(request_id, RequestKind.ERASURE))
    return found


def _new_requests(session: Session, shop_by_webhook_id: dict[str, Shop], deliveries: list[Delivery],
                  received_at: dt.datetime) -> dict[RequestKey, _Match]:
    """Insert one request per new key (deliveries of the same key in one batch share it): one statement."""
    rows: dict[RequestKey, dict[str, object]] = {}
    for delivery in deliveries:
        shop = shop_by_webhook_id[delivery.webhook_id]
        key = _request_key(shop, delivery)
        if key not in rows:
            rows[key] = _request_row(shop, delivery, received_at)
    if not rows:
        return {}
    table = PrivacyRequest.__table__
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = session.execute(statement, list(rows.values())).scalars().all()
    return {key: _Match(request_id, key[0]) for key, request_id in zip(rows, ids, strict=True)}


def _request_row(shop: Shop, delivery: Delivery, received_at: dt.datetime) -> dict[str, object]:
    return {"shop_id": shop.id, "kind": TOPIC_KINDS[delivery.topic], "source": "webhook",
            "status": RequestStatus.RECEIVED, "received_at": received_at, "due_at": received_at + RESPONSE_PERIOD,
            **request_fields(delivery)}


def request_fields(delivery: Delivery) -> dict[str, Any]:
    """The columns of the request a delivery creates that come from its payload."""
    payload = delivery.payload
    customer = payload.customer if isinstance(payload, (CustomersDataRequestPayload, CustomersRedactPayload)) else None
    return {
        "customer_id": customer.id if customer else None,
        "customer_email": customer.email if customer else None,
        "customer_phone": customer.phone if customer else None,
        "orders_requested": list(payload.orders_requested) if isinstance(payload, CustomersDataRequestPayload)
        else [],
        "orders_to_redact": list(payload.orders_to_redact) if isinstance(payload, CustomersRedactPayload) else [],
        "shopify_request_id": payload.data_request_id if isinstance(payload, CustomersDataRequestPayload) else None,
    }


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


def lock_request(session: Session, privacy_request_id: int) -> PrivacyRequest | None:
    """The request, read anew and locked against other writers of it until the transaction ends (PostgreSQL;
    SQLite's writers already take the whole database).

    ``FOR NO KEY UPDATE``: rows that merely point to it (a redelivery's webhook delivery, an audit entry) take a
    key-share lock, which this one lets through, so they do not wait behind a report being written.
    """
    return session.get(PrivacyRequest, privacy_request_id, with_for_update={"key_share": True},
                       populate_existing=True)


def is_anonymised(privacy_request: PrivacyRequest) -> bool:
    """Whether an erasure of its customer blanked the request (``erasure.erase_customer_data``): nothing is left
    that identifies them."""
    return privacy_request.customer_id is None and not privacy_request.customer_email \
        and not privacy_request.customer_phone


def open_requests(session: Session, *, page_size: int = 1000) -> Iterator[list[PrivacyRequest]]:
    """Requests that must have a job (received or processing), across all shops (the sweeper): pages of at
    most ``page_size``, oldest first, until none is left, so that a backlog bigger than a page is all seen."""
    query = (
        select(PrivacyRequest)
        .where(PrivacyRequest.status.in_(OPEN_STATUSES))
        # A storefront request waits for the merchant; it has a job only once they start one (``processing``).
        .where((PrivacyRequest.source != STOREFRONT_SOURCE) | (PrivacyRequest.status == RequestStatus.PROCESSING))
        .order_by(PrivacyRequest.received_at, PrivacyRequest.id)
        .limit(page_size)
    )
    page = session.scalars(query).all()
    while page:
        yield list(page)
        last = page[-1]
        # Compared column by column, not as a row value: each bound value then goes through its column's type
        # (UTCDateTime stores naive UTC; a bare datetime would be cast with the session's time zone).
        page = session.scalars(query.where(or_(
            PrivacyRequest.received_at > last.received_at,
            and_(PrivacyRequest.received_at == last.received_at, PrivacyRequest.id > last.id)))).all()


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
