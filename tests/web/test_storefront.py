"""The storefront surface over real HTTP: consent proofs through the app proxy (signed exactly as Shopify
signs them), the headless banner script, and the merchant's API for proofs and the banner."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from shopify_app.models import AuditEntry, ConsentRecord, Shop
from shopify_app.services import banner
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.signing import API_SECRET, PREVIOUS_SECRET, make_session_token, sign_proxy_query

ALL = {"analytics": True, "marketing": True, "preferences": True, "sale_of_data": True}
NONE = {"analytics": False, "marketing": False, "preferences": False, "sale_of_data": False}
TEXT_HASH = "5f" * 32


def proxy_query(shop: str = DEMO_SHOP, *, customer_id: str = "", timestamp: float | None = None,
                secret: str = API_SECRET) -> str:
    """The query Shopify's app proxy adds when it forwards ``POST /apps/privacy/consent``."""
    return sign_proxy_query([("shop", shop), ("logged_in_customer_id", customer_id), ("path_prefix", "/apps/privacy"),
                             ("timestamp", str(int(time.time() if timestamp is None else timestamp)))], secret)


def consent_body(**overrides) -> dict:
    body = {"visitor_id": str(uuid.uuid4()), "action": "accept_all", "choices": dict(ALL), "revision": 1,
            "text_hash": TEXT_HASH, "language": "fr", "gpc": False, "page": "/products/sunglasses"}
    body.update(overrides)
    return body


def post_consent(client, body, *, query: str | None = None, headers: dict | None = None):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"/proxy/consent?{query or proxy_query()}", content=content,
                       headers={"Content-Type": "application/json", **(headers or {})})


def records(db_session) -> list[ConsentRecord]:
    db_session.rollback()
    return db_session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()


def auth(shop: str = DEMO_SHOP) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(shop)}"}


# ------------------------------------------------------------------ POST /proxy/consent


def test_a_signed_choice_is_stored_with_the_signed_customer_and_truncated_ip_and_user_agent(
        client, install_shop, db_session):
    install_shop()
    body = consent_body(action="custom", choices={**NONE, "analytics": True})
    response = post_consent(client, body, query=proxy_query(customer_id="7301"), headers={
        "X-Forwarded-For": "203.0.113.77, 23.227.38.65", "User-Agent": "Mozilla/5.0 " + "x" * 400})
    assert response.status_code == 204 and response.content == b""
    assert "Access-Control-Allow-Origin" not in response.headers  # same-origin through the proxy: no CORS
    [row] = records(db_session)
    shop = db_session.scalars(select(Shop).where(Shop.domain == DEMO_SHOP)).one()
    assert row.shop_id == shop.id and row.customer_id == 7301 and row.visitor_id == body["visitor_id"]
    assert (row.action, row.analytics, row.marketing, row.preferences, row.sale_of_data) == (
        "custom", True, False, False, False)
    assert (row.revision, row.text_hash, row.language, row.gpc) == (1, TEXT_HASH, "fr", False)
    assert row.ip_truncated == "203.0.113.0"
    assert row.user_agent == ("Mozilla/5.0 " + "x" * 400)[:200]
    assert abs((row.recorded_at - dt.datetime.now(dt.UTC)).total_seconds()) < 60


def test_a_guest_has_no_customer_and_ipv6_is_cut_to_48_bits(client, install_shop, db_session):
    install_shop()
    response = post_consent(client, consent_body(), headers={"X-Forwarded-For": "2001:db8:85a3:8d3:1319:8a2e:370:7348"})
    assert response.status_code == 204
    [row] = records(db_session)
    assert row.customer_id is None and row.ip_truncated == "2001:db8:85a3::"


def test_global_privacy_control_is_stored(client, install_shop, db_session):
    install_shop()
    choices = {"analytics": True, "marketing": False, "preferences": True, "sale_of_data": False}
    assert post_consent(client, consent_body(gpc=True, choices=choices, language="en")).status_code == 204
    [row] = records(db_session)
    assert row.gpc is True and row.marketing is False and row.sale_of_data is False and row.language == "en"


def test_the_previous_secret_still_verifies_while_it_is_rotated_out(client, install_shop, db_session):
    install_shop()
    assert post_consent(client, consent_body(), query=proxy_query(secret=PREVIOUS_SECRET)).status_code == 204
    assert len(records(db_session)) == 1


def _tampered_customer() -> str:
    return proxy_query(customer_id="7301").replace("logged_in_customer_id=7301", "logged_in_customer_id=7302")


@pytest.mark.parametrize("query", [
    pytest.param(lambda: "", id="unsigned"),
    pytest.param(lambda: proxy_query().rsplit("&signature=", 1)[0], id="no-signature"),
    pytest.param(lambda: proxy_query(secret="not-the-app-secret"), id="forged"),
    pytest.param(_tampered_customer, id="customer-changed-after-signing"),
    pytest.param(lambda: proxy_query(timestamp=time.time() - 3600), id="stale-timestamp"),
    pytest.param(lambda: proxy_query(shop="evil.example.com"), id="not-a-shop-domain"),
])
def test_unsigned_forged_or_stale_requests_get_401_and_store_nothing(client, install_shop, db_session, query):
    install_shop()
    response = client.post(f"/proxy/consent?{query()}", json=consent_body())
    assert response.status_code == 401
    assert records(db_session) == []


def _big_body() -> bytes:
    return json.dumps(consent_body(page="/" + "p" * 4200)).encode()


MALFORMED = {
    "not-json": b"{visitor_id:",
    "not-utf8": b'{"visitor_id": "\xff\xfe"}',
    "array": b"[]",
    "deeply-nested": b"[" * 3000 + b"]" * 1000,
    "too-large": _big_body(),
    "missing-field": {k: v for k, v in consent_body().items() if k != "text_hash"},
    "unknown-field": consent_body(extra=1),
    "customer-id-in-body": consent_body(customer_id=42),
    "visitor-too-short": consent_body(visitor_id="abc"),
    "visitor-too-long": consent_body(visitor_id="a" * 65),
    "visitor-bad-chars": consent_body(visitor_id="abcd efgh<script>"),
    "visitor-number": consent_body(visitor_id=12345678),
    "unknown-action": consent_body(action="maybe"),
    "action-list": consent_body(action=["accept_all"]),
    "choices-missing-key": consent_body(choices={"analytics": True, "marketing": True, "preferences": True}),
    "choices-extra-key": consent_body(choices={**ALL, "necessary": True}),
    "choice-not-bool": consent_body(action="custom", choices={**NONE, "analytics": "yes"}),
    "choice-int": consent_body(action="custom", choices={**NONE, "analytics": 1}),
    "revision-string": consent_body(revision="3"),
    "revision-bool": consent_body(revision=True),
    "revision-float": consent_body(revision=3.0),
    "revision-negative": consent_body(revision=-1),
    "text-hash-short": consent_body(text_hash="abc123"),
    "text-hash-upper": consent_body(text_hash="5F" * 32),
    "language-de": consent_body(language="de"),
    "gpc-string": consent_body(gpc="true"),
    "page-not-path": consent_body(page="https://evil.example/"),
    "page-number": consent_body(page=7),
    "reject-all-granting": consent_body(action="reject_all", choices={**NONE, "analytics": True}),
    "close-granting": consent_body(action="close", choices=dict(ALL)),
    "accept-all-refusing": consent_body(action="accept_all", choices={**ALL, "analytics": False}),
    "gpc-with-marketing": consent_body(action="custom", gpc=True, choices={**NONE, "marketing": True}),
}


@pytest.mark.parametrize("body", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_bodies_get_400_and_store_nothing(client, install_shop, db_session, body):
    install_shop()
    response = post_consent(client, body)
    assert response.status_code == 400, response.text
    assert response.text
    assert records(db_session) == []


def test_an_unknown_shop_gets_404_and_nothing_is_stored(client, db_session):
    response = post_consent(client, consent_body(), query=proxy_query(shop="nobody.myshopify.com"))
    assert response.status_code == 404
    assert records(db_session) == []


def test_a_visitor_sending_too_many_events_gets_429(client, install_shop, db_session):
    install_shop()
    visitor = str(uuid.uuid4())
    statuses = [post_consent(client, consent_body(visitor_id=visitor)).status_code for _ in range(21)]
    assert statuses == [204] * 20 + [429]
    limited = post_consent(client, consent_body(visitor_id=visitor))
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 60
    assert post_consent(client, consent_body()).status_code == 204  # another visitor of the same shop
    assert len(records(db_session)) == 21


def test_redis_down_does_not_lose_proofs(client, install_shop, db_session, redis_server):
    install_shop()
    redis_server.stop()
    try:
        response = post_consent(client, consent_body())
    finally:
        redis_server.start()
    assert response.status_code == 204
    assert len(records(db_session)) == 1


# ------------------------------------------------------------------ GET /storefront/consent-banner.js


def script_config(text: str) -> dict:
    head, _, _rest = text.partition(";\n")
    assert head.startswith("window.PrivacyConsentConfig=")
    return json.loads(head.removeprefix("window.PrivacyConsentConfig="))


def test_banner_script_embeds_the_config_and_is_cacheable(client, install_shop):
    install_shop()
    response = client.get("/storefront/consent-banner.js", params={"shop": DEMO_SHOP})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300, stale-while-revalidate=86400"
    etag = response.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    config = script_config(response.text)
    assert config["shop"] == DEMO_SHOP and config["revision"] == 1 and config["expiryDays"] == 182
    assert config["endpoint"] == "/apps/privacy/consent" and config["policyUrl"] == "/policies/privacy-policy"
    assert config["textHash"] == banner.text_hash(config["texts"], config["categories"])
    assert config["texts"]["fr"]["acceptAll"] == "Tout accepter"
    js = (banner.ASSETS / "consent-banner.js").read_text("utf-8")
    css = (banner.ASSETS / "consent-banner.css").read_text("utf-8")
    assert response.text.endswith(js)
    assert json.dumps(css, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e") in response.text

    again = client.get("/storefront/consent-banner.js", params={"shop": DEMO_SHOP}, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    other_tag = client.get("/storefront/consent-banner.js", params={"shop": DEMO_SHOP},
                           headers={"If-None-Match": '"something-else"'})
    assert other_tag.status_code == 200


def test_banner_script_changes_when_the_merchant_edits_the_banner(client, install_shop):
    install_shop()
    first = client.get("/storefront/consent-banner.js", params={"shop": DEMO_SHOP})
    assert client.put("/api/banner", json={"policyUrl": "/pages/confidentialite"}, headers=auth()).status_code == 200
    second = client.get("/storefront/consent-banner.js", params={"shop": DEMO_SHOP},
                        headers={"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200 and second.headers["ETag"] != first.headers["ETag"]
    assert script_config(second.text)["policyUrl"] == "/pages/confidentialite"


@pytest.mark.parametrize("shop, status", [("nobody.myshopify.com", 404), ("evil.example.com", 400), ("", 400),
                                          ("DEMO-SHOP.myshopify.com.evil.com", 400)])
def test_banner_script_for_a_bad_or_unknown_shop(client, install_shop, shop, status):
    install_shop()
    assert client.get("/storefront/consent-banner.js", params={"shop": shop}).status_code == status


def test_banner_script_stops_once_the_app_is_uninstalled(client, install_shop, post_webhook):
    install_shop()
    assert client.get("/storefront/consent-banner.js", params={"shop": DEMO_SHOP}).status_code == 200
    body = json.dumps({"id": 1, "domain": DEMO_SHOP, "myshopify_domain": DEMO_SHOP}).encode()
    assert post_webhook("app/uninstalled", body).status_code == 200
    assert client.get("/storefront/consent-banner.js", params={"shop": DEMO_SHOP}).status_code == 404


# ------------------------------------------------------------------ GET /api/consent-records


def add_record(db_session, shop_domain: str, *, visitor_id: str, customer_id: int | None = None,
               at: dt.datetime, action: str = "accept_all") -> None:
    shop_id = db_session.scalars(select(Shop.id).where(Shop.domain == shop_domain)).one()
    granted = action == "accept_all"
    db_session.add(ConsentRecord(shop_id=shop_id, visitor_id=visitor_id, customer_id=customer_id, action=action,
                                 analytics=granted, marketing=granted, preferences=granted, sale_of_data=granted,
                                 gpc=False, revision=2, text_hash=TEXT_HASH, language="fr",
                                 ip_truncated="203.0.113.0", user_agent="UA", recorded_at=at))
    db_session.commit()


@pytest.fixture
def proofs(install_shop, db_session):
    """Five proofs for the demo shop on 1–5 November 2026 at noon, one for the other shop."""
    install_shop()
    install_shop(OTHER_SHOP)
    for day in range(1, 6):
        add_record(db_session, DEMO_SHOP, visitor_id=f"visitor-{day % 2}", customer_id=1001 if day == 3 else None,
                   at=dt.datetime(2026, 11, day, 12, tzinfo=dt.UTC), action="accept_all" if day % 2 else "reject_all")
    add_record(db_session, OTHER_SHOP, visitor_id="visitor-1", at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))


def days(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [dt.datetime.fromisoformat(r["recorded_at"]).day for r in response.json()["records"]]


def test_consent_records_are_the_shops_own_newest_first(client, proofs):
    response = client.get("/api/consent-records", headers=auth())
    assert days(response) == [5, 4, 3, 2, 1]
    first = response.json()["records"][0]
    assert first == {
        "id": first["id"], "visitor_id": "visitor-1", "customer_id": None, "action": "accept_all", "choices": ALL,
        "gpc": False, "revision": 2, "text_hash": TEXT_HASH, "language": "fr", "ip_truncated": "203.0.113.0",
        "user_agent": "UA", "recorded_at": "2026-11-05T12:00:00+00:00",
    }
    other = client.get("/api/consent-records", headers=auth(OTHER_SHOP)).json()["records"]
    assert [r["recorded_at"] for r in other] == ["2026-11-02T00:00:00+00:00"]


def test_a_shop_without_proofs_sees_nothing(client, proofs):
    assert client.get("/api/consent-records", headers=auth("third-shop.myshopify.com")).json()["records"] == []


def test_consent_record_filters_and_pages(client, proofs):
    get = lambda **params: client.get("/api/consent-records", params=params, headers=auth())  # noqa: E731
    assert days(get(visitor_id="visitor-0")) == [4, 2]
    assert days(get(customer_id="1001")) == [3]
    assert days(get(since="2026-11-02", until="2026-11-04")) == [4, 3, 2]  # until: that whole day
    assert days(get(since="2026-11-02T12:00:01Z")) == [5, 4, 3]
    assert days(get(until="2026-11-03T12:00:00+00:00")) == [2, 1]  # date-time: exclusive
    assert days(get(limit="2")) == [5, 4]
    assert days(get(limit="2", offset="2")) == [3, 2]
    assert days(get(limit="2", offset="4")) == [1]
    assert get(limit="2", offset="2").json()["limit"] == 2


@pytest.mark.parametrize("params", [{"limit": "201"}, {"limit": "0"}, {"offset": "-1"}, {"limit": "x"},
                                    {"since": "yesterday"}, {"until": "2026-13-01"}, {"visitor_id": "a b"},
                                    {"customer_id": "abc"}, {"customer_id": "-4"},
                                    {"since": "2026-11-05", "until": "2026-11-01"}])
def test_bad_consent_record_filters_get_400(client, proofs, params):
    response = client.get("/api/consent-records", params=params, headers=auth())
    assert response.status_code == 400 and response.json()["error"]


def test_consent_records_need_a_session_token(client, proofs):
    assert client.get("/api/consent-records").status_code == 401
    forged = make_session_token(DEMO_SHOP, secret="wrong-secret-0123456789abcdef0123456789")
    assert client.get("/api/consent-records", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


# ------------------------------------------------------------------ /api/banner


def metafield_writes(shopify_double) -> list[dict]:
    return [m for record in shopify_double.mutations if record.field == "metafieldsSet"
            for m in record.variables["metafields"]]


def test_get_banner_returns_the_defaults_before_any_save(client, install_shop):
    install_shop()
    config = client.get("/api/banner", headers=auth()).json()
    assert config["revision"] == 1 and config["shop"] == DEMO_SHOP
    assert [c["id"] for c in config["categories"]] == ["necessary", "analytics", "marketing", "preferences"]
    assert "_ga_*" in [k["name"] for k in config["categories"][1]["cookies"]]


def test_saving_new_texts_bumps_the_revision_publishes_to_the_metafield_and_is_audited(
        client, install_shop, shopify_double, db_session):
    install_shop()
    texts = client.get("/api/banner", headers=auth()).json()["texts"]
    texts["fr"]["title"] = "Vos données, vos choix"
    response = client.put("/api/banner", json={"texts": texts}, headers=auth())
    assert response.status_code == 200, response.text
    config = response.json()
    assert config["revision"] == 2 and config["texts"]["fr"]["title"] == "Vos données, vos choix"

    [write] = metafield_writes(shopify_double)
    assert write["ownerId"] == shopify_double.app_installation_id(DEMO_SHOP)
    assert (write["namespace"], write["key"], write["type"]) == ("privacy_consent", "banner_config", "json")
    assert json.loads(write["value"]) == config
    stored = shopify_double.metafields(DEMO_SHOP)[("privacy_consent", "banner_config")]
    assert json.loads(stored["value"])["revision"] == 2

    db_session.rollback()
    [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "banner.saved")).all()
    assert entry.actor == "merchant:42" and entry.detail["revision"] == 2
    assert entry.detail["textHash"] == config["textHash"] and entry.detail["texts"]["fr"]["title"] == texts["fr"]["title"]


def test_changing_only_the_policy_link_publishes_without_a_new_revision(client, install_shop, shopify_double):
    install_shop()
    before = client.get("/api/banner", headers=auth()).json()
    config = client.put("/api/banner", json={"policyUrl": "/pages/vie-privee"}, headers=auth()).json()
    assert config["revision"] == 1 and config["textHash"] == before["textHash"]
    assert json.loads(metafield_writes(shopify_double)[0]["value"])["policyUrl"] == "/pages/vie-privee"
    # Same texts again: still no new revision.
    again = client.put("/api/banner", json={"texts": before["texts"]}, headers=auth()).json()
    assert again["revision"] == 1 and len(metafield_writes(shopify_double)) == 2


def test_adding_a_cookie_is_a_new_revision(client, install_shop):
    install_shop()
    categories = client.get("/api/banner", headers=auth()).json()["categories"]
    categories[2]["cookies"].append({"name": "_pin_unauth", "purpose": {"en": "Pinterest ads", "fr": "Publicité Pinterest"},
                                     "lifetime": {"en": "1 year", "fr": "1 an"}})
    config = client.put("/api/banner", json={"categories": categories}, headers=auth()).json()
    assert config["revision"] == 2 and "_pin_unauth" in [k["name"] for k in config["categories"][2]["cookies"]]


@pytest.mark.parametrize("payload", [None, [], {}, {"revision": 9}, {"policyUrl": "javascript:alert(1)"},
                                     {"texts": {"fr": {}}}, {"categories": []}])
def test_invalid_banner_changes_get_400_and_publish_nothing(client, install_shop, shopify_double, payload):
    install_shop()
    response = client.put("/api/banner", json=payload, headers=auth())
    assert response.status_code == 400 and response.json()["error"]
    assert metafield_writes(shopify_double) == []
    assert client.get("/api/banner", headers=auth()).json()["revision"] == 1


def test_a_shopify_outage_keeps_the_save_and_says_it_was_not_published(client, install_shop, shopify_double):
    install_shop()
    shopify_double.fail_next("500", times=20)
    response = client.put("/api/banner", json={"policyUrl": "/pages/rgpd"}, headers=auth())
    assert response.status_code == 502 and "Saved, but not published" in response.json()["error"]
    shopify_double.clear_failures()
    assert client.get("/api/banner", headers=auth()).json()["policyUrl"] == "/pages/rgpd"
    assert client.put("/api/banner", json={"policyUrl": "/pages/rgpd"}, headers=auth()).status_code == 200
    assert len(metafield_writes(shopify_double)) == 1


def test_embed_status_follows_the_theme(client, install_shop, shopify_double):
    install_shop()
    expected_link = ("https://demo-shop.myshopify.com/admin/themes/current/editor?context=apps"
                     "&activateAppId=test-api-key/consent-banner")
    status = client.get("/api/banner/embed-status", headers=auth()).json()  # the demo shop has it on
    assert status == {"enabled": True, "theme_name": "Dawn", "deep_link": expected_link, "revision": 1,
                      "reason": None}
    shopify_double.set_app_embed(DEMO_SHOP, False)
    assert client.get("/api/banner/embed-status", headers=auth()).json()["enabled"] is False
    shopify_double.set_app_embed(DEMO_SHOP, True)
    assert client.get("/api/banner/embed-status", headers=auth()).json()["enabled"] is True


def test_embed_status_without_a_published_theme_is_unknown(client, install_shop):
    install_shop(OTHER_SHOP)
    status = client.get("/api/banner/embed-status", headers=auth(OTHER_SHOP)).json()
    assert status["enabled"] is None and status["reason"] == "no published theme"
    assert status["deep_link"].startswith("https://other-shop.myshopify.com/admin/themes/current/editor?")


def test_saved_choices_count_per_shop(client, install_shop, db_session):
    """A proof lands under the shop that the proxy signed for, never another."""
    install_shop()
    install_shop(OTHER_SHOP)
    assert post_consent(client, consent_body(), query=proxy_query(OTHER_SHOP)).status_code == 204
    db_session.rollback()
    counts = dict(db_session.execute(select(Shop.domain, func.count(ConsentRecord.id))
                                     .outerjoin(ConsentRecord, ConsentRecord.shop_id == Shop.id)
                                     .group_by(Shop.domain)).all())
    assert counts == {DEMO_SHOP: 0, OTHER_SHOP: 1}
