"""Authorization-code grant for non-embedded installs."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from shopify_app.models import Shop
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.signing import sign_oauth_query


def start_install(client, shop: str = DEMO_SHOP) -> str:
    response = client.get("/auth/install", params={"shop": shop})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path.endswith(f"/{shop}/admin/oauth/authorize")
    query = parse_qs(location.query)
    assert query["client_id"] == ["test-api-key"] and "read_customers" in query["scope"][0]
    return query["state"][0]


def callback_params(shop: str, state: str, code: str, **overrides: str) -> dict[str, str]:
    params = {"code": code, "shop": shop, "state": state, "timestamp": str(int(time.time())), "host": "aG9zdA"}
    params.update(overrides)
    return sign_oauth_query(params)


def test_install_and_callback_store_an_offline_token(client, shopify_double, db_session):
    state = start_install(client)
    code = shopify_double.issue_authorization_code(DEMO_SHOP)
    response = client.get("/auth/callback", params=callback_params(DEMO_SHOP, state, code))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://admin.shopify.com/store/demo-shop/apps/")
    db_session.rollback()
    assert db_session.scalars(select(Shop)).one().is_installed


def test_callback_rejects_a_bad_hmac(client, shopify_double):
    state = start_install(client)
    params = callback_params(DEMO_SHOP, state, shopify_double.issue_authorization_code(DEMO_SHOP))
    params["code"] = "tampered"
    assert client.get("/auth/callback", params=params).status_code == 401


def test_callback_rejects_an_old_timestamp(client, shopify_double):
    state = start_install(client)
    params = callback_params(DEMO_SHOP, state, shopify_double.issue_authorization_code(DEMO_SHOP),
                             timestamp=str(int(time.time()) - 3600))
    assert client.get("/auth/callback", params=params).status_code == 401


def test_callback_rejects_a_reused_state(client, shopify_double):
    state = start_install(client)
    first = callback_params(DEMO_SHOP, state, shopify_double.issue_authorization_code(DEMO_SHOP))
    assert client.get("/auth/callback", params=first).status_code == 302
    again = callback_params(DEMO_SHOP, state, shopify_double.issue_authorization_code(DEMO_SHOP))
    assert client.get("/auth/callback", params=again).status_code == 400


def test_callback_rejects_a_state_issued_to_another_shop(client, shopify_double, db_session):
    state = start_install(client, DEMO_SHOP)
    params = callback_params(OTHER_SHOP, state, shopify_double.issue_authorization_code(OTHER_SHOP))
    assert client.get("/auth/callback", params=params).status_code == 400
    db_session.rollback()
    assert db_session.scalars(select(Shop)).all() == []


def test_install_refuses_a_foreign_domain(client):
    for shop in ("evil.example.com", "", "demo-shop.myshopify.com.evil.com", "https://x.myshopify.com/../evil"):
        assert client.get("/auth/install", params={"shop": shop}).status_code == 400
