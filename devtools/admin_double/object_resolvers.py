"""Resolvers of object-type fields (Customer, Order, LineItem, MailingAddress, themes,
metafields, app installation).  Plain data fields are read from the stored dicts; only
computed fields and connections are registered here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from . import connections as conn
from .data import money, normalize_namespace, parse_time
from .filters import (
    ORDER_FIELDS,
    ORDER_SORT,
    amount_spent,
    email_of,
    filter_items,
    order_text,
    page,
    phone_of,
)
from .resolvers import RESOLVERS, RequestContext, require_scope, resolver, visible_orders
from .themes import file_nodes

__all__: list[str] = []


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context


@resolver("Customer.displayName")
def _display_name(c: Mapping[str, Any], _: GraphQLResolveInfo) -> str:
    name = " ".join(p for p in (c["firstName"], c["lastName"]) if p)
    return name or email_of(c) or phone_of(c) or ""


@resolver("Customer.numberOfOrders")
def _number_of_orders(c: Mapping[str, Any], info: GraphQLResolveInfo) -> str:
    return str(len(_ctx(info).shop.customer_orders(c)))  # UnsignedInt64 is a JSON string


@resolver("Customer.amountSpent")
def _spent(c: Mapping[str, Any], info: GraphQLResolveInfo) -> dict[str, str]:
    shop = _ctx(info).shop
    return money(amount_spent(shop, c), shop.shop["currencyCode"])


@resolver("Customer.canDelete")
def _can_delete(c: Mapping[str, Any], info: GraphQLResolveInfo) -> bool:
    return not _ctx(info).shop.customer_orders(c)


@resolver("Customer.lifetimeDuration")
def _lifetime(c: Mapping[str, Any], info: GraphQLResolveInfo) -> str:
    days = (_ctx(info).now - parse_time(c["createdAt"])).days
    return f"about {days // 365} years" if days >= 365 else f"{days} days"


@resolver("Customer.addressesV2")
def _addresses(c: Mapping[str, Any], _: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return page(list(c["_addresses"]), args, {})


@resolver("Customer.defaultAddress")
def _default_address(c: Mapping[str, Any], _: GraphQLResolveInfo) -> dict[str, Any] | None:
    return c["_addresses"][0] if c["_addresses"] else None


@resolver("Customer.orders")
def _customer_orders(c: Mapping[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict:
    ctx = _ctx(info)
    require_scope(ctx, "read_orders", "orders")
    items = filter_items(visible_orders(ctx, ctx.shop.customer_orders(c)), args.get("query"),
                         ORDER_FIELDS, order_text, path="customer.orders", now=ctx.now,
                         warnings_sink=ctx.search_warnings)
    return page(items, args, ORDER_SORT)


@resolver("Customer.lastOrder")
def _last_order(c: Mapping[str, Any], info: GraphQLResolveInfo) -> dict[str, Any] | None:
    ctx = _ctx(info)
    orders = visible_orders(ctx, ctx.shop.customer_orders(c))
    return max(orders, key=lambda o: o["createdAt"], default=None)


@resolver("MailingAddress.formatted")
def _formatted(a: Mapping[str, Any], _: GraphQLResolveInfo, withName: bool = False,
               withCompany: bool = True) -> list[str]:
    lines = [a.get("name") if withName else None, a.get("company") if withCompany else None,
             a.get("address1"), a.get("address2"),
             " ".join(p for p in (a.get("zip"), a.get("city")) if p) or None,
             a.get("province"), a.get("country")]
    return [line for line in lines if line]


@resolver("Order.customer")
def _order_customer(o: Mapping[str, Any], info: GraphQLResolveInfo) -> dict[str, Any] | None:
    return _ctx(info).shop.customers.get(o["_customer_id"]) if o["_customer_id"] else None


@resolver("Order.lineItems")
def _line_items(o: Mapping[str, Any], _: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return page(list(o["_line_items"]), args, {})


@resolver("Order.displayAddress")
def _display_address(o: Mapping[str, Any], _: GraphQLResolveInfo) -> dict[str, Any] | None:
    return o["shippingAddress"] or o["billingAddress"]


@resolver("Order.billingAddressMatchesShippingAddress")
def _addresses_match(o: Mapping[str, Any], _: GraphQLResolveInfo) -> bool:
    strip = ("id",)
    ship, bill = o["shippingAddress"] or {}, o["billingAddress"] or {}
    return {k: v for k, v in ship.items() if k not in strip} == \
        {k: v for k, v in bill.items() if k not in strip}


@resolver("Order.statusPageUrl")
def _status_url(o: Mapping[str, Any], info: GraphQLResolveInfo, **_: Any) -> str:
    return f"https://{_ctx(info).shop.domain}/orders/{o['legacyResourceId']}/status"


#: Order money fields answered from another stored bag (no refunds/discounts/tips in the
#: double: ``totalRefundedSet`` is a zero bag).
_ORDER_ALIASES = {
    "currentTotalPriceSet": "totalPriceSet", "originalTotalPriceSet": "totalPriceSet",
    "totalReceivedSet": "totalPriceSet", "netPaymentSet": "totalPriceSet",
    "currentSubtotalPriceSet": "subtotalPriceSet", "currentShippingPriceSet":
    "totalShippingPriceSet", "currentTotalTaxSet": "totalTaxSet",
    "currentTotalDiscountsSet": "totalDiscountsSet", "currentCartDiscountAmountSet":
    "totalDiscountsSet", "totalOutstandingSet": "totalRefundedSet",
    "totalCapturableSet": "totalRefundedSet", "totalTipReceivedSet": "totalRefundedSet",
}
for _alias, _target in _ORDER_ALIASES.items():
    RESOLVERS[("Order", _alias)] = (lambda t: lambda o, _i, **_a: o[t])(_target)
_LINE_ITEM_ALIASES = {  # no discounts; every line item is fulfilled (zero unfulfilled)
    "discountedTotalSet": "originalTotalSet", "priceAfterAllDiscountsBeforeTaxesSet":
    "originalTotalSet", "discountedUnitPriceAfterAllDiscountsSet": "originalUnitPriceSet",
    "unfulfilledDiscountedTotalSet": "totalDiscountSet",
    "unfulfilledOriginalTotalSet": "totalDiscountSet",
}
for _alias, _target in _LINE_ITEM_ALIASES.items():
    RESOLVERS[("LineItem", _alias)] = (lambda t: lambda li, _i, **_a: li[t])(_target)
for _name in ("fulfillments", "refunds", "transactions", "taxLines"):
    RESOLVERS[("Order", _name)] = lambda o, _i, **_a: []
RESOLVERS[("LineItem", "taxLines")] = lambda li, _i, **_a: []


@resolver("AppInstallation.accessScopes")
def _access_scopes(_: Any, info: GraphQLResolveInfo) -> list[dict[str, str]]:
    return [{"handle": s, "description": s.replace("_", " ").capitalize()}
            for s in sorted(_ctx(info).shop.scopes)]


@resolver("AppInstallation.app")
def _app(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    ctx = _ctx(info)
    return {"__typename": "App", "id": "gid://shopify/App/4242", "title": "Privacy App",
            "handle": ctx.app_handle, "apiKey": ctx.api_key, "embedded": True,
            "published": False, "developerName": "Privacy App", "features": []}


@resolver("OnlineStoreTheme.files")
def _theme_files(theme: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict:
    found, missing = file_nodes(_ctx(info).shop, theme, args.get("filenames"))
    for number, item in enumerate(found):
        item["id"] = f"gid://shopify/OnlineStoreThemeFile/{number + 1}"
    page = conn.paginate(found, first=args.get("first"), after=args.get("after"),
                         require_size=False)
    page["userErrors"] = missing
    return page


@resolver("Customer.metafield", "Order.metafield", "Shop.metafield", "AppInstallation.metafield")
def _metafield(owner: Mapping[str, Any], info: GraphQLResolveInfo, key: str,
               namespace: str | None = None) -> dict[str, Any] | None:
    stored = _ctx(info).shop.metafields.get(owner["id"], {})
    return stored.get((normalize_namespace(_ctx(info).shop, namespace), key))


@resolver("Customer.metafields", "Order.metafields", "Shop.metafields",
          "AppInstallation.metafields")
def _metafields(owner: Mapping[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict:
    items = list(_ctx(info).shop.metafields.get(owner["id"], {}).values())
    if args.get("namespace"):
        items = [m for m in items if m["namespace"] == args["namespace"]]
    if args.get("keys"):
        items = [m for m in items if f"{m['namespace']}.{m['key']}" in args["keys"]]
    return page(items, args, {})
