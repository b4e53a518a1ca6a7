"""Bulk query operations from the client's side, against the double over HTTP."""

from __future__ import annotations

import pytest

from shopify_app.errors import ShopifyApiError
from shopify_app.platform import bulk_operations, queries
from shopify_app.platform.admin_client import RetryPolicy, ShopifyAdminClient
from shopify_app.platform.bulk_operations import BulkOperationFailed, BulkPolling
from tests.conftest import DEMO_SHOP

FAST = BulkPolling(first_pause=0.02, growth=1.5, max_pause=0.1, deadline=5.0)


@pytest.fixture
def admin(settings):
    client = ShopifyAdminClient(settings, timeout=2.0, retry=RetryPolicy(base_delay=0.01))
    yield client
    client.close()


@pytest.fixture
def token(shopify_double) -> str:
    shopify_double.bulk.queued_seconds = 0.05
    shopify_double.bulk.min_running_seconds = 0.05
    return shopify_double.issue_access_token(DEMO_SHOP)


def camilles_orders() -> str:
    return queries.orders_bulk_query(queries.orders_search_by_customer(1001))


def test_a_completed_operation_gives_every_object_and_nest_puts_children_under_parents(admin, token, shopify_double):
    result = bulk_operations.run_bulk_query(admin, DEMO_SHOP, token, camilles_orders(), FAST)
    assert result.polls >= 1 and len(result.objects) == 5  # 2 orders, 3 line items
    orders = bulk_operations.nest(result.objects, "lineItems")
    assert sorted((o["name"], len(o["lineItems"])) for o in orders) == [("#1001", 2), ("#1002", 1)]
    assert all("__parentId" not in item for o in orders for item in o["lineItems"])
    download = [r for r in shopify_double.requests if r["endpoint"] == "bulk_file"]
    assert len(download) == 1 and "X-Shopify-Access-Token" not in download[0]["headers"]  # the token stays home


def test_nothing_matched_means_no_file_and_no_objects(admin, token, shopify_double):
    query = queries.orders_bulk_query(queries.orders_search_by_customer(424242))
    assert bulk_operations.run_bulk_query(admin, DEMO_SHOP, token, query, FAST).objects == []
    assert not [r for r in shopify_double.requests if r["endpoint"] == "bulk_file"]


@pytest.mark.parametrize(("kind", "said"), [
    ("internal_server_error", "FAILED with INTERNAL_SERVER_ERROR (partial data offered, not used)"),
    ("timeout", "FAILED with TIMEOUT (partial data offered, not used)"),
    ("access_denied", "FAILED with ACCESS_DENIED."),
    ("canceled", "CANCELED."),
])
def test_an_operation_that_does_not_complete_is_a_failure_that_says_why(admin, token, shopify_double, kind, said):
    shopify_double.fail_next_bulk_operation(kind)
    with pytest.raises(BulkOperationFailed, match=said.replace("(", r"\(").replace(")", r"\)")):
        bulk_operations.run_bulk_query(admin, DEMO_SHOP, token, camilles_orders(), FAST)


def test_past_the_deadline_the_operation_is_canceled(admin, token, shopify_double):
    shopify_double.fail_next_bulk_operation("stuck")
    with pytest.raises(BulkOperationFailed, match="still RUNNING after 0.3 s; canceled"):
        bulk_operations.run_bulk_query(admin, DEMO_SHOP, token, camilles_orders(),
                                       BulkPolling(first_pause=0.02, max_pause=0.05, deadline=0.3))
    [operation] = shopify_double.bulk.operations(DEMO_SHOP)
    assert operation["status"] in ("CANCELING", "CANCELED")


def test_a_refused_start_says_why(admin, token, shopify_double):
    shopify_double.fail_next_bulk_operation("stuck", times=5)
    started = [shopify_double.bulk.start(DEMO_SHOP, camilles_orders(), False)[0] for _ in range(5)]
    try:
        with pytest.raises(BulkOperationFailed, match="LIMIT_REACHED"):
            bulk_operations.run_bulk_query(admin, DEMO_SHOP, token, camilles_orders(), FAST)
    finally:
        for operation in started:
            shopify_double.bulk.cancel(DEMO_SHOP, operation["id"])


def test_a_download_that_keeps_failing_is_an_error_after_the_usual_retries(admin, token, shopify_double):
    shopify_double.fail_next("503", times=3, endpoint="download")  # retried: still fine
    assert len(bulk_operations.run_bulk_query(admin, DEMO_SHOP, token, camilles_orders(), FAST).objects) == 5
    shopify_double.fail_next("500", times=50, endpoint="download")
    with pytest.raises(ShopifyApiError, match="HTTP 500"):
        bulk_operations.run_bulk_query(admin, DEMO_SHOP, token, camilles_orders(), FAST)
    shopify_double.clear_failures()


def test_damaged_files_are_refused():
    with pytest.raises(BulkOperationFailed, match="Line 2"):
        bulk_operations.parse_jsonl('{"id": "gid://shopify/Order/1"}\n{"id": \n')
    with pytest.raises(BulkOperationFailed, match="not an object"):
        bulk_operations.parse_jsonl("[1, 2]\n")
    orphan = [{"id": "gid://shopify/Order/1"}, {"title": "x", "__parentId": "gid://shopify/Order/2"}]
    with pytest.raises(BulkOperationFailed, match="parent"):
        bulk_operations.nest(orphan, "lineItems")


def test_children_before_their_parent_are_still_nested_in_file_order():
    objects = [{"title": "b", "__parentId": "o1"}, {"id": "o2"}, {"title": "a", "__parentId": "o2"},
               {"id": "o1"}, {"title": "c", "__parentId": "o1"}]
    assert bulk_operations.nest(objects, "items") == [
        {"id": "o2", "items": [{"title": "a"}]}, {"id": "o1", "items": [{"title": "b"}, {"title": "c"}]}]


def test_only_http_urls_are_downloaded(admin):
    with pytest.raises(ShopifyApiError, match="not HTTP"):
        admin.download("file:///etc/passwd")
