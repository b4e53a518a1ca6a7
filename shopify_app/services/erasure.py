"""Erase what we hold: one customer (``customers/redact``) or a whole shop (``shop/redact``).

Both are safe to run twice: the second run finds nothing left and erases nothing.
What remains is proof without identifiers: counts and salted hashes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from shopify_app.models import (
    AuditEntry,
    ConsentRecord,
    OAuthState,
    PrivacyReport,
    PrivacyRequest,
    RetentionDueCustomer,
    Shop,
    ShopSettings,
    ShopTombstone,
    StorefrontRequest,
)
from shopify_app.services import customer_match
from shopify_app.services.identifiers import domain_hash, salted_hash


def _customer_identifiers(privacy_request: PrivacyRequest) -> dict[str, Any]:
    values = {"customer_id": privacy_request.customer_id, "email": privacy_request.customer_email,
              "phone": privacy_request.customer_phone}
    return {key: salted_hash(str(value)) for key, value in values.items() if value}


def erase_customer_data(session: Session, privacy_request: PrivacyRequest, *,
                        keep_retention_entry: bool = False) -> dict[str, Any]:
    """Delete or anonymise everything about the request's customer in its shop. Does not commit.

    Returns the proof recorded in the audit log: counts and salted hashes. ``keep_retention_entry``: leave the
    customer's entry in the retention list (its id and Shopify's dates), for the retention erasure that records
    its outcome there; Shopify's ``customers/redact`` follows and removes it.
    """
    shop_id = privacy_request.shop_id
    # Read once: anonymising the customer's requests blanks these on ``privacy_request`` itself.
    customer_id, email = privacy_request.customer_id, privacy_request.customer_email
    proof: dict[str, Any] = {"identifiers": _customer_identifiers(privacy_request)}
    same_customer = customer_match.customer_requests_filter(shop_id, customer_id, email, privacy_request.customer_phone)
    # Locked first, in id order: a report job writing for one of them (``workers.privacy``) finishes before the
    # deletes below, whose snapshots then see its report, or it waits and finds its request anonymised.
    # FOR NO KEY UPDATE, as privacy_requests.lock_request; without an autoflush, which would lock a request
    # the caller changed (a storefront erasure's own) before the others, out of id order.
    with session.no_autoflush:
        related_ids = sorted({*session.scalars(select(PrivacyRequest.id).where(same_customer)
                                               .order_by(PrivacyRequest.id).with_for_update(key_share=True)),
                              privacy_request.id} - {None})

    consent_deleted = session.execute(
        delete(ConsentRecord).where(customer_match.customer_consent_records_filter(shop_id, customer_id))
    ).rowcount if customer_id is not None else 0
    reports_deleted = session.execute(
        delete(PrivacyReport).where(PrivacyReport.shop_id == shop_id, PrivacyReport.privacy_request_id.in_(related_ids))
    ).rowcount
    orders_redacted = len(privacy_request.orders_to_redact or [])
    anonymised = session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.shop_id == shop_id, PrivacyRequest.id.in_(related_ids))
        # The merchant's note may name the customer too.
        .values(customer_id=None, customer_email=None, customer_phone=None, note=None, orders_requested=[],
                orders_to_redact=[])
        .execution_options(synchronize_session="fetch")
    ).rowcount
    storefront_erased = _erase_storefront_requests(session, shop_id, email, related_ids)
    retention_due_deleted = session.execute(
        delete(RetentionDueCustomer).where(RetentionDueCustomer.shop_id == shop_id,
                                           RetentionDueCustomer.customer_id == customer_id,
                                           # a running retention batch records its outcome on it
                                           RetentionDueCustomer.status != "queued")
    ).rowcount if customer_id is not None and not keep_retention_entry else 0
    proof["counts"] = {"consent_records_deleted": consent_deleted, "reports_deleted": reports_deleted,
                       "privacy_requests_anonymised": anonymised, "orders_to_redact": orders_redacted,
                       "storefront_requests_erased": storefront_erased,
                       "retention_due_entries_deleted": retention_due_deleted}
    return proof


def _erase_storefront_requests(session: Session, shop_id: int, email: str | None, related_ids: list[int]) -> int:
    """What shoppers wrote in the storefront form: blanked on their requests, unconfirmed ones deleted."""
    blanked = session.execute(
        update(StorefrontRequest)
        .where(customer_match.linked_storefront_requests_filter(shop_id, related_ids))
        .values(email=None, message=None, correction=None, handling_note=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount if related_ids else 0
    deleted = session.execute(
        delete(StorefrontRequest).where(customer_match.unconfirmed_storefront_requests_filter(shop_id, email))
    ).rowcount if email else 0
    return blanked + deleted


def erase_customer_by_id(session: Session, shop_id: int, customer_id: int) -> dict[str, Any]:
    """Erase what we hold about one customer found without a request (retention). Does not commit."""
    return erase_customer_data(session, PrivacyRequest(shop_id=shop_id, customer_id=customer_id),
                               keep_retention_entry=True)


def erase_shop_data(session: Session, shop: Shop) -> dict[str, Any]:
    """Erase all of a shop's data, tokens included, leaving only a tombstone. Does not commit."""
    counts: dict[str, int] = {}
    for name, model in (("consent_records", ConsentRecord), ("privacy_reports", PrivacyReport),
                        ("audit_entries", AuditEntry), ("privacy_requests", PrivacyRequest),
                        ("shop_settings", ShopSettings)):
        counts[name] = session.execute(delete(model).where(model.shop_id == shop.id)).rowcount
    session.execute(delete(OAuthState).where(OAuthState.shop_domain == shop.domain))
    tombstone = ShopTombstone(shop_domain_hash=domain_hash(shop.domain), counts=counts)
    session.add(tombstone)
    session.execute(delete(Shop).where(Shop.id == shop.id))
    return {"counts": counts}

