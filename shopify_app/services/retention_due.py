"""Customers past retention: found in Shopify every week, erased in one go when the merchant says so.

A customer is due when they have no order and Shopify has not updated them for more than three
years (the period the default policy gives customers: "three years after collection or the last
contact"). Shopify's search (``updated_at:<… orders_count:0``, sorted by ``UPDATED_AT`` as Shopify
advises for that filter) does the filtering; each node is checked again here, because the search
index can lag behind the data. Only ids and Shopify's dates are stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.encryption import TokenCipher
from shopify_app.errors import NotFoundError, failure_reason
from shopify_app.models import MAX_CUSTOMER_ID, RetentionDueCustomer, RetentionErasureBatch, RetentionScan, Shop, utcnow
from shopify_app.platform import queries
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.services import audit, erasure, shopify_customers, shops
from shopify_app.services.identifiers import salted_hash
from shopify_app.services.months import add_months
from shopify_app.services.request_actions import InvalidFormError, RequestStateError

INACTIVITY_MONTHS = 36
ERASABLE = ("due", "failed")
MAX_IDS_PER_BATCH = 10_000


@dataclasses.dataclass(frozen=True)
class FoundCustomer:
    customer_id: int
    created_at: dt.datetime | None
    updated_at: dt.datetime


def search_query(cutoff: dt.datetime) -> str:
    """Shopify search syntax: no order, and not updated since ``cutoff`` (a quoted UTC timestamp)."""
    return f"updated_at:<'{cutoff.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}' orders_count:0"


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def find_due_customers(admin: ShopifyAdminClient, shop_domain: str, token: str,
                       cutoff: dt.datetime) -> tuple[list[FoundCustomer], int]:
    """Every customer Shopify says is due, checked again; and how many pages that took.

    Pages of 250 cost about 252 points; the client paces them by Shopify's throttle status.
    """
    found: list[FoundCustomer] = []
    pages: set[int] = set()
    for node, result in admin.paginate(shop_domain, token, queries.RETENTION_DUE_CUSTOMERS_QUERY,
                                       {"query": search_query(cutoff)}, ("customers",)):
        pages.add(id(result))
        updated = _time(node.get("updatedAt"))
        if updated is None or updated >= cutoff or int(node.get("numberOfOrders") or 0) != 0:
            continue
        number = shopify_customers.customer_number(node["id"])
        found.append(FoundCustomer(number, _time(node.get("createdAt")), updated))
    return found, len(pages)


def scan_shop(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, shop_id: int, *,
              now: dt.datetime | None = None) -> RetentionScan:
    """Search one shop and store its retention-due list (customers no longer due leave it). Commits."""
    now = now or utcnow()
    db.begin_write(session)
    shop = session.get(Shop, shop_id)
    if shop is None:
        session.rollback()
        raise NotFoundError("No such shop.")
    cutoff = add_months(now, -INACTIVITY_MONTHS)
    scan = RetentionScan(shop_id=shop_id, started_at=now, status="running", cutoff=cutoff, customers_due=0, pages=0)
    session.add(scan)
    session.commit()
    try:
        token = shops.usable_access_token(session, admin, cipher, shop)
        found, pages = find_due_customers(admin, shop.domain, token, cutoff)
    except Exception as exc:
        session.rollback()
        db.begin_write(session)
        scan = session.get(RetentionScan, scan.id)
        scan.status, scan.finished_at, scan.error = "failed", utcnow(), failure_reason(exc)[:2000]
        session.commit()
        raise
    session.commit()
    db.begin_write(session)
    scan = session.get(RetentionScan, scan.id)
    _store_due(session, shop_id, found, now)
    scan.status, scan.finished_at, scan.pages = "done", utcnow(), pages
    scan.customers_due = session.scalar(select(func.count()).select_from(RetentionDueCustomer).where(
        RetentionDueCustomer.shop_id == shop_id, RetentionDueCustomer.status == "due")) or 0
    audit.record(session, shop_id, actor="system", action="retention.scanned",
                 detail={"customers_due": scan.customers_due, "cutoff": cutoff.isoformat(), "pages": pages})
    session.commit()
    return scan


def _store_due(session: Session, shop_id: int, found: list[FoundCustomer], now: dt.datetime) -> None:
    existing = {row.customer_id: row for row in session.scalars(
        select(RetentionDueCustomer).where(RetentionDueCustomer.shop_id == shop_id))}
    found_ids = {customer.customer_id for customer in found}
    gone = [row.id for row in existing.values() if row.status == "due" and row.customer_id not in found_ids]
    if gone:
        session.execute(delete(RetentionDueCustomer).where(RetentionDueCustomer.id.in_(gone)))
    for customer in found:
        row = existing.get(customer.customer_id)
        if row is None:
            session.add(RetentionDueCustomer(shop_id=shop_id, customer_id=customer.customer_id, status="due",
                                             shopify_created_at=customer.created_at,
                                             shopify_updated_at=customer.updated_at, found_at=now))
        elif row.status == "due":
            row.shopify_updated_at = customer.updated_at


def list_due(session: Session, shop: Shop, *, limit: int, offset: int) -> dict[str, Any]:
    """The shop's retention-due list with its last scan, for the admin."""
    scan = session.scalars(select(RetentionScan).where(RetentionScan.shop_id == shop.id)
                           .order_by(RetentionScan.id.desc()).limit(1)).first()
    rows = session.scalars(select(RetentionDueCustomer).where(RetentionDueCustomer.shop_id == shop.id)
                           .order_by(RetentionDueCustomer.shopify_updated_at, RetentionDueCustomer.id)
                           .limit(limit).offset(offset)).all()
    counts = dict(session.execute(select(RetentionDueCustomer.status, func.count()).where(
        RetentionDueCustomer.shop_id == shop.id).group_by(RetentionDueCustomer.status)).all())
    return {
        "last_scan": None if scan is None else {
            "id": scan.id, "status": scan.status, "started_at": scan.started_at.isoformat(),
            "finished_at": scan.finished_at.isoformat() if scan.finished_at else None,
            "cutoff": scan.cutoff.isoformat(), "customers_due": scan.customers_due, "error": scan.error},
        "counts": counts,
        "customers": [{"customer_id": r.customer_id, "status": r.status,
                       "admin_url": shopify_customers.admin_url(shop.domain, r.customer_id),
                       "shopify_updated_at": r.shopify_updated_at.isoformat(),
                       "erasure_requested_at": r.erasure_requested_at.isoformat() if r.erasure_requested_at else None,
                       "error": r.error} for r in rows],
        "limit": limit, "offset": offset,
    }


def start_erasure(session: Session, shop_id: int, data: dict[str, Any], *, actor: str) -> RetentionErasureBatch:
    """Put the chosen due customers (``"all": true`` or ``"customer_ids": [...]``) in a new batch. Commits.

    The web layer queues the batch job after the commit.
    """
    everyone = data.get("all") is True
    ids = data.get("customer_ids")
    if not everyone and (not isinstance(ids, list) or not ids or len(ids) > MAX_IDS_PER_BATCH
                         or any(type(i) is not int or not 0 < i <= MAX_CUSTOMER_ID for i in ids)):
        raise InvalidFormError("The form has errors.", {"customer_ids": "A list of customer ids, or all: true."})
    db.begin_write(session)
    query = select(RetentionDueCustomer).where(RetentionDueCustomer.shop_id == shop_id,
                                               RetentionDueCustomer.status.in_(ERASABLE))
    if not everyone:
        query = query.where(RetentionDueCustomer.customer_id.in_(ids))
    rows = session.scalars(query).all()
    if not rows:
        session.rollback()
        raise RequestStateError("None of these customers is waiting for erasure.")
    batch = RetentionErasureBatch(shop_id=shop_id, actor=actor, status="queued", total=len(rows), succeeded=0,
                                  failed=0, created_at=utcnow())
    session.add(batch)
    session.flush()
    for row in rows:
        row.status, row.batch_id, row.error = "queued", batch.id, None
    audit.record(session, shop_id, actor=actor, action="retention.erasure_started",
                 detail={"batch_id": batch.id, "customers": len(rows)})
    session.commit()
    return batch


def batch_json(batch: RetentionErasureBatch) -> dict[str, Any]:
    return {"id": batch.id, "status": batch.status, "total": batch.total, "succeeded": batch.succeeded,
            "failed": batch.failed, "remaining": batch.total - batch.succeeded - batch.failed,
            "created_at": batch.created_at.isoformat(),
            "finished_at": batch.finished_at.isoformat() if batch.finished_at else None}


def get_batch(session: Session, shop_id: int, batch_id: int) -> RetentionErasureBatch:
    batch = session.get(RetentionErasureBatch, batch_id)
    if batch is None or batch.shop_id != shop_id:
        raise NotFoundError("No such batch.")
    return batch


def run_erasure_batch(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, batch_id: int, *,
                      chunk: int = 50) -> RetentionErasureBatch | None:
    """Erase every queued customer of the batch, one at a time, committing progress after each. Resumable.

    For each: ``customerRequestDataErasure`` in Shopify, then what we hold, then an audit entry
    with a salted hash of the id. A Shopify refusal marks that customer ``failed`` and goes on;
    Shopify being down raises (the job is retried and starts where it stopped).
    """
    db.begin_write(session)
    batch = session.get(RetentionErasureBatch, batch_id)
    if batch is None or batch.status == "done":
        session.rollback()
        return batch
    shop = session.get(Shop, batch.shop_id)
    assert shop is not None
    batch.status = "running"
    batch.started_at = batch.started_at or utcnow()
    session.commit()
    token = shops.usable_access_token(session, admin, cipher, shop)
    while True:
        pending: Sequence[RetentionDueCustomer] = session.scalars(
            select(RetentionDueCustomer).where(RetentionDueCustomer.batch_id == batch_id,
                                               RetentionDueCustomer.status == "queued")
            .order_by(RetentionDueCustomer.id).limit(chunk)).all()
        session.commit()
        if not pending:
            break
        for row in pending:
            _erase_one(session, admin, shop, token, batch_id, row.id, row.customer_id)
    db.begin_write(session)
    batch = session.get(RetentionErasureBatch, batch_id)
    batch.status, batch.finished_at = "done", utcnow()
    audit.record(session, shop.id, actor="system", action="retention.erasure_finished",
                 detail={"batch_id": batch_id, "succeeded": batch.succeeded, "failed": batch.failed})
    session.commit()
    return batch


def _erase_one(session: Session, admin: ShopifyAdminClient, shop: Shop, token: str, batch_id: int, row_id: int,
               customer_id: int) -> None:
    error = None
    try:
        outcome = shopify_customers.request_erasure(admin, shop.domain, token, customer_id)
    except shopify_customers.ShopifyRefusedError as exc:
        outcome, error = "refused", str(exc)
    db.begin_write(session)
    row = session.get(RetentionDueCustomer, row_id)
    batch = session.get(RetentionErasureBatch, batch_id)
    if error:
        row.status, row.error = "failed", error[:2000]
        batch.failed += 1
        audit.record(session, shop.id, actor="system", action="retention.erasure_failed",
                     detail={"batch_id": batch_id, "customer": salted_hash(str(customer_id)), "error": error[:500]})
    else:
        proof = erasure.erase_customer_by_id(session, shop.id, customer_id)
        row.status, row.erasure_requested_at = "erasure_requested", utcnow()
        batch.succeeded += 1
        audit.record(session, shop.id, actor="system", action="retention.customer_erased",
                     detail={"batch_id": batch_id, "customer": salted_hash(str(customer_id)), "shopify": outcome,
                             "counts": proof["counts"]})
    session.commit()


def mark_batch_failed(session: Session, batch_id: int, reason: str) -> None:
    """The job's last attempt failed: the batch stops where it was (the merchant may start another). Commits."""
    db.begin_write(session)
    batch = session.get(RetentionErasureBatch, batch_id)
    if batch is not None and batch.status != "done":
        batch.status = "failed"
        batch.finished_at = utcnow()
        session.execute(RetentionDueCustomer.__table__.update().where(
            RetentionDueCustomer.batch_id == batch_id, RetentionDueCustomer.status == "queued").values(status="due"))
        audit.record(session, batch.shop_id, actor="system", action="retention.erasure_failed",
                     detail={"batch_id": batch_id, "reason": reason[:500]})
    session.commit()
