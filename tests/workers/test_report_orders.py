"""Reports for customers with many orders: signed webhook → real RQ worker → the double over HTTP.

From ``Settings.bulk_orders_from`` orders on, the report reads them with a bulk
operation; the paged queries are its fallback. Both must put exactly the same orders in
the report, and whatever neither could read must be named in ``unavailable``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import pytest
from graphql import parse
from sqlalchemy import select

from devtools.admin_double import load_admin_schema
from devtools.admin_double.cost import CostBucket, estimate_cost
from devtools.admin_double.data import gid_number
from shopify_app.models import PrivacyReport, PrivacyRequest
from shopify_app.services import reports
from shopify_app.settings import Settings
from tests.conftest import DEMO_SHOP
from tests.signing import json_body

ORDERS = 250
BIG_ORDER_ITEMS = 12  # more than one page of line items (queries.LINE_ITEM_PAGE_SIZE)


@pytest.fixture
def customer(shopify_double) -> dict[str, Any]:
    """A customer with 250 one-item orders, 34 hours apart (42 of them in the last 60 days, none
    near that limit), and two recent orders of 12 items."""
    shopify_double.bulk.queued_seconds = 0.05  # the double's bulk timing, shortened for tests
    shopify_double.bulk.min_running_seconds = 0.05
    shopify_double.bucket = CostBucket(1e9, 1e9)  # only the paged comparisons would wait on it
    [customer] = shopify_double.seed_customers(DEMO_SHOP, 1, orders_each=ORDERS, order_spacing=dt.timedelta(hours=34))
    for _ in range(2):
        shopify_double.add_order(DEMO_SHOP, customer["id"], line_items=[
            {"title": f"Monture {i}", "price": "10.00", "sku": f"M-{i}"} for i in range(BIG_ORDER_ITEMS)])
    return customer


def order_ids(customer: dict[str, Any]) -> list[int]:
    return [int(gid_number(o)) for o in customer["_order_ids"]]


class Compile:
    """Post a ``customers/data_request`` and run the worker; return the report and the double's calls."""

    def __init__(self, post_webhook, run_worker, db_session, shopify_double) -> None:
        self.post_webhook, self.run_worker, self.db_session, self.double = (post_webhook, run_worker, db_session,
                                                                            shopify_double)
        self.request_id = 0
        self.requested_points = 0  # what the last compile's GraphQL calls asked of the cost bucket
        self.settings_of_jobs: Settings | None = None  # the worker's, if not the app's

    def __call__(self, customer: dict[str, Any], orders: list[int]) -> tuple[dict[str, Any], list[str]]:
        self.request_id += 1
        self.double.reset_records()
        body = json_body({"shop_id": 954889, "shop_domain": DEMO_SHOP, "orders_requested": orders,
                          "customer": {"id": gid_number(customer["id"]),
                                       "email": customer["defaultEmailAddress"]["emailAddress"], "phone": None},
                          "data_request": {"id": 70000 + self.request_id}})
        assert self.post_webhook("customers/data_request", body, webhook_id=f"many-{self.request_id}"
                                 ).status_code == 200
        self.run_worker(self.settings_of_jobs)
        self.db_session.rollback()
        privacy_request = self.db_session.scalars(select(PrivacyRequest).where(
            PrivacyRequest.shopify_request_id == str(70000 + self.request_id))).one()
        assert privacy_request.status == "completed", privacy_request.failure_reason
        row = self.db_session.scalars(select(PrivacyReport).where(
            PrivacyReport.privacy_request_id == privacy_request.id)).one()
        graphql = [r["json"] for r in self.double.requests if r["endpoint"] == "graphql"]
        self.requested_points = sum(estimate_cost(load_admin_schema(), parse(b["query"]), None, b["variables"])
                                    for b in graphql)
        calls = [str(b["query"]).split("(")[0].split("{")[0].split()[-1] for b in graphql]
        return json.loads(row.json_document), calls


@pytest.fixture
def compile_report(install_shop, post_webhook, run_worker, db_session, shopify_double) -> Compile:
    return Compile(post_webhook, run_worker, db_session, shopify_double)


@pytest.fixture
def paged_only(compile_report: Compile, settings: Settings):
    def switch() -> None:  # a worker configured never to read orders in bulk
        compile_report.settings_of_jobs = dataclasses.replace(settings, bulk_orders_from=10**9)

    return switch


def test_many_requested_orders_are_read_in_bulk_exactly_as_pages_would_read_them(
        install_shop, customer, compile_report, paged_only):
    install_shop()
    requested = order_ids(customer)
    bulk, calls = compile_report(customer, requested)
    assert calls.count("BulkOperationRunQuery") == 1 and "OrdersById" not in calls
    assert compile_report.requested_points < 100  # shop, customer, start, polls: nothing to wait for
    assert [gid_number(o["id"]) for o in bulk["orders"]] == requested  # the request's order
    assert bulk["unavailable"] == []
    big = [o for o in bulk["orders"] if len(o["lineItems"]["nodes"]) == BIG_ORDER_ITEMS]
    assert len(big) == 2 and [i["sku"] for i in big[0]["lineItems"]["nodes"]] == [
        f"M-{i}" for i in range(BIG_ORDER_ITEMS)]
    assert all(o["lineItems"]["nodes"] and o["shippingAddress"]["city"] == "Paris" for o in bulk["orders"])

    paged_only()
    paged, calls = compile_report(customer, requested)
    assert "BulkOperationRunQuery" not in calls and calls.count("OrdersById") == 11  # 252 orders, 25 a page
    assert calls.count("OrderLineItems") == 2  # the two big orders' second pages
    assert paged["orders"] == bulk["orders"]
    assert compile_report.requested_points > 8000  # 11 pages of 25 orders at about 828 points each


def test_a_failed_bulk_operation_falls_back_to_pages_and_the_report_is_still_complete(
        install_shop, customer, compile_report, shopify_double, paged_only):
    install_shop()
    requested = order_ids(customer)
    shopify_double.fail_next_bulk_operation("internal_server_error")  # partial data offered: not used
    report, calls = compile_report(customer, requested)
    assert calls.count("BulkOperationRunQuery") == 1 and calls.count("OrdersById") == 11
    [operation] = shopify_double.bulk.operations(DEMO_SHOP)
    assert (operation["status"], operation["errorCode"]) == ("FAILED", "INTERNAL_SERVER_ERROR")
    assert operation["partialDataUrl"]
    assert [gid_number(o["id"]) for o in report["orders"]] == requested and report["unavailable"] == []
    assert sum(len(o["lineItems"]["nodes"]) for o in report["orders"]) == ORDERS + 2 * BIG_ORDER_ITEMS

    shopify_double.fail_next("500", times=50, endpoint="download")  # a file that cannot be fetched
    again, calls = compile_report(customer, requested)
    assert calls.count("OrdersById") == 11 and again["orders"] == report["orders"]
    shopify_double.clear_failures()


def test_all_the_customers_orders_in_bulk_and_honest_about_old_ones(
        install_shop, customer, compile_report, shopify_double, paged_only):
    shopify_double.set_scopes(DEMO_SHOP, ["read_customers", "read_orders"])  # no read_all_orders
    install_shop()
    bulk, calls = compile_report(customer, [])
    assert calls.count("BulkOperationRunQuery") == 1  # Shopify counts 252 orders, of which 44 are readable
    assert len(bulk["orders"]) == 2 + 42
    assert any("read_all_orders" in u["reason"] for u in bulk["unavailable"])
    paged_only()
    paged, _ = compile_report(customer, [])
    assert sorted(o["id"] for o in paged["orders"]) == sorted(o["id"] for o in bulk["orders"])
    assert paged["unavailable"] == bulk["unavailable"]


def test_requested_orders_that_cannot_be_read_are_named(install_shop, customer, compile_report):
    install_shop()
    requested = [*order_ids(customer)[:150], 999999]  # an order the shop does not have (deleted)
    report, calls = compile_report(customer, requested)
    assert calls.count("BulkOperationRunQuery") == 1
    assert calls.count("OrdersById") == 1  # what the search did not find is read by id: null, so unreadable
    assert [gid_number(o["id"]) for o in report["orders"]] == requested[:150]
    assert report["unavailable"] == [{"source": "shopify.order.999999", "reason": reports.ORDER_NOT_READABLE}]


def test_orders_the_search_index_has_not_seen_yet_are_still_in_the_report(
        install_shop, customer, compile_report, shopify_double):
    install_shop()
    fresh = shopify_double.add_order(DEMO_SHOP, customer["id"], line_items=[{"title": "Étui", "price": "5"}])
    shopify_double.set_search_lag(DEMO_SHOP, 60)
    for order in shopify_double.store.shop(DEMO_SHOP).orders.values():
        if order is not fresh:
            order["_indexed_at"] -= 120  # long in the index; only the fresh order is not found yet
    requested = order_ids(customer)

    by_id, calls = compile_report(customer, requested)
    assert calls.count("BulkOperationRunQuery") == 1 and calls.count("OrdersById") == 1
    assert [gid_number(o["id"]) for o in by_id["orders"]] == requested and by_id["unavailable"] == []

    everything, calls = compile_report(customer, [])  # 253 counted, 252 found: read page by page
    assert calls.count("BulkOperationRunQuery") == 1 and calls.count("CustomerOrders") == 11
    assert sorted(o["id"] for o in everything["orders"]) == sorted(o["id"] for o in by_id["orders"])


def test_protected_data_refused_in_bulk_is_read_page_by_page_and_named(
        install_shop, customer, compile_report, shopify_double):
    shopify_double.set_protected_data_access(DEMO_SHOP, address=False)
    install_shop()
    report, calls = compile_report(customer, order_ids(customer))
    [operation] = shopify_double.bulk.operations(DEMO_SHOP)
    assert (operation["status"], operation["errorCode"]) == ("FAILED", "ACCESS_DENIED")
    assert calls.count("OrdersById") == 11 and len(report["orders"]) == ORDERS + 2
    assert all(o["shippingAddress"]["address1"] is None and o["shippingAddress"]["city"] == "Paris"
               for o in report["orders"])
    denied = {u["source"] for u in report["unavailable"] if u["reason"].startswith("ACCESS_DENIED")}
    assert "shopify.nodes.0.shippingAddress.address1" in denied


def test_paged_reads_wait_for_the_cost_bucket_instead_of_being_throttled(
        install_shop, customer, compile_report, shopify_double, paged_only):
    """A bucket that holds one page's requested cost (about 828 points) but not two: the client reads the
    throttle status Shopify returns and waits before each page, so Shopify never has to refuse one."""
    install_shop()
    shopify_double.bucket = CostBucket(maximum_available=1000, restore_rate=5000)  # refills in 0.2 s
    requested = order_ids(customer)
    paged_only()
    report, calls = compile_report(customer, requested)
    assert calls.count("OrdersById") == 11
    assert [gid_number(o["id"]) for o in report["orders"]] == requested and report["unavailable"] == []
    assert not [r for r in shopify_double.requests if "THROTTLED" in r.get("error_codes", [])]
