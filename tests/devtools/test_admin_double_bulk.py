"""Bulk query operations of the Admin API double, over real HTTP; and its cost rules."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from graphql import parse

from devtools.admin_double.bulk import MAX_CONCURRENT_QUERIES, restrictions
from tests.waiting import wait_for

DEMO = "demo-shop.myshopify.com"
RUN = """mutation($q: String!, $group: Boolean!) {
  bulkOperationRunQuery(query: $q, groupObjects: $group) {
    bulkOperation { id status } userErrors { field message code }
  }
}"""
STATUS = """query($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount fileSize url partialDataUrl }
}"""
CANCEL = "mutation($id: ID!) { bulkOperationCancel(id: $id) { bulkOperation { id status } userErrors { message } } }"
ORDERS = ('{ orders(query: "customer_id:1001") { edges { node { id name '
          'lineItems { edges { node { title quantity } } } } } } }')


@pytest.fixture
def fast(double: Any) -> Any:
    double.bulk.queued_seconds = 0.05
    double.bulk.min_running_seconds = 0.1
    return double


def start(api: Any, query: str, *, group: bool = False) -> dict[str, Any]:
    return api.query(RUN, {"q": query, "group": group})["bulkOperationRunQuery"]


def wait(api: Any, operation_id: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """Every state seen while polling, until the operation has ended."""
    seen: list[dict[str, Any]] = []

    def ended() -> bool:
        seen.append(api.query(STATUS, {"id": operation_id})["bulkOperation"])
        return seen[-1]["status"] not in ("CREATED", "RUNNING", "CANCELING")

    wait_for(ended, timeout=timeout, interval=0.02)
    return seen


def lines(http: httpx.Client, url: str) -> list[dict[str, Any]]:
    response = http.get(url)
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


def test_an_operation_runs_created_running_completed_and_writes_jsonl(fast: Any, api: Any, http: httpx.Client):
    fast.bulk.min_running_seconds = 0.3
    started = start(api, ORDERS)
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
    seen = wait(api, started["bulkOperation"]["id"])
    statuses = [s["status"] for s in seen]
    assert statuses[0] == "CREATED" and "RUNNING" in statuses and statuses[-1] == "COMPLETED"
    done = seen[-1]
    counts = [int(s["objectCount"]) for s in seen]
    assert counts == sorted(counts)  # a running count
    objects = lines(http, done["url"])
    assert int(done["objectCount"]) == len(objects) and int(done["fileSize"]) > 0
    orders = [o for o in objects if "__parentId" not in o]
    assert int(done["rootObjectCount"]) == len(orders) == 2
    items = [o for o in objects if "__parentId" in o]
    assert {i["__parentId"] for i in items} == {o["id"] for o in orders}
    assert all("lineItems" not in o for o in orders)  # nested connections get lines of their own
    # groupObjects false (the default): no promised order; the double writes children last.
    assert objects.index(items[0]) > objects.index(orders[-1])
    assert [r for r in fast.requests if r["endpoint"] == "bulk_file"][0]["headers"].get(
        "X-Shopify-Access-Token") is None


def test_grouped_output_puts_children_after_their_parent(fast: Any, api: Any, http: httpx.Client):
    done = wait(api, start(api, ORDERS, group=True)["bulkOperation"]["id"])[-1]
    objects = lines(http, done["url"])
    for index, obj in enumerate(objects):
        if "__parentId" in obj:
            assert any(o.get("id") == obj["__parentId"] for o in objects[:index])


def test_a_query_matching_nothing_completes_without_a_file(fast: Any, api: Any):
    done = wait(api, start(api, '{ orders(query: "customer_id:999999") { edges { node { id } } } }')
                ["bulkOperation"]["id"])[-1]
    assert (done["status"], done["objectCount"], done["url"]) == ("COMPLETED", "0", None)


def test_rows_older_than_60_days_need_read_all_orders_in_bulk_too(fast: Any, api: Any, http: httpx.Client):
    fast.set_scopes(DEMO, ["read_customers", "read_orders"])
    done = wait(api, start(api, ORDERS)["bulkOperation"]["id"])[-1]
    assert [o["name"] for o in lines(http, done["url"]) if "__parentId" not in o] == ["#1001"]
    fast.set_scopes(DEMO, ["read_customers"])
    failed = wait(api, start(api, ORDERS)["bulkOperation"]["id"])[-1]
    assert (failed["status"], failed["errorCode"], failed["url"]) == ("FAILED", "ACCESS_DENIED", None)


@pytest.mark.parametrize(("query", "problem"), [
    ('{ nodes(ids: ["gid://shopify/Order/1"]) { id } }', "top-level `node` and `nodes`"),
    ("{ shop { name } }", "at least one connection"),
    ('{ shop { name } orders { edges { node { id } } } }', "exactly one top-level field"),
    ("query($q: String) { orders(query: $q) { edges { node { id } } } }", "variables"),
    ("{ customers { edges { node { id orders { edges { node { id lineItems { edges { node { title } } } } } } } } } }",
     "at most 2 levels"),
    ("{ orders { edges { node { name lineItems { edges { node { title } } } } } } }", "must select `id`"),
    ("{ customers { edges { node { id email } } } }", "deprecated"),
])
def test_bulk_queries_are_checked_as_shopify_does(fast: Any, api: Any, query: str, problem: str):
    answer = start(api, query)
    assert answer["bulkOperation"] is None
    [error] = answer["userErrors"][:1]
    assert error["code"] == "INVALID" and problem in error["message"]
    assert fast.validation_errors[-1]["operationName"] == "bulkOperationRunQuery"


def test_at_most_five_connections():
    six = "{ customers { edges { node { id " + " ".join(
        f"a{i}: addressesV2 {{ edges {{ node {{ id }} }} }}" for i in range(5)) + " } } } }"
    assert any("at most 5 connections" in p for p in restrictions(parse(six)))


def test_five_bulk_queries_may_run_at_once_not_six_and_cancel_frees_a_slot(fast: Any, api: Any):
    fast.fail_next_bulk_operation("stuck", times=MAX_CONCURRENT_QUERIES)
    running = [start(api, ORDERS)["bulkOperation"]["id"] for _ in range(MAX_CONCURRENT_QUERIES)]
    refused = start(api, ORDERS)
    assert refused["bulkOperation"] is None and refused["userErrors"][0]["code"] == "LIMIT_REACHED"
    other_shop = api.for_shop("other-shop.myshopify.com")  # the limit is per shop
    assert start(other_shop, '{ orders { edges { node { id } } } }')["userErrors"] == []
    canceled = api.query(CANCEL, {"id": running[0]})["bulkOperationCancel"]
    assert canceled["userErrors"] == [] and canceled["bulkOperation"]["status"] == "CANCELING"
    assert wait(api, running[0])[-1]["status"] == "CANCELED"
    assert start(api, ORDERS)["userErrors"] == []
    for operation_id in running[1:]:
        api.query(CANCEL, {"id": operation_id})


@pytest.mark.parametrize(("kind", "status", "code", "partial"), [
    ("internal_server_error", "FAILED", "INTERNAL_SERVER_ERROR", True),
    ("timeout", "FAILED", "TIMEOUT", True),
    ("access_denied", "FAILED", "ACCESS_DENIED", False),
    ("canceled", "CANCELED", None, False),
])
def test_injected_failures(fast: Any, api: Any, http: httpx.Client, kind: str, status: str, code: str | None,
                           partial: bool):
    fast.fail_next_bulk_operation(kind)
    ended = wait(api, start(api, ORDERS)["bulkOperation"]["id"])[-1]
    assert (ended["status"], ended["errorCode"], ended["url"]) == (status, code, None)
    assert bool(ended["partialDataUrl"]) is partial
    if partial:
        assert len(lines(http, ended["partialDataUrl"])) == int(ended["objectCount"]) == 2  # half of 4
    assert wait(api, start(api, ORDERS)["bulkOperation"]["id"])[-1]["status"] == "COMPLETED"  # only once


def test_download_failures_and_expired_urls(fast: Any, api: Any, http: httpx.Client):
    done = wait(api, start(api, ORDERS)["bulkOperation"]["id"])[-1]
    fast.fail_next("503", endpoint="download")
    assert http.get(done["url"]).status_code == 503
    assert http.get(done["url"]).status_code == 200
    fast.bulk.expire_files(DEMO)
    assert http.get(done["url"]).status_code == 403
    assert api.query(STATUS, {"id": done["id"]})["bulkOperation"]["status"] == "EXPIRED"


def test_http_controls_for_bulk_operations(fast: Any, http: httpx.Client, api: Any):
    base = fast.url + "/_double"
    assert http.post(f"{base}/bulk_timing", json={"queued_seconds": 0.01})
    assert fast.bulk.queued_seconds == 0.01
    assert http.post(f"{base}/fail_next_bulk", json={"kind": "timeout"}).json() == {"ok": True}
    ended = wait(api, start(api, ORDERS)["bulkOperation"]["id"])[-1]
    assert ended["errorCode"] == "TIMEOUT"
    listed = http.get(f"{base}/bulk_operations", params={"shop": DEMO}).json()
    assert [op["id"] for op in listed] == [ended["id"]]
    assert http.post(f"{base}/fail_next_bulk", json={"kind": "nope"}).status_code == 400


def test_bulk_operations_of_another_shop_are_invisible(fast: Any, api: Any):
    operation_id = start(api, ORDERS)["bulkOperation"]["id"]
    assert api.for_shop("other-shop.myshopify.com").query(STATUS, {"id": operation_id})["bulkOperation"] is None
    wait(api, operation_id)


# ------------------------------------------------------------------------------------ cost
def test_actual_cost_counts_what_came_back_by_the_same_rules(api: Any):
    query = """query($id: ID!) { customer(id: $id) { id orders(first: 10) {
      nodes { id totalPriceSet { shopMoney { amount } }
              lineItems(first: 5) { nodes { title } pageInfo { hasNextPage } } }
      pageInfo { hasNextPage endCursor } } } }"""
    cost = api.post(query, {"id": "gid://shopify/Customer/1001"}).json()["extensions"]["cost"]
    # requested: customer 1 + orders 2 + 10 × (order 1 + money 2 + lineItems 2 + 5 × 1) = 103
    assert cost["requestedQueryCost"] == 103
    # actual: Camille has 2 orders of 1 and 2 line items: 1 + 2 + (1 + 2 + 2 + 1) + (1 + 2 + 2 + 2) = 16;
    # pageInfo, cursors and the answer's root are free.
    orders = api.query(query, {"id": "gid://shopify/Customer/1001"})["customer"]["orders"]["nodes"]
    expected = 1 + 2 + sum(1 + 2 + 2 + len(o["lineItems"]["nodes"]) for o in orders)
    assert cost["actualQueryCost"] == expected


def test_a_mutation_costs_ten_even_when_it_returns_little(api: Any):
    cost = api.post(CANCEL, {"id": "gid://shopify/BulkOperation/1"}).json()["extensions"]["cost"]
    assert cost["actualQueryCost"] >= 10


def test_fragments_on_different_types_cost_their_maximum_not_their_sum(api: Any):
    query = """query($ids: [ID!]!) { nodes(ids: $ids) {
      ... on Order { totalPriceSet { shopMoney { amount } } totalTaxSet { shopMoney { amount } } }
      ... on Customer { amountSpent { amount } } } }"""
    cost = api.post(query, {"ids": ["gid://shopify/Customer/1001"]}).json()["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 + 4  # the node, then Order's 4 rather than 4 + 1


def test_searches_miss_orders_the_index_has_not_seen_yet(double: Any, api: Any):
    fresh = double.add_order(DEMO, 1001, line_items=[{"title": "Étui", "price": "5"}])
    double.set_search_lag(DEMO, 60)
    for order in double.store.shop(DEMO).orders.values():
        if order is not fresh:
            order["_indexed_at"] -= 120
    found = api.query('{ orders(first: 50, query: "customer_id:1001") { nodes { id } } }')["orders"]["nodes"]
    assert fresh["id"] not in {o["id"] for o in found} and len(found) == 2
    assert api.query("query($id: ID!) { order(id: $id) { id } }", {"id": fresh["id"]})["order"]["id"] == fresh["id"]
    assert len(api.query("{ orders(first: 50) { nodes { id } } }")["orders"]["nodes"]) == len(
        double.store.shop(DEMO).orders)  # listing without a search reads the orders themselves
