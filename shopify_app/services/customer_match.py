"""Which of our rows are one customer's, in one shop.

One rule for the subject-access report (GDPR Art. 15) and for the erasure (Art. 17), so that a report shows
everything an erasure would delete: privacy requests matched by Shopify customer id, email (case-insensitive)
or phone; consent records by customer id, and the anonymous ones of every visitor id seen with that customer
(the same browser before logging in).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, func, or_, select

from shopify_app.models import ConsentRecord, PrivacyRequest


def customer_requests_filter(shop_id: int, customer_id: int | None, email: str | None,
                             phone: str | None) -> ColumnElement[bool]:
    """The condition on ``PrivacyRequest`` rows; it matches none if nothing identifies the customer."""
    matchers: list[ColumnElement[bool]] = []
    if customer_id is not None:
        matchers.append(PrivacyRequest.customer_id == customer_id)
    if email:
        # Folded by the database on both sides: Python's lower() and SQL's differ beyond ASCII.
        matchers.append(func.lower(PrivacyRequest.customer_email) == func.lower(email))
    if phone:
        matchers.append(PrivacyRequest.customer_phone == phone)
    return and_(PrivacyRequest.shop_id == shop_id, or_(*matchers)) if matchers else false()


def customer_consent_records_filter(shop_id: int, customer_id: int) -> ColumnElement[bool]:
    """The condition on ``ConsentRecord`` rows. Only the anonymous records of a shared visitor id: another
    customer who logged in on the same browser keeps theirs."""
    visitor_ids = select(ConsentRecord.visitor_id).where(
        ConsentRecord.shop_id == shop_id, ConsentRecord.customer_id == customer_id).scalar_subquery()
    return and_(ConsentRecord.shop_id == shop_id,
                or_(ConsentRecord.customer_id == customer_id,
                    and_(ConsentRecord.customer_id.is_(None), ConsentRecord.visitor_id.in_(visitor_ids))))
