"""What fulfilment asks Shopify about one customer: find them, count their orders, erase them, unsubscribe them.

Each call goes through the Admin API client (retries, throttling) with a document from
``platform/queries.py``. Shopify's ``userErrors`` come back as :class:`ShopifyRefusedError`, so
the merchant sees Shopify's own message.
"""

from __future__ import annotations

from typing import Any

from shopify_app.errors import AppError, ShopifyApiError
from shopify_app.platform import queries
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.services.reports import customer_gid

MARKETING_CHANNELS = ("email", "sms")
"""``sms`` is the phone number's consent, which Shopify applies to SMS (and which our form offers for WhatsApp too)."""


class ShopifyRefusedError(AppError):
    """Shopify answered with ``userErrors`` (422): the change was not made."""

    status_code = 422

    def __init__(self, message: str, user_errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.user_errors = user_errors


def admin_url(shop_domain: str, customer_id: int) -> str:
    """The customer's page in Shopify admin."""
    return f"https://admin.shopify.com/store/{store_handle(shop_domain)}/customers/{customer_id}"


def store_handle(shop_domain: str) -> str:
    return shop_domain.removesuffix(".myshopify.com")


def customer_number(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1].split("?")[0])


def find_by_email(admin: ShopifyAdminClient, shop_domain: str, token: str, email: str) -> int | None:
    """The id of the one customer whose email is exactly ``email``, or None.

    The address is quoted (a phrase query), as Shopify documents for exact matches; our
    form accepts no quote characters in addresses, so it cannot break out of the quotes.
    """
    result = admin.graphql(shop_domain, token, queries.CUSTOMER_BY_EMAIL_QUERY, {"query": f'email:"{email}"'})
    nodes = ((result.data.get("customers") or {}).get("nodes")) or []
    matches = [n for n in nodes if n and ((n.get("defaultEmailAddress") or {}).get("emailAddress") or "").lower()
               == email.lower()]
    return customer_number(matches[0]["id"]) if len(matches) == 1 else None


def order_count(admin: ShopifyAdminClient, shop_domain: str, token: str, customer_id: int) -> int | None:
    """How many orders Shopify holds for the customer (None if Shopify does not know the customer)."""
    result = admin.graphql(shop_domain, token, queries.CUSTOMER_ORDER_COUNT_QUERY, {"id": customer_gid(customer_id)})
    customer = result.data.get("customer")
    return int(customer.get("numberOfOrders") or 0) if customer else None


def request_erasure(admin: ShopifyAdminClient, shop_domain: str, token: str, customer_id: int) -> str:
    """Ask Shopify to erase the customer (``customerRequestDataErasure``).

    Returns ``"requested"``, or ``"unknown_customer"`` when Shopify has no such customer any more
    (nothing left to erase there). Other refusals raise :class:`ShopifyRefusedError`.
    """
    result = admin.graphql(shop_domain, token, queries.CUSTOMER_REQUEST_DATA_ERASURE_MUTATION,
                           {"customerId": customer_gid(customer_id)})
    _raise_on_access_errors(result.errors)
    payload = result.data.get("customerRequestDataErasure") or {}
    errors = payload.get("userErrors") or []
    if any(e.get("code") == "DOES_NOT_EXIST" for e in errors):
        return "unknown_customer"
    if errors:
        raise ShopifyRefusedError("Shopify refused the erasure: " + _messages(errors), errors)
    return "requested"


def unsubscribe(admin: ShopifyAdminClient, shop_domain: str, token: str, customer_id: int, channel: str) -> str:
    """Record the customer's objection to marketing on ``channel``; return the state Shopify now holds."""
    if channel == "email":
        document = queries.CUSTOMER_EMAIL_MARKETING_CONSENT_UPDATE_MUTATION
        field = "customerEmailMarketingConsentUpdate"
        variables = {"input": {"customerId": customer_gid(customer_id),
                               "emailMarketingConsent": {"marketingState": "UNSUBSCRIBED"}}}
    elif channel == "sms":
        document, field = queries.CUSTOMER_SMS_MARKETING_CONSENT_UPDATE_MUTATION, "customerSmsMarketingConsentUpdate"
        variables = {"input": {"customerId": customer_gid(customer_id),
                               "smsMarketingConsent": {"marketingState": "UNSUBSCRIBED"}}}
    else:
        raise ValueError(f"unknown marketing channel {channel!r}")
    # consentUpdatedAt is left out: Shopify then records its own current time (ours may be ahead of its clock).
    result = admin.graphql(shop_domain, token, document, variables)
    _raise_on_access_errors(result.errors)
    payload = result.data.get(field) or {}
    errors = payload.get("userErrors") or []
    if errors:
        raise ShopifyRefusedError(f"Shopify refused the {channel} objection: " + _messages(errors), errors)
    customer = payload.get("customer") or {}
    if channel == "email":
        return str((customer.get("defaultEmailAddress") or {}).get("marketingState") or "UNSUBSCRIBED")
    return str(((customer.get("defaultPhoneNumber") or {}).get("smsMarketingConsent") or {}).get("state")
               or "UNSUBSCRIBED")


def _messages(errors: list[dict[str, Any]]) -> str:
    return "; ".join(str(e.get("message")) for e in errors)[:500]


def _raise_on_access_errors(errors: tuple[dict[str, Any], ...]) -> None:
    # A mutation that errors at the top level (missing scope, throttled to the end) changed nothing.
    if errors:
        raise ShopifyApiError("Shopify refused the call: " + "; ".join(str(e.get("message")) for e in errors)[:500])
