"""Paging through a connection against the double over HTTP: every page, and never a part passed for the whole."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shopify_app.platform import queries
from shopify_app.platform.admin_client import IncompletePagesError, RetryPolicy, ShopifyAdminClient
from tests.conftest import DEMO_SHOP

ADDRESSES = 300  # the first page of 25 read with the customer, then pages of 250: 25 + 250 + 25


@pytest.fixture
def admin(settings) -> Iterator[ShopifyAdminClient]:
    client = ShopifyAdminClient(settings, retry=RetryPolicy(base_delay=0.01))
    yield client
    client.close()


@pytest.fixture
def token(shopify_double) -> str:
    return shopify_double.issue_access_token(DEMO_SHOP)


@pytest.fixture
def customer_id(shopify_double) -> str:
    """A customer without orders (Shopify lets the merchant delete those) and with many addresses."""
    customer = shopify_double.add_customer(DEMO_SHOP, first_name="Nomade", email="nomade@example.fr", addresses=[
        {"first_name": "Nomade", "address1": f"{n} Quai de la Loire", "city": "Paris", "zip": "75019",
         "country": "France", "country_code": "FR"} for n in range(1, ADDRESSES + 1)])
    return str(customer["id"])


def address_pages(admin: ShopifyAdminClient, token: str, customer_id: str, *, after: str | None = None):
    return admin.pages(DEMO_SHOP, token, queries.CUSTOMER_ADDRESSES_QUERY, {"id": customer_id},
                       ("customer", "addressesV2"), after=after)


def test_pages_follow_the_cursor_to_the_last_page(admin, token, customer_id):
    first = admin.graphql(DEMO_SHOP, token, queries.CUSTOMER_QUERY, {"id": customer_id}).data["customer"]["addressesV2"]
    assert len(first["nodes"]) == queries.ADDRESS_PAGE_SIZE and first["pageInfo"]["hasNextPage"]
    rest = list(address_pages(admin, token, customer_id, after=first["pageInfo"]["endCursor"]))
    assert [len(nodes) for nodes, _ in rest] == [250, ADDRESSES - 25 - 250]
    streets = [a["address1"] for a in first["nodes"] + [a for nodes, _ in rest for a in nodes]]
    assert streets == [f"{n} Quai de la Loire" for n in range(1, ADDRESSES + 1)]


def test_a_page_that_comes_back_without_the_connection_is_an_error_not_the_end(admin, token, customer_id,
                                                                             shopify_double):
    pages = address_pages(admin, token, customer_id)
    nodes, _ = next(pages)
    assert len(nodes) == 250
    shopify_double.store.delete_customer(DEMO_SHOP, customer_id)  # by the merchant, between two pages
    with pytest.raises(IncompletePagesError, match="next page of customer.addressesV2"):
        next(pages)


def test_no_connection_from_the_start_is_no_page_and_no_error(admin, token, customer_id, shopify_double):
    shopify_double.store.delete_customer(DEMO_SHOP, customer_id)
    assert list(address_pages(admin, token, customer_id)) == []
    assert list(admin.paginate(DEMO_SHOP, token, queries.CUSTOMER_ADDRESSES_QUERY, {"id": customer_id},
                               ("customer", "addressesV2"))) == []


def test_no_connection_from_the_start_with_an_error_is_an_error(admin, token, customer_id, shopify_double):
    """Shopify refused the read (a scope the merchant took back): nothing was read, and that must be said."""
    shopify_double.set_scopes(DEMO_SHOP, [s for s in shopify_double.scopes(DEMO_SHOP) if not s.endswith("_customers")])
    with pytest.raises(IncompletePagesError, match="first page of customer.addressesV2 without it .*ACCESS_DENIED"):
        list(address_pages(admin, token, customer_id))
