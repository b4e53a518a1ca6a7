"""Resolver machinery and ``QueryRoot`` fields of the double.

Object-type fields live in :mod:`.object_resolvers`, mutations in :mod:`.mutations`; both
register into :data:`RESOLVERS` with :func:`resolver` when imported.

:func:`field_resolver` is passed to graphql-core's ``execute``.  For each field it

1. denies protected customer data (``name``/``email``/``phone``/``address`` fields, as
   marked in the schema) that the shop has not granted: the field errors with
   ``extensions.code = "ACCESS_DENIED"`` and resolves to null (propagating to the parent
   for non-null fields, as GraphQL requires);
2. calls a registered resolver for ``(TypeName, field)`` if there is one;
3. otherwise reads the key of the source dict (root fields without a resolver raise a
   ``NOT_IMPLEMENTED`` error so missing features are obvious).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from .data import ShopState, gid_number, utcnow
from .filters import (
    CUSTOMER_SORT,
    ORDER_FIELDS,
    ORDER_SORT,
    customer_fields,
    customer_text,
    filter_items,
    order_text,
    page,
)

__all__ = ["RESOLVERS", "RequestContext", "access_denied", "field_resolver", "lookup_node",
           "parse_gid", "require_scope", "resolver", "visible_orders"]

Resolver = Callable[..., Any]
RESOLVERS: dict[tuple[str, str], Resolver] = {}
PROTECTED_DOC = "https://shopify.dev/docs/apps/launch/protected-customer-data"


@dataclass
class RequestContext:
    """Per-request state handed to resolvers as ``info.context``."""

    shop: ShopState
    protected: Mapping[tuple[str, str], str]
    api_key: str = ""
    app_handle: str = "privacy-app"
    now: datetime = field(default_factory=utcnow)
    mutations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    search_warnings: list[dict[str, Any]] = field(default_factory=list)
    #: The double's :class:`~.bulk.BulkOperations` (None while a bulk query itself runs).
    bulk: Any = None


def resolver(*keys: str) -> Callable[[Resolver], Resolver]:
    """Register ``fn`` for ``"Type.field"`` keys."""

    def register(fn: Resolver) -> Resolver:
        for key in keys:
            type_name, field_name = key.split(".")
            RESOLVERS[(type_name, field_name)] = fn
        return fn

    return register


def access_denied(message: str, **extra: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "ACCESS_DENIED", **extra})


def field_resolver(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    ctx: RequestContext = info.context
    key = (info.parent_type.name, info.field_name)
    category = ctx.protected.get(key)
    if category is not None and not ctx.shop.protected_access.get(category, True):
        raise access_denied(
            f"This app is not approved to access the {info.field_name} field of the "
            f"{key[0]} object ({category} is protected customer data). "
            f"See {PROTECTED_DOC} for more details.", documentation=PROTECTED_DOC)
    fn = RESOLVERS.get(key)
    if fn is not None:
        return fn(source, info, **args)
    if key[0] in ("QueryRoot", "Mutation"):
        raise GraphQLError(f"`{info.field_name}` is not implemented by the Admin API double.",
                           extensions={"code": "NOT_IMPLEMENTED"})
    if isinstance(source, Mapping):
        return source.get(info.field_name)
    return getattr(source, info.field_name, None)


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context


def require_scope(ctx: RequestContext, scope: str, field_name: str) -> None:
    if not ctx.shop.has_scope(scope):
        raise access_denied(f"Access denied for {field_name} field. Required access: "
                            f"`{scope}` access scope.",
                            documentation="https://shopify.dev/api/usage/access-scopes")


def parse_gid(value: str) -> str:
    """Validate a global id (Shopify rejects malformed ids with a coercion error); an id of
    another type is valid but simply finds nothing."""
    base = str(value).split("?")[0]
    if not base.startswith("gid://shopify/") or gid_number(base) is None:
        raise GraphQLError(f"Invalid global id '{value}'",
                           extensions={"code": "argumentLiteralsIncompatible",
                                       "typeName": "CoercionError"})
    return base


# --------------------------------------------------------------------------- QueryRoot
@resolver("QueryRoot.shop")
def _shop(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    return _ctx(info).shop.shop


@resolver("QueryRoot.shopLocales")
def _shop_locales(_: Any, info: GraphQLResolveInfo, published: bool = False) -> list[dict]:
    return [loc for loc in _ctx(info).shop.locales if loc["published"] or not published]


@resolver("QueryRoot.currentAppInstallation")
def _installation(_: Any, info: GraphQLResolveInfo) -> dict[str, Any]:
    return _ctx(info).shop.app_installation


@resolver("QueryRoot.customer")
def _customer(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx = _ctx(info)
    require_scope(ctx, "read_customers", "customer")
    return ctx.shop.customers.get(parse_gid(id))


@resolver("QueryRoot.customers")
def _customers(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    require_scope(ctx, "read_customers", "customers")
    items = filter_items(list(ctx.shop.customers.values()), args.get("query"),
                         customer_fields(ctx.shop), customer_text, path="customers",
                         now=ctx.now, warnings_sink=ctx.search_warnings)
    return page(items, args, CUSTOMER_SORT)


def visible_orders(ctx: RequestContext, orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in orders if ctx.shop.order_visible(o, ctx.now)]


@resolver("QueryRoot.order")
def _order(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    ctx = _ctx(info)
    require_scope(ctx, "read_orders", "order")
    order = ctx.shop.orders.get(parse_gid(id))
    return order if order is not None and ctx.shop.order_visible(order, ctx.now) else None


@resolver("QueryRoot.orders")
def _orders(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    require_scope(ctx, "read_orders", "orders")
    orders = visible_orders(ctx, list(ctx.shop.orders.values()))
    if args.get("query"):  # a search reads the index, which learns of new orders late
        orders = [o for o in orders if ctx.shop.indexed(o)]
    items = filter_items(orders, args.get("query"), ORDER_FIELDS, order_text, path="orders",
                         now=ctx.now, warnings_sink=ctx.search_warnings)
    return page(items, args, ORDER_SORT, default_sort="PROCESSED_AT")


def lookup_node(ctx: RequestContext, node_id: str) -> dict[str, Any] | None:
    node = ctx.shop.nodes.get(parse_gid(node_id))
    if node is None:
        return None
    kind = node.get("__typename")
    if kind == "Customer":
        require_scope(ctx, "read_customers", "node")
    elif kind == "Order":
        require_scope(ctx, "read_orders", "node")
        if not ctx.shop.order_visible(node, ctx.now):
            return None
    return node


@resolver("QueryRoot.node")
def _node(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    return lookup_node(_ctx(info), id)


@resolver("QueryRoot.nodes")
def _nodes(_: Any, info: GraphQLResolveInfo, ids: list[str]) -> list[Any]:
    if len(ids) > 250:
        raise GraphQLError("The `ids` argument accepts at most 250 ids.",
                           extensions={"code": "MAX_PAGE_SIZE_EXCEEDED"})
    ctx = _ctx(info)
    results: list[Any] = []
    for node_id in ids:
        try:
            results.append(lookup_node(ctx, node_id))
        except GraphQLError as exc:  # graphql-core turns an Exception item into an item error
            results.append(exc)
    return results


@resolver("QueryRoot.themes")
def _themes(_: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    ctx = _ctx(info)
    require_scope(ctx, "read_themes", "themes")
    themes = [t for t in ctx.shop.themes
              if (not args.get("roles") or t["role"] in args["roles"])
              and (not args.get("names") or t["name"] in args["names"])]
    return page(themes, args, {})
