"""Tests of the Shopify Admin API double (devtools.admin_double), over real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.admin_double import AdminApiDouble, validate_document

KEY, SECRET, DEMO = "double-test-key", "double-test-secret", "demo-shop.myshopify.com"
EXCHANGE = {
    "client_id": KEY, "client_secret": SECRET,
    "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
    "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
    "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
}
SHOP_QUERY = "{ shop { name myshopifyDomain currencyCode } }"
CUSTOMER_ORDERS = """
query CustomerOrders($id: ID!, $after: String) {
  customer(id: $id) {
    id numberOfOrders
    orders(first: 100, after: $after) {
      edges { cursor node { id name createdAt } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}"""


def token_url(double: AdminApiDouble, shop: str = DEMO) -> str:
    return double.shop_url_template.format(shop=shop) + "/admin/oauth/access_token"


def cutoff(days: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).date().isoformat()


# ----------------------------------------------------------------------------- OAuth
def test_token_exchange_then_refresh_rotation(double: AdminApiDouble, http: httpx.Client,
                                              api: Any, make_session_token: Any) -> None:
    form = dict(EXCHANGE, subject_token=make_session_token(DEMO), expiring="1")
    first = http.post(token_url(double), data=form)  # form-encoded
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["access_token"].startswith("shpat_")
    assert body["refresh_token"].startswith("shprt_")
    assert body["expires_in"] == 3600 and body["refresh_token_expires_in"] == 7776000
    assert "read_all_orders" in body["scope"].split(",")
    assert double.token_grants[-1] == {"shop": DEMO, "grant": "token_exchange", "expiring": True}
    assert api.post(SHOP_QUERY, token=body["access_token"]).status_code == 200

    refreshed = http.post(token_url(double), json={  # JSON body
        "client_id": KEY, "client_secret": SECRET, "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    new = refreshed.json()
    assert new["access_token"] != body["access_token"]
    assert new["refresh_token"] != body["refresh_token"]
    assert api.post(SHOP_QUERY, token=body["access_token"]).status_code == 401  # rotated out
    assert api.post(SHOP_QUERY, token=new["access_token"]).status_code == 200
    reused = http.post(token_url(double), json={
        "client_id": KEY, "client_secret": SECRET, "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"]})
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    double.expire_access_tokens(DEMO)
    assert api.post(SHOP_QUERY, token=new["access_token"]).status_code == 401
    again = http.post(token_url(double), data={
        "client_id": KEY, "client_secret": SECRET, "grant_type": "refresh_token",
        "refresh_token": new["refresh_token"]})
    assert again.status_code == 200
    assert api.post(SHOP_QUERY, token=again.json()["access_token"]).status_code == 200


def test_token_exchange_without_expiring_and_bad_session_tokens(
        double: AdminApiDouble, http: httpx.Client, make_session_token: Any) -> None:
    plain = http.post(token_url(double), json=dict(EXCHANGE, subject_token=make_session_token(DEMO)))
    assert plain.status_code == 200
    assert set(plain.json()) == {"access_token", "scope"}
    assert double.token_grants[-1]["expiring"] is False
    bad_tokens = [
        make_session_token(DEMO, secret="not-the-secret"),
        make_session_token("other-shop.myshopify.com"),  # dest does not match the URL
        make_session_token(DEMO, exp=int(time.time()) - 120),
        make_session_token(DEMO, key="another-app"),
        "not-a-jwt",
    ]
    for subject in bad_tokens:
        response = http.post(token_url(double), json=dict(EXCHANGE, subject_token=subject))
        assert response.status_code == 400, subject
        assert response.json()["error"] == "invalid_subject_token"


def test_bad_client_credentials(double: AdminApiDouble, http: httpx.Client,
                                make_session_token: Any) -> None:
    for key, secret in ((KEY, "wrong"), ("wrong", SECRET)):
        response = http.post(token_url(double), json=dict(
            EXCHANGE, client_id=key, client_secret=secret,
            subject_token=make_session_token(DEMO)))
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert "error_description" in response.json()


def test_authorization_code_grant_is_single_use(double: AdminApiDouble, http: httpx.Client,
                                                api: Any) -> None:
    code = double.issue_authorization_code(DEMO)
    params = {"client_id": KEY, "client_secret": SECRET, "code": code}
    granted = http.post(token_url(double), json=params)
    assert granted.status_code == 200
    assert api.post(SHOP_QUERY, token=granted.json()["access_token"]).status_code == 200
    assert http.post(token_url(double), json=params).status_code == 400
    other = double.issue_authorization_code("other-shop.myshopify.com")
    assert http.post(token_url(double), json=dict(params, code=other)).status_code == 400


def test_invalid_access_token_and_unknown_version(api: Any) -> None:
    response = api.post(SHOP_QUERY, token="shpat_nope")
    assert response.status_code == 401
    assert response.json() == {"errors": "[API] Invalid API key or access token "
                                         "(unrecognized login or wrong password)"}
    other_shop_token = api.double.issue_access_token("other-shop.myshopify.com")
    assert api.post(SHOP_QUERY, token=other_shop_token).status_code == 401
    assert api.post(SHOP_QUERY, version="2024-01").status_code == 404


# ------------------------------------------------------------------------ validation
def test_validation_rejects_deprecated_and_unknown_fields(api: Any) -> None:
    assert validate_document("{ customer(id: \"gid://shopify/Customer/1\") { email } }")
    assert validate_document("{ customer(id: \"gid://shopify/Customer/1\") "
                             "{ defaultEmailAddress { emailAddress } } }") == []
    for document in ('{ customer(id: "gid://shopify/Customer/1001") { email } }',
                     '{ customer(id: "gid://shopify/Customer/1001") { favouriteColour } }',
                     "{ shop { name "):
        response = api.post(document)
        assert response.status_code == 200
        errors = response.json()["errors"]
        assert errors[0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "data" not in response.json()
    missing_variable = api.post("query($id: ID!) { customer(id: $id) { id } }").json()
    assert missing_variable["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    recorded = api.double.validation_errors
    assert len(recorded) == 4
    assert "Customer.email is deprecated" in recorded[0]["errors"][0]
    assert "favouriteColour" in recorded[1]["errors"][0]
    api.double.reset_records()
    assert api.double.validation_errors == []


# ------------------------------------------------------------------------ queries
def test_shop_and_customer_details(api: Any) -> None:
    data = api.query("""{
      shop { id name email contactEmail myshopifyDomain primaryDomain { url host }
             ianaTimezone currencyCode shopAddress { countryCodeV2 } }
      shopLocales { locale primary published }
      customer(id: "gid://shopify/Customer/1001") {
        id firstName lastName displayName locale numberOfOrders amountSpent { amount currencyCode }
        defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
        defaultPhoneNumber { phoneNumber smsMarketingConsent { state optInLevel updatedAt collectedFrom } }
        defaultAddress { address1 city countryCodeV2 }
        addressesV2(first: 10) { nodes { id address1 company } pageInfo { hasNextPage } }
      } }""")
    assert data["shop"]["name"] == "Le Petit Lunetier"
    assert data["shop"]["contactEmail"] == "contact@lepetitlunetier.com"
    assert data["shop"]["currencyCode"] == "EUR" and data["shop"]["shopAddress"]["countryCodeV2"] == "FR"
    assert {"locale": "fr", "primary": True, "published": True} in data["shopLocales"]
    customer = data["customer"]
    assert customer["displayName"] == "Camille Dubois" and customer["numberOfOrders"] == "2"
    assert customer["amountSpent"] == {"amount": "358.7", "currencyCode": "EUR"}
    assert customer["defaultEmailAddress"]["marketingState"] == "SUBSCRIBED"
    assert customer["defaultPhoneNumber"]["smsMarketingConsent"]["state"] == "SUBSCRIBED"
    assert len(customer["addressesV2"]["nodes"]) == 2


def test_customer_orders_pagination_over_250_orders(api: Any) -> None:
    shop = "bulk-shop.myshopify.com"
    bulk = api.for_shop(shop)
    customer = api.double.seed_customers(shop, 1, orders_each=250)[0]
    seen: list[str] = []
    after, pages = None, 0
    while True:
        data = bulk.query(CUSTOMER_ORDERS, {"id": customer["id"], "after": after})
        connection = data["customer"]["orders"]
        assert connection["pageInfo"]["hasPreviousPage"] is (pages > 0)
        seen += [edge["node"]["id"] for edge in connection["edges"]]
        pages += 1
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert pages == 3 and data["customer"]["numberOfOrders"] == "250"
    assert len(seen) == len(set(seen)) == 250
    assert set(seen) == set(customer["_order_ids"])

    backwards = bulk.query("""query($id: ID!, $before: String) { customer(id: $id) {
        orders(last: 10, before: $before) { nodes { id } pageInfo { hasNextPage hasPreviousPage } } } }""",
                           {"id": customer["id"], "before": after})
    assert [n["id"] for n in backwards["customer"]["orders"]["nodes"]] == seen[189:199]  # before the 200th
    newest = bulk.query('{ orders(first: 1, reverse: true, sortKey: CREATED_AT) { nodes { id } } }')
    assert newest["orders"]["nodes"][0]["id"] == customer["_order_ids"][0]  # created most recently

    too_many = bulk.post('{ orders(first: 251) { nodes { id } } }').json()
    assert too_many["data"] is None and "250" in too_many["errors"][0]["message"]
    missing = bulk.post('{ orders { nodes { id } } }').json()
    assert missing["errors"][0]["message"] == "you must provide one of first or last"


def test_line_item_pagination_and_order_fields(api: Any) -> None:
    items = [{"title": f"Monture {n}", "price": "100.00", "sku": f"SKU-{n}"} for n in range(3)]
    order = api.double.add_order(DEMO, 1003, line_items=items)
    query = """query($id: ID!, $after: String) { order(id: $id) { name email currencyCode
        totalPriceSet { shopMoney { amount currencyCode } } customer { id }
        lineItems(first: 2, after: $after) { nodes { sku quantity originalUnitPriceSet { shopMoney { amount } } }
                                              pageInfo { hasNextPage endCursor } } } }"""
    first = api.query(query, {"id": order["id"]})["order"]
    assert first["totalPriceSet"]["shopMoney"] == {"amount": "304.9", "currencyCode": "EUR"}
    assert first["customer"]["id"] == "gid://shopify/Customer/1003"
    second = api.query(query, {"id": order["id"], "after": first["lineItems"]["pageInfo"]["endCursor"]})
    skus = [n["sku"] for n in first["lineItems"]["nodes"] + second["order"]["lineItems"]["nodes"]]
    assert skus == ["SKU-0", "SKU-1", "SKU-2"]
    assert second["order"]["lineItems"]["pageInfo"]["hasNextPage"] is False


def test_read_all_orders_gating(api: Any) -> None:
    shop = "gating-shop.myshopify.com"
    api.double.seed_demo_shop(shop)
    gated = api.for_shop(shop)
    query = """{ orders(first: 50) { nodes { name } }
                 customer(id: "gid://shopify/Customer/1001") { orders(first: 10) { nodes { name } } }
                 old: order(id: "gid://shopify/Order/5002") { name } }"""
    everything = gated.query(query)
    assert len(everything["orders"]["nodes"]) == 10 and everything["old"]["name"] == "#1002"
    api.double.set_scopes(shop, ["read_customers", "write_customers", "read_orders", "read_themes"])
    recent = gated.query(query)
    assert {n["name"] for n in recent["orders"]["nodes"]} == {"#1001", "#1005", "#1007", "#1008", "#1010"}
    assert recent["customer"]["orders"]["nodes"] == [{"name": "#1001"}]
    assert recent["old"] is None
    nodes = gated.query('{ nodes(ids: ["gid://shopify/Order/5002", "gid://shopify/Order/5001"]) '
                        '{ id } }')
    assert nodes["nodes"] == [None, {"id": "gid://shopify/Order/5001"}]


def test_protected_customer_data_access(api: Any) -> None:
    shop = "protected-shop.myshopify.com"
    api.double.seed_demo_shop(shop)
    client = api.for_shop(shop)
    query = """{ customer(id: "gid://shopify/Customer/1002") { id firstName
                 defaultEmailAddress { emailAddress marketingState } } }"""
    api.double.set_protected_data_access(shop, email=False)
    body = client.post(query).json()
    assert body["data"]["customer"]["firstName"] == "Lucas"
    assert body["data"]["customer"]["defaultEmailAddress"] is None
    assert body["errors"][0]["extensions"]["code"] == "ACCESS_DENIED"
    assert body["errors"][0]["path"] == ["customer", "defaultEmailAddress", "emailAddress"]
    api.double.set_protected_data_access(shop, "none")
    body = client.post(query).json()
    assert body["data"]["customer"]["firstName"] is None
    api.double.set_protected_data_access(shop, "all")
    assert client.query(query)["customer"]["defaultEmailAddress"]["emailAddress"]


def test_nodes_returns_orders_and_customers(api: Any) -> None:
    data = api.query("""{ nodes(ids: ["gid://shopify/Customer/1005", "gid://shopify/Order/5007",
                                       "gid://shopify/Customer/999999"]) {
        __typename id
        ... on Customer { firstName defaultAddress { countryCodeV2 } }
        ... on Order { name customer { id } lineItems(first: 5) { nodes { title } } } } }""")
    customer, order, missing = data["nodes"]
    assert customer == {"__typename": "Customer", "id": "gid://shopify/Customer/1005",
                        "firstName": "Sofia", "defaultAddress": {"countryCodeV2": "IT"}}
    assert order["name"] == "#1007" and order["customer"]["id"] == "gid://shopify/Customer/1006"
    assert missing is None


def test_customers_and_orders_search(api: Any) -> None:
    def ids(query: str) -> list[int]:
        data = api.query("query($q: String) { customers(first: 50, query: $q) { nodes { id } } }",
                         {"q": query})
        return [int(n["id"].rsplit("/", 1)[1]) for n in data["customers"]["nodes"]]

    three_years = cutoff(3 * 365)
    assert ids("id:1002") == [1002]
    assert ids("email:lea.bernard@example.fr") == [1003]
    assert ids(f"updated_at:<'{three_years}'") == [1004, 1007]
    assert ids(f"updated_at:<='{three_years}' AND orders_count:0") == [1004]
    assert ids("country:IT") == [1005]
    assert ids("camille") == [1001]
    assert ids(f"created_at:<{cutoff(1000)} -orders_count:0") == [1002, 1007]
    orders = api.query("""query($q: String) { orders(first: 20, query: $q, sortKey: CREATED_AT) {
                          nodes { name } } }""", {"q": "customer_id:1002"})
    assert [n["name"] for n in orders["orders"]["nodes"]] == ["#1003", "#1004"]
    old = api.query('query($q: String) { orders(first: 20, query: $q) { nodes { name } } }',
                    {"q": f"created_at:<'{three_years}'"})
    assert {n["name"] for n in old["orders"]["nodes"]} == {"#1003", "#1009"}
    warned = api.post('{ customers(first: 5, query: "favourite:blue") { nodes { id } } }').json()
    assert warned["extensions"]["search"][0]["warnings"][0]["field"] == "favourite"


# ------------------------------------------------------------------ failures & cost
@pytest.mark.parametrize("kind", ["429", "throttled", "500", "502", "503"])
def test_failure_injection(api: Any, kind: str) -> None:
    api.double.fail_next(kind, times=2, retry_after=2.0)
    for _ in range(2):
        response = api.post(SHOP_QUERY)
        if kind == "429":
            assert response.status_code == 429 and response.headers["Retry-After"] == "2.0"
        elif kind == "throttled":
            body = response.json()
            assert response.status_code == 200
            assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
            assert "throttleStatus" in body["extensions"]["cost"]
        else:
            assert response.status_code == int(kind)
            if kind != "500":
                assert response.headers["content-type"].startswith("text/html")
    assert api.query(SHOP_QUERY)["shop"]["name"] == "Le Petit Lunetier"


def test_slow_failure_latency_and_token_endpoint_failure(api: Any, http: httpx.Client) -> None:
    api.double.fail_next("slow", delay=0.6)
    with pytest.raises(httpx.ReadTimeout):
        api.post(SHOP_QUERY, timeout=0.15)
    assert api.post(SHOP_QUERY).status_code == 200
    api.double.latency = 0.2
    started = time.monotonic()
    assert api.post(SHOP_QUERY).status_code == 200
    assert time.monotonic() - started >= 0.2
    api.double.latency = 0.0
    api.double.fail_next("503", endpoint="token")
    code = api.double.issue_authorization_code(DEMO)
    params = {"client_id": KEY, "client_secret": SECRET, "code": code}
    assert http.post(token_url(api.double), json=params).status_code == 503
    assert http.post(token_url(api.double), json=params).status_code == 200


def test_cost_extensions_throttling_and_max_cost(api: Any) -> None:
    body = api.post(CUSTOMER_ORDERS, {"id": "gid://shopify/Customer/1001"}).json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 103
    # Like Shopify, what the answer did not use is refunded: two orders cost less than ten asked for.
    assert 1 <= cost["actualQueryCost"] < cost["requestedQueryCost"]
    assert cost["throttleStatus"]["maximumAvailable"] == 2000.0
    assert cost["throttleStatus"]["restoreRate"] == 100.0
    assert cost["throttleStatus"]["currentlyAvailable"] <= 2000.0 - cost["actualQueryCost"] + 1
    api.double.set_throttle_available(DEMO, 0)
    throttled = api.post(CUSTOMER_ORDERS, {"id": "gid://shopify/Customer/1001"}).json()
    assert throttled["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert throttled["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] < 103
    api.double.set_throttle_available(DEMO, 2000)
    huge = api.post("{ customers(first: 250) { nodes { orders(first: 250) { nodes { id } } } } }")
    assert huge.json()["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


# ------------------------------------------------------------ metafields, themes, mutations
def test_metafields_set_round_trip(api: Any) -> None:
    owner = api.query("{ currentAppInstallation { id } }")["currentAppInstallation"]["id"]
    mutation = """mutation Set($metafields: [MetafieldsSetInput!]!) {
        metafieldsSet(metafields: $metafields) {
          metafields { id namespace key value type } userErrors { field message code } } }"""
    value = json.dumps({"retention_years": 3, "banner": True})
    result = api.query(mutation, {"metafields": [{"ownerId": owner, "namespace": "privacy_app",
                                                  "key": "settings", "type": "json", "value": value}]})
    assert result["metafieldsSet"]["userErrors"] == []
    assert result["metafieldsSet"]["metafields"][0]["value"] == value
    read = api.query('{ currentAppInstallation { metafield(namespace: "privacy_app", key: "settings") '
                     '{ value type } } }')
    assert read["currentAppInstallation"]["metafield"] == {"value": value, "type": "json"}
    bad = api.query(mutation, {"metafields": [{"ownerId": owner, "namespace": "privacy_app",
                                               "key": "other", "value": "x"}]})
    assert bad["metafieldsSet"]["userErrors"][0]["code"] == "BLANK"
    assert api.double.mutations[-1].field == "metafieldsSet"


def test_themes_settings_data_app_embed(api: Any) -> None:
    query = """{ themes(first: 5, roles: [MAIN]) { nodes { id name role
        files(filenames: ["config/settings_data.json"]) { nodes { filename
          body { ... on OnlineStoreThemeFileBodyText { content } } } } } } }"""

    def embed_blocks() -> list[dict[str, Any]]:
        theme = api.query(query)["themes"]["nodes"]
        assert [t["role"] for t in theme] == ["MAIN"]
        content = theme[0]["files"]["nodes"][0]["body"]["content"]
        settings = json.loads(re.sub(r"^\s*/\*.*?\*/", "", content, flags=re.S))
        return [b for b in settings["current"]["blocks"].values()
                if "/blocks/consent-banner/" in b["type"]]

    assert [b["disabled"] for b in embed_blocks()] == [False]
    api.double.set_app_embed(DEMO, False)
    blocks = embed_blocks()
    assert [b["disabled"] for b in blocks] == [True]
    assert blocks[0]["type"].startswith("shopify://apps/privacy-app/blocks/consent-banner/")


def test_customer_mutations_are_applied_and_recorded(api: Any) -> None:
    erase = """mutation Erase($id: ID!) { customerRequestDataErasure(customerId: $id) {
                 customerId userErrors { field message code } } }"""
    customer_id = "gid://shopify/Customer/1002"
    assert api.query(erase, {"id": customer_id})["customerRequestDataErasure"] == {
        "customerId": customer_id, "userErrors": []}
    assert api.double.erasure_requested(DEMO, 1002)
    assert api.double.mutations[-1] == (DEMO, "customerRequestDataErasure", {"id": customer_id})
    unknown = api.query(erase, {"id": "gid://shopify/Customer/424242"})
    assert unknown["customerRequestDataErasure"]["userErrors"][0]["code"] == "DOES_NOT_EXIST"
    cancel = api.query("""mutation($id: ID!) { customerCancelDataErasure(customerId: $id) {
                          customerId userErrors { code } } }""", {"id": customer_id})
    assert cancel["customerCancelDataErasure"]["customerId"] == customer_id
    assert not api.double.erasure_requested(DEMO, 1002)

    email = api.query("""mutation($input: CustomerEmailMarketingConsentUpdateInput!) {
        customerEmailMarketingConsentUpdate(input: $input) {
          customer { defaultEmailAddress { marketingState marketingOptInLevel } }
          userErrors { field message code } } }""", {"input": {
        "customerId": "gid://shopify/Customer/1001", "emailMarketingConsent": {
            "marketingState": "UNSUBSCRIBED", "marketingOptInLevel": "SINGLE_OPT_IN",
            "consentUpdatedAt": "2026-01-02T10:00:00Z"}}})
    assert email["customerEmailMarketingConsentUpdate"]["customer"]["defaultEmailAddress"][
        "marketingState"] == "UNSUBSCRIBED"
    sms = api.query("""mutation($input: CustomerSmsMarketingConsentUpdateInput!) {
        customerSmsMarketingConsentUpdate(input: $input) {
          customer { defaultPhoneNumber { smsMarketingConsent { state collectedFrom } } }
          userErrors { field message code } } }""", {"input": {
        "customerId": "gid://shopify/Customer/1001",
        "smsMarketingConsent": {"marketingState": "UNSUBSCRIBED"}}})
    consent = sms["customerSmsMarketingConsentUpdate"]["customer"]["defaultPhoneNumber"]
    assert consent["smsMarketingConsent"] == {"state": "UNSUBSCRIBED", "collectedFrom": "OTHER"}
    assert [m.field for m in api.double.mutations][-2:] == [
        "customerEmailMarketingConsentUpdate", "customerSmsMarketingConsentUpdate"]


# ------------------------------------------------------------------ HTTP controls & CLI
def test_http_controls(double: AdminApiDouble, http: httpx.Client, api: Any) -> None:
    control = double.url + "/_double/"
    assert http.post(control + "fail_next", json={"kind": "500"}).status_code == 200
    assert api.post(SHOP_QUERY).status_code == 500
    seeded = http.post(control + "seed", json={"shop": "http-shop.myshopify.com",
                                               "customers": 5000, "orders_each": 0}).json()
    assert len(seeded["customer_ids"]) == 5000
    page = api.for_shop("http-shop.myshopify.com").query(
        "{ customers(first: 250) { nodes { id } pageInfo { hasNextPage } } }")
    assert len(page["customers"]["nodes"]) == 250 and page["customers"]["pageInfo"]["hasNextPage"]
    assert http.get(control + "requests").json()[-1]["shop"] == "http-shop.myshopify.com"
    code = http.post(control + "authorization_code", json={"shop": DEMO}).json()["code"]
    assert http.post(token_url(double), json={"client_id": KEY, "client_secret": SECRET,
                                              "code": code}).status_code == 200
    assert http.post(control + "latency", json={"seconds": 0.01}).json() == {"latency": 0.01}
    api.query('mutation { customerRequestDataErasure(customerId: "gid://shopify/Customer/1003") '
              '{ customerId } }')
    assert http.get(control + "mutations").json()[-1] == {
        "shop": DEMO, "field": "customerRequestDataErasure", "variables": {}}
    assert http.get(control + "customer", params={"shop": DEMO, "id": "1003"}).json()[
        "_erasure_requested"] is True


def test_command_line_runs_until_sigterm() -> None:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root))
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.admin_double", "--port", "0", "--api-key", KEY,
         "--api-secret", SECRET], cwd=root, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://[\d.]+:\d+", line)
        assert url, line
        with httpx.Client(timeout=5) as client:
            assert client.get(url.group(0) + "/_double/health").json()["ok"] is True
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
