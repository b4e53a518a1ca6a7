"""End to end in Chromium: the banner script comes from our live app, and the choice lands in our database.

A storefront-like page is served on the app's own origin (as a headless storefront would embed
``/storefront/consent-banner.js``). Its consent POST to ``/apps/privacy/consent`` is forwarded to
the app's ``/proxy/consent`` with a signed query, the way Shopify's app proxy forwards it: cookies
stripped, the visitor's address in ``X-Forwarded-For``, a logged-in customer's id signed in.
"""

from __future__ import annotations

import time
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from shopify_app.models import ConsentRecord, Shop
from tests.conftest import DEMO_SHOP
from tests.signing import sign_proxy_query

pytestmark = pytest.mark.browser

CUSTOMER_ID = "4242"
STOREFRONT_PAGE = f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Le Petit Lunetier</title>
<script defer src="/storefront/consent-banner.js?shop={DEMO_SHOP}"></script></head>
<body><main><h1>Lunettes en acétate, faites main</h1>
<script type="text/plain" data-consent="analytics">window.__analyticsRan = 1;</script></main></body></html>"""


def test_accept_all_on_a_storefront_lands_in_the_database(page, context, bt, live_server, install_shop, db_session):
    install_shop()
    forwarded: list[dict] = []

    def storefront(route):
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=STOREFRONT_PAGE)

    def app_proxy(route):
        query = sign_proxy_query([("shop", DEMO_SHOP), ("logged_in_customer_id", CUSTOMER_ID),
                                  ("path_prefix", "/apps/privacy"), ("timestamp", str(int(time.time())))])
        headers = {k: v for k, v in route.request.headers.items() if k.lower() != "cookie"}
        headers["x-forwarded-for"] = "203.0.113.9"
        forwarded.append(headers)
        route.continue_(url=f"{live_server}/proxy/consent?{query}", headers=headers)

    page.route(f"{live_server}/products/sunglasses", storefront)
    page.route(f"{live_server}/apps/privacy/consent", app_proxy)
    page.goto(f"{live_server}/products/sunglasses")

    region = page.get_by_role("region", name="Votre vie privée")
    expect(region).to_be_visible()  # texts from the shop's configuration, styles injected by the script
    assert page.locator("#pc-banner").evaluate("el => getComputedStyle(el).position") == "fixed"
    with page.expect_response(lambda r: r.request.method == "POST" and "/consent" in urlparse(r.url).path) as answer:
        region.get_by_role("button", name="Tout accepter").click()
    assert answer.value.status == 204
    page.wait_for_function("window.__analyticsRan === 1")
    assert forwarded and "cookie" not in forwarded[0]

    visitor_id = bt.stored_consent(context)["value"]["id"]
    db_session.rollback()
    [row] = db_session.scalars(select(ConsentRecord)).all()
    shop = db_session.scalars(select(Shop).where(Shop.domain == DEMO_SHOP)).one()
    config = page.evaluate("window.PrivacyConsentConfig")
    assert row.shop_id == shop.id and row.visitor_id == visitor_id and row.customer_id == int(CUSTOMER_ID)
    assert (row.action, row.analytics, row.marketing, row.preferences, row.sale_of_data, row.gpc) == (
        "accept_all", True, True, True, True, False)
    assert (row.revision, row.text_hash, row.language) == (config["revision"], config["textHash"], "fr")
    assert row.ip_truncated == "203.0.113.0" and "Chrome" in row.user_agent
