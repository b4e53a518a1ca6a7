"""Erase what we hold: one customer (``customers/redact``) or a whole shop (``shop/redact``).

Both are safe to run twice: the second run finds nothing left and erases nothing.
What remains is proof without identifiers: counts and salted hashes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from shopify_app.models import (
    AuditEntry,
    ConsentRecord,
    OAuthState,
    PrivacyReport,
    PrivacyRequest,
    Shop,
    ShopSettings,
    ShopTombstone,
    StorefrontRequest,
)
from shopify_app.services.identifiers import domain_hash, salted_hash


def _customer_identifiers(privacy_request: PrivacyRequest) -> dict[str, Any]:
    values = {"customer_id": privacy_request.customer_id, "email": privacy_request.customer_email,
              "phone": privacy_request.customer_phone}
    return {key: salted_hash(str(value)) for key, value in values.items() if value}


def erase_customer_data(session: Session, privacy_request: PrivacyRequest) -> dict[str, Any]:
    """Delete or anonymise everything about the request's customer in its shop. Does not commit.

    Returns the proof recorded in the audit log: counts and salted hashes.
    """
    shop_id = privacy_request.shop_id
    proof: dict[str, Any] = {"identifiers": _customer_identifiers(privacy_request)}
    matchers = []
    if privacy_request.customer_id is not None:
        matchers.append(PrivacyRequest.customer_id == privacy_request.customer_id)
    if privacy_request.customer_email:
        matchers.append(func.lower(PrivacyRequest.customer_email) == privacy_request.customer_email.lower())
    if privacy_request.customer_phone:
        matchers.append(PrivacyRequest.customer_phone == privacy_request.customer_phone)
    related_ids = list(session.scalars(
        select(PrivacyRequest.id).where(PrivacyRequest.shop_id == shop_id, or_(*matchers))
    )) if matchers else []
    related_ids = sorted({*related_ids, privacy_request.id} - {None})

    consent_deleted = 0
    if privacy_request.customer_id is not None:
        # A visitor id seen with this customer is theirs too: its anonymous records go as well.
        visitor_ids = select(ConsentRecord.visitor_id).where(
            ConsentRecord.shop_id == shop_id, ConsentRecord.customer_id == privacy_request.customer_id
        ).scalar_subquery()
        consent_deleted = session.execute(
            delete(ConsentRecord).where(ConsentRecord.shop_id == shop_id, or_(
                ConsentRecord.customer_id == privacy_request.customer_id, ConsentRecord.visitor_id.in_(visitor_ids)))
        ).rowcount
    reports_deleted = session.execute(
        delete(PrivacyReport).where(PrivacyReport.shop_id == shop_id, PrivacyReport.privacy_request_id.in_(related_ids))
    ).rowcount
    orders_redacted = len(privacy_request.orders_to_redact or [])
    anonymised = session.execute(
        update(PrivacyRequest)
        .where(PrivacyRequest.shop_id == shop_id, PrivacyRequest.id.in_(related_ids))
        .values(customer_id=None, customer_email=None, customer_phone=None, orders_requested=[], orders_to_redact=[])
        .execution_options(synchronize_session="fetch")
    ).rowcount
    storefront_erased = _erase_storefront_requests(session, privacy_request, related_ids)
    proof["counts"] = {"consent_records_deleted": consent_deleted, "reports_deleted": reports_deleted,
                       "privacy_requests_anonymised": anonymised, "orders_to_redact": orders_redacted,
                       "storefront_requests_erased": storefront_erased}
    return proof


def _erase_storefront_requests(session: Session, privacy_request: PrivacyRequest, related_ids: list[int]) -> int:
    """What shoppers wrote in the storefront form: blanked on their requests, unconfirmed ones deleted."""
    shop_id = privacy_request.shop_id
    blanked = session.execute(
        update(StorefrontRequest)
        .where(StorefrontRequest.shop_id == shop_id, StorefrontRequest.privacy_request_id.in_(related_ids))
        .values(email=None, message=None, correction=None, handling_note=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount if related_ids else 0
    deleted = 0
    if privacy_request.customer_email:
        email = privacy_request.customer_email.lower()
        deleted = session.execute(
            delete(StorefrontRequest).where(StorefrontRequest.shop_id == shop_id,
                                            StorefrontRequest.privacy_request_id.is_(None),
                                            func.lower(StorefrontRequest.email) == email)
        ).rowcount
    return blanked + deleted


def erase_customer_by_id(session: Session, shop_id: int, customer_id: int) -> dict[str, Any]:
    """Erase what we hold about one customer found without a request (retention). Does not commit."""
    return erase_customer_data(session, PrivacyRequest(shop_id=shop_id, customer_id=customer_id))


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

