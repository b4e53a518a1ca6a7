"""Installing a shop from the embedded admin: session tokens, token exchange, refresh, framing."""

from __future__ import annotations

import datetime as dt
import re
import time

from sqlalchemy import select

from shopify_app.encryption import TokenCipher
from shopify_app.models import Shop
from shopify_app.services import shops
from shopify_app.platform.admin_client import ShopifyAdminClient
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.signing import make_session_token


def embedded_params(shop: str = DEMO_SHOP, **overrides: str) -> dict[str, str]:
    return {"shop": shop, "host": "aG9zdA", "embedded": "1", "id_token": make_session_token(shop), **overrides}


def stored_shop(db_session, domain: str = DEMO_SHOP) -> Shop:
    db_session.rollback()
    return db_session.scalars(select(Shop).where(Shop.domain == domain)).one()


def test_first_load_exchanges_the_session_token_for_an_expiring_offline_token(client, shopify_double, db_session,
                                                                               settings):
    response = client.get("/", params=embedded_params())
    assert response.status_code == 200
    html = response.text
    assert '<meta name="shopify-api-key" content="test-api-key">' in html
    first_script = re.search(r"<script[^>]*>", html).group(0)  # App Bridge must load before any other script
    assert 'src="https://cdn.shopify.com/shopifycloud/app-bridge.js"' in first_script
    assert response.headers["Content-Security-Policy"] == f"frame-ancestors https://{DEMO_SHOP} https://admin.shopify.com"
    assert "X-Frame-Options" not in response.headers

    [grant] = shopify_double.token_grants
    assert grant["shop"] == DEMO_SHOP and grant["expiring"] is True
    shop = stored_shop(db_session)
    assert shop.is_installed and shop.access_token_expires_at and shop.refresh_token_expires_at
    # Encrypted at rest: the raw column is not the token, but decrypts to a token the double accepts.
    assert not shop.access_token_encrypted.startswith("shpat_")
    plain = TokenCipher(settings.token_encryption_key).decrypt(shop.access_token_encrypted)
    assert plain.startswith("shpat_")

    assert client.get("/", params=embedded_params()).status_code == 200
    assert len(shopify_double.token_grants) == 1  # the stored token is reused


def test_a_token_near_expiry_is_refreshed_and_the_new_pair_stored(client, shopify_double, db_session, settings):
    shopify_double.access_token_lifetime = 60  # inside the 5-minute refresh margin
    client.get("/", params=embedded_params())
    before = stored_shop(db_session)
    cipher = TokenCipher(settings.token_encryption_key)
    old_access, old_refresh = cipher.decrypt(before.access_token_encrypted), cipher.decrypt(before.refresh_token_encrypted)

    admin = ShopifyAdminClient.from_settings(settings)
    token = shops.usable_access_token(db_session, admin, cipher, before)
    after = stored_shop(db_session)
    assert token != old_access and cipher.decrypt(after.access_token_encrypted) == token
    assert cipher.decrypt(after.refresh_token_encrypted) != old_refresh
    assert [g["grant"] for g in shopify_double.token_grants][-1] == "refresh_token"
    assert admin.graphql(DEMO_SHOP, token, "query { shop { name } }").data["shop"]["name"] == "Le Petit Lunetier"


def test_document_request_without_a_valid_token_goes_to_the_bounce_page(client, db_session):
    for params in (embedded_params(id_token=""), embedded_params(id_token="garbage"),
                   embedded_params(id_token=make_session_token(DEMO_SHOP, now=time.time() - 600))):
        response = client.get("/", params=params)
        assert response.status_code == 302
        location = response.headers["Location"]
        assert location.startswith("/auth/session-token?") and "shopify-reload=" in location
        assert "id_token" not in location.split("shopify-reload=")[1]
    bounce = client.get(location)
    assert bounce.status_code == 200 and "app-bridge.js" in bounce.text
    assert bounce.headers["Content-Security-Policy"] == f"frame-ancestors https://{DEMO_SHOP} https://admin.shopify.com"
    assert db_session.scalars(select(Shop)).all() == []


def test_page_without_any_shop_is_refused_and_not_frameable(client):
    response = client.get("/")
    assert response.status_code == 400
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"database": True, "redis": True}


def test_the_shop_comes_only_from_the_verified_token(client, db_session):
    # A token for shop B with ?shop=A in the query installs and shows shop B, never A.
    response = client.get("/", params={**embedded_params(OTHER_SHOP), "shop": DEMO_SHOP})
    assert response.status_code == 200 and OTHER_SHOP in response.text and DEMO_SHOP not in response.text
    assert response.headers["Content-Security-Policy"] == f"frame-ancestors https://{OTHER_SHOP} https://admin.shopify.com"
    db_session.rollback()
    assert [s.domain for s in db_session.scalars(select(Shop))] == [OTHER_SHOP]


def test_fetch_with_a_bad_token_gets_401_and_the_retry_header(client):
    for header in ({}, {"Authorization": "Bearer nope"},
                   {"Authorization": f"Bearer {make_session_token(DEMO_SHOP, now=time.time() - 600)}"}):
        response = client.get("/api/shop", headers=header)
        assert response.status_code == 401
        assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


def test_api_shop_describes_the_signed_in_shop(client, install_shop):
    install_shop()
    response = client.get("/api/shop", headers={"Authorization": f"Bearer {make_session_token(DEMO_SHOP)}"})
    assert response.status_code == 200
    body = response.json()
    assert body["domain"] == DEMO_SHOP and body["installed"] is True
    assert dt.datetime.fromisoformat(body["installed_at"])
