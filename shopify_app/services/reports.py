"""Compile a subject-access report (GDPR art. 15 and 20) for one privacy request.

The report gathers what Shopify holds about the customer (through the Admin
API), what we hold ourselves, and the merchant's policy facts, and says
plainly what could not be read and why.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.encryption import TokenCipher
from shopify_app.errors import ShopifyApiError, ShopifyUnauthorizedError, ShopNotInstalledError
from shopify_app.models import (
    AuditEntry,
    ConsentRecord,
    PrivacyReport,
    PrivacyRequest,
    RetentionDueCustomer,
    Shop,
    ShopSettings,
    StorefrontRequest,
    utcnow,
)
from shopify_app.platform import bulk_operations, queries
from shopify_app.platform.admin_client import GraphQLResult, IncompletePagesError, ShopifyAdminClient
from shopify_app.services import customer_match, report_rendering, shops

log = logging.getLogger(__name__)

REPORT_RETENTION = dt.timedelta(days=30)
ORDERS_OLDER_THAN_60_DAYS_SCOPE = "read_all_orders"
ORDER_NOT_READABLE = "Not readable: deleted, or older than 60 days without read_all_orders."


def customer_gid(customer_id: int) -> str:
    return f"gid://shopify/Customer/{customer_id}"


def order_gid(order_id: int) -> str:
    return f"gid://shopify/Order/{order_id}"


class _ShopifySource:
    """What the report reads from Shopify, collecting what could not be read instead of failing."""

    def __init__(self, admin: ShopifyAdminClient, shop: Shop, token: str, *, bulk_orders_from: int) -> None:
        self.admin, self.shop, self.token = admin, shop, token
        self.bulk_orders_from = bulk_orders_from  # Settings.bulk_orders_from
        self.unavailable: list[dict[str, str]] = []

    def _note_errors(self, source: str, result: GraphQLResult) -> None:
        for error in result.errors:
            code = (error.get("extensions") or {}).get("code", "ERROR")
            path = ".".join(str(p) for p in error.get("path") or ()) or source
            self.unavailable.append({"source": f"shopify.{path}", "reason": f"{code}: {error.get('message', '')}"})

    def shop_info(self) -> dict[str, Any]:
        result = self.admin.graphql(self.shop.domain, self.token, queries.SHOP_QUERY)
        self._note_errors("shop", result)
        return result.data

    def customer(self, customer_id: int) -> dict[str, Any] | None:
        result = self.admin.graphql(self.shop.domain, self.token, queries.CUSTOMER_QUERY, {"id": customer_gid(customer_id)})
        self._note_errors("customer", result)
        customer = result.data.get("customer")
        if customer is None and not result.errors:
            self.unavailable.append({"source": "shopify.customer",
                                     "reason": "Shopify has no customer with this id (it may have been deleted)."})
        if customer is not None:
            self._complete_connection(customer.get("addressesV2"), "customer.addressesV2",
                                      queries.CUSTOMER_ADDRESSES_QUERY, customer["id"], ("customer", "addressesV2"))
        return customer

    def orders(self, customer_id: int, order_ids: Sequence[int], number_of_orders: int = 0) -> list[dict[str, Any]]:
        """The requested orders (all the customer's when none are named), each with all its line items.

        ``number_of_orders`` is Shopify's count for the customer, read first, so that a
        customer with many orders is read in bulk rather than page by page.
        """
        expected = len(order_ids) if order_ids else number_of_orders
        orders = self._bulk_orders(customer_id, order_ids, number_of_orders) \
            if expected >= self.bulk_orders_from else None
        if orders is None:
            orders = list(self._orders_by_id(order_ids) if order_ids else self._customer_orders(customer_id))
            for order in orders:
                self._complete_line_items(order)
        if not self._reads_all_orders():
            self.unavailable.append({"source": "shopify.orders", "reason":
                                     "Orders older than 60 days cannot be read without the read_all_orders scope."})
        return orders

    def _reads_all_orders(self) -> bool:
        return ORDERS_OLDER_THAN_60_DAYS_SCOPE in (self.shop.granted_scopes or "").split(",")

    def _bulk_orders(self, customer_id: int, order_ids: Sequence[int],
                     number_of_orders: int) -> list[dict[str, Any]] | None:
        """The orders read by one bulk operation, shaped as the paged queries shape them; None if it failed.

        A failure is no error for the report: the caller reads the same orders page by page,
        which says (through ``unavailable``) whatever it cannot read. A bulk query finds orders
        through Shopify's search index, which learns of new orders late and is not where an
        order is read to say it is unreadable: requested orders it missed are read by id, and a
        customer's orders it did not all find are read page by page.
        """
        search = queries.orders_search_by_id(order_ids) if order_ids else queries.orders_search_by_customer(customer_id)
        try:
            result = bulk_operations.run_bulk_query(self.admin, self.shop.domain, self.token,
                                                    queries.orders_bulk_query(search))
            orders = bulk_operations.nest(result.objects, "lineItems")
        except ShopifyApiError as exc:
            log.warning("Bulk read of orders for shop %s failed, reading them page by page: %s", self.shop.id, exc)
            return None
        for order in orders:  # the whole connection came back: no page follows
            order["lineItems"] = {"nodes": order["lineItems"], "pageInfo": {"hasNextPage": False, "endCursor": None}}
        if not order_ids:
            # Only with read_all_orders can every counted order be read, so only then is a shortfall
            # a sign that the search missed some.
            if self._reads_all_orders() and len(orders) < number_of_orders:
                log.warning("Bulk read %d of the %d orders of a customer of shop %s; reading them page by page",
                            len(orders), number_of_orders, self.shop.id)
                return None
            return orders
        by_id = {order["id"]: order for order in orders}
        missed = [order_id for order_id in dict.fromkeys(order_ids) if order_gid(order_id) not in by_id]
        if missed:  # read by id, which also says which cannot be read at all, and why
            for order in self._orders_by_id(missed):
                self._complete_line_items(order)
                by_id[order["id"]] = order
        # In the request's order, as the paged path gives them.
        return [by_id[order_gid(order_id)] for order_id in order_ids if order_gid(order_id) in by_id]

    def _customer_orders(self, customer_id: int) -> list[dict[str, Any]]:
        orders, _ = self._read_pages("customer.orders", queries.CUSTOMER_ORDERS_QUERY,
                                     {"id": customer_gid(customer_id)}, ("customer", "orders"))
        return orders

    def _orders_by_id(self, order_ids: Sequence[int]) -> Iterator[dict[str, Any]]:
        size = queries.ORDER_PAGE_SIZE
        for start in range(0, len(order_ids), size):
            chunk = order_ids[start:start + size]
            result = self.admin.graphql(self.shop.domain, self.token, queries.ORDERS_BY_ID_QUERY,
                                        {"ids": [order_gid(i) for i in chunk]})
            self._note_errors("orders", result)
            for order_id, node in zip(chunk, result.data.get("nodes") or [None] * len(chunk), strict=False):
                if node is None:
                    self.unavailable.append({"source": f"shopify.order.{order_id}", "reason": ORDER_NOT_READABLE})
                else:
                    node.pop("__typename", None)  # an API detail: orders look the same whichever way they were read
                    yield node

    def _complete_line_items(self, order: dict[str, Any]) -> None:
        self._complete_connection(order.get("lineItems"), f"order.{order['id'].rsplit('/', 1)[-1]}.lineItems",
                                  queries.ORDER_LINE_ITEMS_QUERY, order["id"], ("order", "lineItems"))

    def _complete_connection(self, connection: dict[str, Any] | None, source: str, query: str, owner_id: str,
                             path: tuple[str, ...]) -> None:
        """Add to ``connection``, a first page read with its owner, the nodes of the pages after it.

        Its ``pageInfo`` then says only whether nodes are missing (``unavailable`` says why): no cursor in the
        report (it means nothing to the customer, and a bulk read has none), so the report is the same
        whichever way its data was read.
        """
        if not connection:
            return
        nodes = list(connection.get("nodes") or ())
        page_info = connection.get("pageInfo") or {}
        complete = not page_info.get("hasNextPage")
        if not complete:
            cursor = page_info.get("endCursor")
            if cursor:  # from the first page's end on: starting again from the first node would repeat it
                rest, complete = self._read_pages(source, query, {"id": owner_id}, path, after=cursor,
                                                  read_before=len(nodes))
                nodes.extend(rest)
            else:
                self._note_unread_rest(source, len(nodes), "Shopify said more follow, but gave no cursor to them.")
        connection["nodes"] = nodes
        connection["pageInfo"] = {"hasNextPage": not complete, "endCursor": None}

    def _read_pages(self, source: str, query: str, variables: dict[str, Any], path: tuple[str, ...], *,
                    after: str | None = None, read_before: int = 0) -> tuple[list[dict[str, Any]], bool]:
        """The nodes of a connection's pages (from ``after`` on), and whether none is missing.

        What a page says it could not read, and the pages that could not be read at all, are named in
        ``unavailable`` under ``source``. ``read_before``: how many nodes an earlier page gave.
        """
        nodes: list[dict[str, Any]] = []
        try:
            for page, result in self.admin.pages(self.shop.domain, self.token, query, variables, path, after=after):
                self._note_errors(source, result)
                nodes.extend(page)
        except IncompletePagesError as exc:
            self._note_unread_rest(source, read_before + len(nodes), str(exc))
            return nodes, False
        return nodes, True

    def _note_unread_rest(self, source: str, read: int, why: str) -> None:
        self.unavailable.append({"source": f"shopify.{source}",
                                 "reason": f"Only the first {read} could be read. {why}"})


def _order_count(customer: dict[str, Any] | None) -> int:
    """``numberOfOrders`` (an UnsignedInt64, sent as a string); 0 when unknown."""
    try:
        return int((customer or {}).get("numberOfOrders") or 0)
    except (TypeError, ValueError):
        return 0


def _our_records(session: Session, privacy_request: PrivacyRequest) -> dict[str, Any]:
    """Everything we hold about this customer in this shop, matched by id, email or phone (GDPR art. 15): the
    rows an erasure of the customer deletes or blanks (``erasure.erase_customer_data``), earlier reports aside."""
    shop_id = privacy_request.shop_id
    same_customer = customer_match.customer_requests_filter(
        shop_id, privacy_request.customer_id, privacy_request.customer_email, privacy_request.customer_phone)
    requests = session.scalars(
        select(PrivacyRequest).where(same_customer).order_by(PrivacyRequest.id)
    ).all() or [privacy_request]  # none when nothing identifies the customer
    request_ids = [r.id for r in requests]
    history = session.scalars(
        select(AuditEntry).where(AuditEntry.shop_id == shop_id,
                                 AuditEntry.privacy_request_id.in_(request_ids)).order_by(AuditEntry.id)
    ).all()
    consents: Sequence[ConsentRecord] = []
    retention_entry: RetentionDueCustomer | None = None
    if privacy_request.customer_id is not None:
        consents = session.scalars(
            select(ConsentRecord)
            .where(customer_match.customer_consent_records_filter(shop_id, privacy_request.customer_id))
            .order_by(ConsentRecord.recorded_at)
        ).all()
        retention_entry = session.scalars(select(RetentionDueCustomer).where(
            RetentionDueCustomer.shop_id == shop_id, RetentionDueCustomer.customer_id == privacy_request.customer_id
        )).one_or_none()
    storefront = _storefront_requests(session, shop_id, privacy_request.customer_email, request_ids)
    return {
        "privacy_requests": [
            {"id": r.id, "kind": r.kind, "source": r.source, "status": r.status, "outcome": r.outcome,
             "received_at": _iso(r.received_at), "due_at": _iso(r.due_at), "completed_at": _iso(r.completed_at),
             "closed_at": _iso(r.closed_at), "customer_id": r.customer_id, "email": r.customer_email,
             "phone": r.customer_phone, "orders_requested": list(r.orders_requested or ()),
             "orders_to_redact": list(r.orders_to_redact or ()), "merchant_note": r.note}
            for r in requests
        ],
        "storefront_requests": [
            {"request_id": s.privacy_request_id, "right": s.right, "marketing_channel": s.marketing_channel,
             "status": s.status, "language": s.language, "submitted_at": _iso(s.created_at),
             "confirmed_at": _iso(s.confirmed_at), "email": s.email, "message": s.message,
             "correction": s.correction, "handling_note": s.handling_note}
            for s in storefront
        ],
        "retention_list_entry": {
            "listed_at": _iso(retention_entry.found_at), "status": retention_entry.status,
            "shopify_created_at": _iso(retention_entry.shopify_created_at),
            "shopify_updated_at": _iso(retention_entry.shopify_updated_at),
            "erasure_requested_at": _iso(retention_entry.erasure_requested_at),
        } if retention_entry else None,
        "history": [{"request_id": e.privacy_request_id, "at": _iso(e.at), "action": e.action, "actor": e.actor}
                    for e in history],
        "consent_records": [
            {"recorded_at": _iso(c.recorded_at), "visitor_id": c.visitor_id, "action": c.action,
             "choices": {"analytics": c.analytics, "marketing": c.marketing, "preferences": c.preferences,
                         "sale_of_data": c.sale_of_data},
             "banner_revision": c.revision, "global_privacy_control": c.gpc, "ip_truncated": c.ip_truncated,
             "user_agent": c.user_agent}
            for c in consents
        ],
    }


def _storefront_requests(session: Session, shop_id: int, email: str | None,
                         request_ids: Sequence[int]) -> Sequence[StorefrontRequest]:
    """What the customer sent through the storefront form, as erasure finds it."""
    return session.scalars(select(StorefrontRequest)
                           .where(customer_match.customer_storefront_requests_filter(shop_id, email, request_ids))
                           .order_by(StorefrontRequest.id)).all()


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _language(settings: ShopSettings | None, shop_locale: str | None) -> str:
    chosen = settings.report_language if settings and settings.report_language != "auto" else (shop_locale or "en")
    return "fr" if chosen.lower().startswith("fr") else "en"


def _localized_policy(policy: dict[str, Any], language: str) -> dict[str, Any]:
    def pick(item: Any) -> Any:
        return item.get(language) or item.get("en") if isinstance(item, dict) else item

    return {key: [pick(i) for i in value] if isinstance(value, list) else pick(value) for key, value in policy.items()}


@dataclasses.dataclass
class ShopifyData:
    """What Shopify told us about the customer, and what it could not tell us."""

    shop_info: dict[str, Any]
    customer: dict[str, Any] | None
    orders: list[dict[str, Any]]
    unavailable: list[dict[str, str]]


def fetch_shopify_data(
    session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, privacy_request: PrivacyRequest, *,
    bulk_orders_from: int, last_attempt: bool = True,
) -> ShopifyData:
    """Read the customer and their orders from Shopify. Writes nothing (but a token refresh).

    Shopify errors that survive the client's retries propagate, so the job is
    retried and, in the end, fails visibly. A shop without a usable token is
    not an error: the report is built from what we hold and says so. So is a
    token Shopify refuses (HTTP 401), but only on the job's ``last_attempt``:
    before that it propagates, in case the refusal passes.
    """
    shop = session.get(Shop, privacy_request.shop_id)
    assert shop is not None
    try:
        return _read_shopify(session, admin, cipher, shop, privacy_request, bulk_orders_from=bulk_orders_from)
    except ShopNotInstalledError:
        reason = "The app has no access to the shop (it is uninstalled or its token expired)"
    except ShopifyUnauthorizedError:  # revoked: uninstalling does that at once, before Shopify tells us
        if not last_attempt:
            raise
        reason = "Shopify refused the app's access to the shop (the app was probably uninstalled)"
    return ShopifyData({}, None, [], [{"source": "shopify", "reason": f"{reason}, so nothing could be read from "
                                                                      "Shopify."}])


def _read_shopify(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, shop: Shop,
                  privacy_request: PrivacyRequest, *, bulk_orders_from: int) -> ShopifyData:
    token = shops.usable_access_token(session, admin, cipher, shop)
    source = _ShopifySource(admin, shop, token, bulk_orders_from=bulk_orders_from)
    shop_info = source.shop_info()
    customer: dict[str, Any] | None = None
    orders: list[dict[str, Any]] = []
    if privacy_request.customer_id is not None:
        customer = source.customer(privacy_request.customer_id)
        orders = source.orders(privacy_request.customer_id, privacy_request.orders_requested or [],
                               _order_count(customer))
    return ShopifyData(shop_info, customer, orders, source.unavailable)


def store_customer_report(
    session: Session, privacy_request: PrivacyRequest, shopify: ShopifyData, *, now: dt.datetime | None = None
) -> PrivacyReport:
    """Assemble the report from Shopify's data, ours and the policy; store it (replacing any earlier one).

    Does not commit.
    """
    now = now or utcnow()
    shop = session.get(Shop, privacy_request.shop_id)
    assert shop is not None
    shop_settings = session.get(ShopSettings, shop.id)
    shop_info = shopify.shop_info
    primary_locale = next((loc["locale"] for loc in shop_info.get("shopLocales") or [] if loc.get("primary")), None)
    language = _language(shop_settings, primary_locale or shop.locale)
    policy = dict(shop_settings.policy if shop_settings else {})
    document = {
        "report": {
            "type": "subject_access_report",
            "legal_basis": ["GDPR art. 15", "GDPR art. 20"],
            "request_id": privacy_request.id,
            "received_at": _iso(privacy_request.received_at),
            "due_at": _iso(privacy_request.due_at),
            "generated_at": now.isoformat(),
            "language": language,
        },
        "controller": {
            "shop": (shop_info.get("shop") or {}).get("name") or policy.get("controller") or shop.domain,
            "shop_domain": shop.domain,
            "contact_email": (shop_settings.contact_email if shop_settings else None) or policy.get("contact_email"),
            "dpo_email": shop_settings.dpo_email if shop_settings else None,
        },
        "customer": shopify.customer,
        "orders": shopify.orders,
        "held_by_this_app": _our_records(session, privacy_request),
        "policy": _localized_policy(policy, language),
        "unavailable": shopify.unavailable,
    }
    json_document = json.dumps(document, ensure_ascii=False, indent=2)
    html_document = report_rendering.render_html(document, language)
    report = session.scalars(select(PrivacyReport).where(PrivacyReport.privacy_request_id == privacy_request.id)).first()
    if report is None:
        report = PrivacyReport(shop_id=shop.id, privacy_request_id=privacy_request.id)
        session.add(report)
    report.language = language
    report.json_document = json_document
    report.html_document = html_document
    report.size_bytes = len(json_document.encode())
    report.sha256 = hashlib.sha256(json_document.encode()).hexdigest()
    report.created_at = now
    report.expires_at = now + REPORT_RETENTION
    session.flush()
    return report
