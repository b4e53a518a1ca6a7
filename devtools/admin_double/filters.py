"""Search fields, sort keys and paging helpers for customers and orders.

See :mod:`.search` for the query syntax; the fields supported here are listed there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from . import connections as conn
from .data import ShopState, gid_number
from .search import FieldSpec, compile_query

__all__ = ["CUSTOMER_SORT", "ORDER_FIELDS", "ORDER_SORT", "amount_spent", "customer_fields",
           "customer_text", "email_of", "filter_items", "order_text", "page", "phone_of"]


def email_of(c: Mapping[str, Any]) -> str | None:
    return c["defaultEmailAddress"]["emailAddress"] if c["defaultEmailAddress"] else None


def phone_of(c: Mapping[str, Any]) -> str | None:
    return c["defaultPhoneNumber"]["phoneNumber"] if c["defaultPhoneNumber"] else None


def amount_spent(shop: ShopState, c: Mapping[str, Any]) -> Decimal:
    return sum((Decimal(o["totalPriceSet"]["shopMoney"]["amount"])
                for o in shop.customer_orders(c) if not o["cancelledAt"]), Decimal(0))


def customer_fields(shop: ShopState) -> dict[str, FieldSpec]:
    return {
        "id": (lambda c: c["id"], "id"),
        "email": (email_of, "str"),
        "phone": (phone_of, "str"),
        "first_name": (lambda c: c["firstName"], "str"),
        "last_name": (lambda c: c["lastName"], "str"),
        "state": (lambda c: c["state"], "str"),
        "tag": (lambda c: c["tags"], "list"),
        "orders_count": (lambda c: len(shop.customer_orders(c)), "int"),
        "amount_spent": (lambda c: amount_spent(shop, c), "decimal"),
        "created_at": (lambda c: c["createdAt"], "date"),
        "updated_at": (lambda c: c["updatedAt"], "date"),
        "country": (lambda c: [v for a in c["_addresses"]
                               for v in (a["countryCodeV2"], a["country"])], "list"),
    }


def customer_text(c: Mapping[str, Any]) -> list[str | None]:
    return [c["firstName"], c["lastName"], email_of(c), phone_of(c)]


def _order_status(o: Mapping[str, Any]) -> str:
    return "cancelled" if o["cancelledAt"] else "closed" if o["closed"] else "open"


ORDER_FIELDS: dict[str, FieldSpec] = {
    "id": (lambda o: o["id"], "id"),
    "name": (lambda o: [o["name"], o["name"].lstrip("#")], "list"),
    "customer_id": (lambda o: o["_customer_id"], "id"),
    "email": (lambda o: o["email"], "str"),
    "created_at": (lambda o: o["createdAt"], "date"),
    "updated_at": (lambda o: o["updatedAt"], "date"),
    "processed_at": (lambda o: o["processedAt"], "date"),
    "financial_status": (lambda o: o["displayFinancialStatus"], "str"),
    "fulfillment_status": (lambda o: [o["displayFulfillmentStatus"],
                                      "shipped" if o["displayFulfillmentStatus"] == "FULFILLED"
                                      else "unshipped"], "list"),
    "status": (_order_status, "str"),
    "tag": (lambda o: o["tags"], "list"),
}


def order_text(o: Mapping[str, Any]) -> list[str | None]:
    return [o["name"], o["email"]]


def filter_items(items: list[dict[str, Any]], query: str | None,
                 fields: Mapping[str, FieldSpec], text: Callable[[Any], list[str | None]], *,
                 path: str, now: datetime, warnings_sink: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """Keep the items matching ``query``; unknown fields are reported to ``warnings_sink``."""
    if not query:
        return items
    warnings: list[dict[str, str]] = []
    predicate = compile_query(query, fields, text, warnings, now)
    if warnings:
        warnings_sink.append({"path": [path], "query": query, "warnings": warnings})
    return [item for item in items if predicate(item)]


CUSTOMER_SORT = {"CREATED_AT": conn.field_key("createdAt"),
                 "UPDATED_AT": conn.field_key("updatedAt"),
                 "NAME": lambda c: (f"{c['firstName'] or ''} {c['lastName'] or ''}".strip(),
                                    gid_number(c["id"]) or 0)}
ORDER_SORT = {"CREATED_AT": conn.field_key("createdAt"),
              "UPDATED_AT": conn.field_key("updatedAt"),
              "PROCESSED_AT": conn.field_key("processedAt"),
              "ORDER_NUMBER": lambda o: (o["number"], gid_number(o["id"]) or 0),
              "TOTAL_PRICE": lambda o: (float(o["totalPriceSet"]["shopMoney"]["amount"]),
                                        gid_number(o["id"]) or 0)}


def page(items: list[dict[str, Any]], args: dict[str, Any], sorts: Mapping[str, Any],
          default_sort: str = "ID") -> dict[str, Any]:
    key = sorts.get(args.get("sortKey") or default_sort, conn.id_key)
    return conn.paginate(items, first=args.get("first"), last=args.get("last"),
                         after=args.get("after"), before=args.get("before"),
                         reverse=bool(args.get("reverse")), key=key)
