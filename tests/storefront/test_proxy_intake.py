"""The storefront request page through the app proxy: signed like Shopify signs it, over real HTTP."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time

import pytest
from sqlalchemy import func, select

from shopify_app.models import AuditEntry, PrivacyRequest, StorefrontRequest, utcnow
from shopify_app.services.months import add_months
from tests.conftest import OTHER_SHOP
from tests.signing import PREVIOUS_SECRET
from tests.storefront.helpers import auth, link_in, outbox, proxy_get, proxy_post, proxy_query, token_of

GUEST_FORM = {"right": "erasure", "email": "zoe.martin@example.org", "message": "Please erase my account."}


def count(db_session, model) -> int:
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(model))


def test_the_form_is_liquid_in_french_or_english(client, install_shop):
    install_shop()
    french = proxy_get(client, "/proxy", extra={"locale": "fr"})
    assert french.status_code == 200 and french.headers["content-type"].startswith("application/liquid")
    assert "Vos droits sur vos données" in french.text and 'lang="fr"' in french.text
    assert 'action="/apps/privacy/requests?locale=fr"' in french.text  # posts back through the proxy
    for right in ("access", "rectification", "erasure", "objection", "post_mortem_directive"):
        assert f'value="{right}"' in french.text
    for field in ('name="correction"', 'name="channel" id="pc-channel-email"', 'id="pc-channel-sms"', 'name="email"',
                  'name="message"'):
        assert field in french.text
    english = proxy_get(client, "/proxy", headers={"Accept-Language": "de-DE,en;q=0.8,fr;q=0.5"})
    assert "Your privacy rights" in english.text and 'lang="en"' in english.text
    assert "Vos droits" in proxy_get(client, "/proxy", headers={"Accept-Language": "fr-CA"}).text
    # The only Liquid is the logged-in customer's address, filled in by Shopify.
    liquid = re.findall(r"\{\{.*?\}\}|\{%.*?%\}", english.text)
    assert liquid == ["{% if customer %}", "{{ customer.email | escape }}", "{% endif %}"]
    assert english.headers["cache-control"] == "private, no-store"


@pytest.mark.parametrize("forgery", ["wrong_secret", "tampered_customer", "stale", "no_signature"])
def test_a_forged_or_stale_proxy_request_is_refused(client, install_shop, db_session, settings, forgery):
    install_shop()
    if forgery == "wrong_secret":
        query = proxy_query(secret="not-the-app-secret")
    elif forgery == "tampered_customer":  # signed as a guest, then claims to be customer 1001
        query = proxy_query().replace("logged_in_customer_id=&", "logged_in_customer_id=1001&")
    elif forgery == "stale":
        query = proxy_query(timestamp=int(time.time()) - 3600)
    else:
        query = re.sub(r"&signature=[0-9a-f]+", "", proxy_query())
    for method, path in (("GET", "/proxy"), ("POST", "/proxy/requests"), ("GET", "/proxy/confirm"),
                         ("POST", "/proxy/confirm"), ("GET", "/proxy/report"), ("POST", "/proxy/report")):
        response = client.request(method, f"{path}?{query}", data=GUEST_FORM if method == "POST" else None)
        assert response.status_code == 401, (forgery, path)
    assert count(db_session, StorefrontRequest) == 0 and outbox(settings) == []


def test_the_previous_secret_still_verifies_while_rotating(client, install_shop):
    install_shop()
    assert proxy_get(client, "/proxy", secret=PREVIOUS_SECRET).status_code == 200


def test_a_logged_in_request_is_verified_at_once(client, install_shop, db_session, settings, shopify_double):
    install_shop()
    calls_before = len(shopify_double.requests)
    response = proxy_post(client, "/proxy/requests", {"right": "access", "email": "camille.dubois@example.fr"},
                          customer_id=1001, extra={"locale": "fr"})
    assert response.status_code == 200 and "Demande reçue" in response.text
    db_session.rollback()
    request = db_session.scalars(select(PrivacyRequest)).one()
    assert (request.kind, request.source, request.status, request.customer_id) == ("access", "storefront", "received",
                                                                                     1001)
    assert request.due_at == add_months(request.received_at, 1)
    row = db_session.scalars(select(StorefrontRequest)).one()
    assert row.status == "confirmed" and row.token_hash is None and row.language == "fr"
    [ack] = outbox(settings)
    assert ack["To"] == "camille.dubois@example.fr" and ack["Cc"] is None and ack["Bcc"] is None
    assert "La boutique doit y répondre avant le" in ack.get_content()
    listed = client.get("/api/privacy-requests", headers=auth()).json()["requests"]
    assert [(r["kind"], r["source"], r["status"]) for r in listed] == [("access", "storefront", "received")]
    assert len(shopify_double.requests) == calls_before  # nothing asked of Shopify at intake
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "request.received")).one()
    assert entry.actor == "shopper" and entry.detail["verified_by"] == "login"


def test_a_guest_request_exists_only_once_confirmed_by_email(client, install_shop, db_session, settings):
    install_shop()
    response = proxy_post(client, "/proxy/requests", GUEST_FORM)
    assert response.status_code == 200 and "Check your inbox" in response.text
    assert count(db_session, PrivacyRequest) == 0
    assert client.get("/api/privacy-requests", headers=auth()).json()["requests"] == []  # not a request yet
    [message] = outbox(settings)
    assert message["To"] == "zoe.martin@example.org" and message["Cc"] is None
    link = link_in(message)
    assert link.startswith("https://demo-shop.myshopify.com/apps/privacy/confirm?token=")
    token = token_of(link)
    row = db_session.scalars(select(StorefrontRequest)).one()
    assert row.status == "unconfirmed" and row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.token_expires_at - row.created_at == dt.timedelta(hours=24)

    # Opening the link (as a mail scanner does) only shows a button; the button confirms.
    page = proxy_get(client, "/proxy/confirm", extra={"token": token})
    assert page.status_code == 200 and "Confirm your request" in page.text and "erase my data" in page.text
    assert f'name="token" value="{token}"' in page.text and 'action="/apps/privacy/confirm?locale=en"' in page.text
    assert count(db_session, PrivacyRequest) == 0 and proxy_get(client, "/proxy/confirm", extra={"token": token}).is_success
    confirmed = proxy_post(client, "/proxy/confirm", {"token": token})
    assert confirmed.status_code == 200 and "Request confirmed" in confirmed.text
    db_session.rollback()
    request = db_session.scalars(select(PrivacyRequest)).one()
    assert (request.kind, request.status, request.customer_email) == ("erasure", "received", "zoe.martin@example.org")
    assert request.customer_id is None
    assert request.due_at == add_months(request.received_at, 1)
    assert abs(request.received_at - utcnow()) < dt.timedelta(minutes=1)  # one month from confirmation
    assert [r["id"] for r in client.get("/api/privacy-requests", headers=auth()).json()["requests"]] == [request.id]


def test_a_confirmation_link_works_once_within_24_hours_and_in_its_shop_only(client, install_shop, db_session,
                                                                            settings):
    install_shop()
    install_shop(OTHER_SHOP)
    proxy_post(client, "/proxy/requests", GUEST_FORM)
    proxy_post(client, "/proxy/requests", {**GUEST_FORM, "email": "late@example.org"}, ip="198.51.100.1")
    first, late = (token_of(link_in(m)) for m in outbox(settings))
    assert proxy_post(client, "/proxy/confirm", {"token": first}, shop=OTHER_SHOP).status_code == 410
    assert proxy_get(client, "/proxy/confirm", shop=OTHER_SHOP, extra={"token": first}).status_code == 410
    assert proxy_post(client, "/proxy/confirm", {"token": first}).status_code == 200
    for reused in (proxy_post(client, "/proxy/confirm", {"token": first}),
                   proxy_get(client, "/proxy/confirm", extra={"token": first})):
        assert reused.status_code == 410 and "already been used" in reused.text
    for made_up in ("made-up", ""):
        assert proxy_post(client, "/proxy/confirm", {"token": made_up}).status_code == 410
        assert proxy_get(client, "/proxy/confirm", extra={"token": made_up}).status_code == 410

    row = db_session.scalars(select(StorefrontRequest).where(StorefrontRequest.email == "late@example.org")).one()
    row.token_expires_at = utcnow() - dt.timedelta(seconds=1)
    db_session.commit()
    assert proxy_get(client, "/proxy/confirm", extra={"token": late}).status_code == 410
    expired = proxy_post(client, "/proxy/confirm", {"token": late})
    assert expired.status_code == 410 and "expired" in expired.text
    assert count(db_session, PrivacyRequest) == 1


def test_the_answer_is_the_same_for_a_customer_and_a_stranger(client, install_shop, shopify_double, settings):
    install_shop()
    shopify_double.reset_records()
    known = proxy_post(client, "/proxy/requests", {**GUEST_FORM, "email": "camille.dubois@example.fr"})
    unknown = proxy_post(client, "/proxy/requests", {**GUEST_FORM, "email": "nobody@example.org"}, ip="198.51.100.2")
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert [m["To"] for m in outbox(settings)] == ["camille.dubois@example.fr", "nobody@example.org"]
    assert shopify_double.requests == []  # nothing is looked up before the email is confirmed


def test_invalid_forms_are_shown_again_with_what_the_shopper_typed_made_inert(client, install_shop, db_session,
                                                                               settings):
    install_shop()
    cases = [({"right": "rectification", "email": "a@example.org"}, "correction"),
             ({"right": "objection", "email": "a@example.org"}, "channel"),
             ({"right": "access", "email": "not an address"}, "email"),
             ({"right": "sell-my-data", "email": "a@example.org"}, "right"),
             ({"right": "access", "email": "a@example.org", "message": "x" * 2001}, "message"),
             ({"right": "access", "email": "a@example.org,b@example.org"}, "email")]
    for form, field in cases:
        response = proxy_post(client, "/proxy/requests", form)
        assert response.status_code == 422, form
        assert f'href="#pc-{field}"' in response.text
    injected = proxy_post(client, "/proxy/requests", {"right": "access", "email": "bad",
                                                      "message": "{{ customer.email }}{% if x %}<script>"})
    echoed = re.search(r'<textarea id="pc-message"[^>]*>(.*?)</textarea>', injected.text, re.S).group(1)
    assert echoed == "&#123;&#123; customer.email &#125;&#125;&#123;% if x %&#125;&lt;script&gt;"
    assert "{{ customer.email }}" not in injected.text and "{% if x %}" not in injected.text
    assert count(db_session, StorefrontRequest) == 0 and outbox(settings) == []


def test_rate_limits_per_ip_and_per_email_protect_the_merchant_and_the_inbox(client, install_shop, db_session,
                                                                             settings, redis_conn):
    install_shop()
    for n in range(5):
        assert proxy_post(client, "/proxy/requests", {**GUEST_FORM, "email": f"s{n}@example.org"}).status_code == 200
    blocked = proxy_post(client, "/proxy/requests", {**GUEST_FORM, "email": "s9@example.org"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert len(outbox(settings)) == 5

    # One inbox: three emails a day, from anywhere; the fourth gets the same answer and nothing is sent.
    answers = [proxy_post(client, "/proxy/requests", {**GUEST_FORM, "email": "Victim@Example.org"},
                          ip=f"198.51.100.{n}") for n in range(10, 14)]
    assert [a.status_code for a in answers] == [200] * 4 and len({a.text for a in answers}) == 1
    assert [m["To"] for m in outbox(settings)].count("Victim@Example.org") == 3
    assert count(db_session, StorefrontRequest) == 8
    keys = b" ".join(redis_conn.keys("rl:*")).lower()
    assert b"example.org" not in keys and b"203.0.113" not in keys  # hashed before Redis sees them


@pytest.mark.slow
def test_the_shop_limit_caps_what_one_shop_receives(client, install_shop, settings):
    install_shop()
    statuses = [proxy_post(client, "/proxy/requests", {**GUEST_FORM, "email": f"m{n}@example.org"},
                           ip=f"10.{n // 250}.{n % 250}.1").status_code for n in range(201)]
    assert statuses[:200] == [200] * 200 and statuses[200] == 429
    assert len(outbox(settings)) == 200


def test_unknown_shops_and_mail_failures_store_nothing(client, install_shop, db_session, settings, tmp_path):
    assert proxy_post(client, "/proxy/requests", GUEST_FORM, shop="never-installed.myshopify.com").status_code == 404
    install_shop()
    settings.outbox_path.parent.mkdir(parents=True, exist_ok=True)
    settings.outbox_path.write_text("not a folder")  # the mail cannot be written
    response = proxy_post(client, "/proxy/requests", GUEST_FORM)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert count(db_session, StorefrontRequest) == 0
