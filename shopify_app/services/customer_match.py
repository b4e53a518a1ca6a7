"""Which of our rows are one customer's, in one shop.

One rule for the subject-access report (GDPR Art. 15) and for the erasure (Art. 17), so that a report shows
everything an erasure would delete: privacy requests matched by Shopify customer id, email (case-insensitive)
or phone, but never one that names another customer id; consent records by customer id, and the anonymous
ones of every visitor id seen with that customer (the same browser before logging in); storefront form
submissions behind those requests, and the unconfirmed ones sent from the customer's email address.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, false, func, or_, select

from shopify_app.models import ConsentRecord, PrivacyRequest, StorefrontRequest


def customer_requests_filter(shop_id: int, customer_id: int | None, email: str | None,
                             phone: str | None) -> ColumnElement[bool]:
    """The condition on ``PrivacyRequest`` rows; it matches none if nothing identifies the customer.

    A request that names another customer id is someone else's, whatever its email or phone: Shopify keeps
    both unique per customer in a shop, so the same value there means a logged-in shopper typed another
    address in the storefront form (unverified), or the value has moved to another customer since.
    """
    contacts: list[ColumnElement[bool]] = []
    if email:
        # Folded by the database on both sides: Python's lower() and SQL's differ beyond ASCII.
        contacts.append(func.lower(PrivacyRequest.customer_email) == func.lower(email))
    if phone:
        contacts.append(PrivacyRequest.customer_phone == phone)
    matchers: list[ColumnElement[bool]] = []
    if customer_id is not None:
        matchers.append(PrivacyRequest.customer_id == customer_id)
        if contacts:
            matchers.append(and_(PrivacyRequest.customer_id.is_(None), or_(*contacts)))
    else:
        matchers.extend(contacts)
    return and_(PrivacyRequest.shop_id == shop_id, or_(*matchers)) if matchers else false()


def customer_consent_records_filter(shop_id: int, customer_id: int) -> ColumnElement[bool]:
    """The condition on ``ConsentRecord`` rows. Only the anonymous records of a shared visitor id: another
    customer who logged in on the same browser keeps theirs."""
    visitor_ids = select(ConsentRecord.visitor_id).where(
        ConsentRecord.shop_id == shop_id, ConsentRecord.customer_id == customer_id).scalar_subquery()
    return and_(ConsentRecord.shop_id == shop_id,
                or_(ConsentRecord.customer_id == customer_id,
                    and_(ConsentRecord.customer_id.is_(None), ConsentRecord.visitor_id.in_(visitor_ids))))


def linked_storefront_requests_filter(shop_id: int, request_ids: Sequence[int]) -> ColumnElement[bool]:
    """The condition on ``StorefrontRequest`` rows behind the customer's requests (``request_ids``)."""
    return and_(StorefrontRequest.shop_id == shop_id, StorefrontRequest.privacy_request_id.in_(request_ids))


def unconfirmed_storefront_requests_filter(shop_id: int, email: str | None) -> ColumnElement[bool]:
    """The condition on ``StorefrontRequest`` rows never confirmed (no request yet) from the customer's email."""
    if not email:
        return false()
    return and_(StorefrontRequest.shop_id == shop_id, StorefrontRequest.privacy_request_id.is_(None),
                func.lower(StorefrontRequest.email) == func.lower(email))


def customer_storefront_requests_filter(shop_id: int, email: str | None,
                                        request_ids: Sequence[int]) -> ColumnElement[bool]:
    """The condition on every ``StorefrontRequest`` row of the customer: both of the above."""
    return or_(linked_storefront_requests_filter(shop_id, request_ids),
               unconfirmed_storefront_requests_filter(shop_id, email))
