"""The Shopify client against the double over HTTP: retries, throttling, timeouts, headers."""

from __future__ import annotations

import time

import pytest

from shopify_app.errors import ShopifyApiError
from shopify_app.platform.admin_client import RetryPolicy, ShopifyAdminClient
from shopify_app.settings import API_VERSION
from tests.conftest import DEMO_SHOP

QUERY = "query { shop { name } }"


class RecordedSleeps(list):
    """The client's sleep, recorded (and really slept, so the double's bucket refills meanwhile)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def admin(settings, sleeps) -> ShopifyAdminClient:
    client = ShopifyAdminClient(settings, timeout=0.5, retry=RetryPolicy(base_delay=0.01, sleep=sleeps))
    yield client
    client.close()


@pytest.fixture
def token(shopify_double) -> str:
    return shopify_double.issue_access_token(DEMO_SHOP)


def test_sends_the_access_token_to_the_versioned_endpoint(admin, token, shopify_double):
    assert admin.graphql(DEMO_SHOP, token, QUERY).data == {"shop": {"name": "Le Petit Lunetier"}}
    request = shopify_double.requests[-1]
    assert request["path"] == f"/{DEMO_SHOP}/admin/api/{API_VERSION}/graphql.json"
    assert request["headers"]["X-Shopify-Access-Token"] == token


def test_429_waits_as_long_as_retry_after_says(admin, token, shopify_double, sleeps):
    shopify_double.fail_next("429", times=2, retry_after=0.3)
    assert admin.graphql(DEMO_SHOP, token, QUERY).data["shop"]["name"]
    assert sleeps[:2] == [0.3, 0.3]


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors_are_retried_with_backoff(admin, token, shopify_double, sleeps, kind):
    shopify_double.fail_next(kind, times=3)
    assert admin.graphql(DEMO_SHOP, token, QUERY).data["shop"]["name"]
    assert len(sleeps) == 3 and sleeps[0] < sleeps[2]


def test_timeouts_are_retried(admin, token, shopify_double):
    shopify_double.fail_next("slow", times=1, delay=1.0)  # longer than the client's 0.5 s timeout
    assert admin.graphql(DEMO_SHOP, token, QUERY).data["shop"]["name"]


def test_throttled_waits_for_the_bucket_to_refill(admin, token, shopify_double, sleeps):
    shopify_double.fail_next("throttled", times=1)
    assert admin.graphql(DEMO_SHOP, token, QUERY).data["shop"]["name"]
    assert sleeps and sleeps[0] > 0


def test_a_low_bucket_slows_the_next_call_down(admin, token, shopify_double, sleeps):
    query = "query { customers(first: 100) { nodes { id } } }"  # asks for 102 points
    shopify_double.set_throttle_available(DEMO_SHOP, 102)
    first = admin.graphql(DEMO_SHOP, token, query)
    assert sleeps == []
    left = first.cost["throttleStatus"]["currentlyAvailable"]  # the unused part was refunded
    assert left < 102
    admin.graphql(DEMO_SHOP, token, query)  # not enough left for the same again: wait first, not get throttled
    assert len(sleeps) == 1 and 0 < sleeps[0] <= (102 - left) / 100


def test_gives_up_after_the_last_attempt(admin, token, shopify_double):
    shopify_double.fail_next("500", times=50)
    with pytest.raises(ShopifyApiError, match="HTTP 500"):
        admin.graphql(DEMO_SHOP, token, QUERY)


def test_a_rejected_token_is_an_error_not_a_retry(admin, shopify_double, sleeps):
    with pytest.raises(ShopifyApiError, match="401"):
        admin.graphql(DEMO_SHOP, "shpat_wrong", QUERY)
    assert sleeps == []


def test_pagination_reads_every_node_once(admin, token, shopify_double):
    shopify_double.seed_customers(DEMO_SHOP, 30)
    query = "query($after: String) { customers(first: 7, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }"
    ids = [node["id"] for node, _ in admin.paginate(DEMO_SHOP, token, query, {}, ("customers",))]
    assert len(ids) == len(set(ids)) == len(shopify_double.customers(DEMO_SHOP))
