"""The admin pages over HTTP: each renders for its shop only, in English or French, with output escaped."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from shopify_app.models import utcnow
from tests.admin.factories import add_consents, add_request, consent_row, page_params, shop_id
from tests.conftest import DEMO_SHOP, OTHER_SHOP

PAGES = ("/", "/requests", "/consent-log", "/settings", "/audit-log")


@pytest.fixture
def demo(install_shop, db_session) -> int:
    install_shop()
    return shop_id(db_session, DEMO_SHOP)


def test_every_page_is_an_embedded_app_bridge_document(client, demo):
    for path in PAGES:
        response = client.get(path, params=page_params(DEMO_SHOP))
        assert response.status_code == 200, response.text
        html = response.text
        assert '<meta name="shopify-api-key" content="test-api-key">' in html
        first_script = re.search(r"<script[^>]*>", html).group(0)
        assert 'src="https://cdn.shopify.com/shopifycloud/app-bridge.js"' in first_script, path
        assert response.headers["Content-Security-Policy"] == \
            f"frame-ancestors https://{DEMO_SHOP} https://admin.shopify.com"
        # Links keep the embedded context but never carry the session token; no cookie is ever set.
        assert "id_token" not in html
        assert "set-cookie" not in response.headers
        assert 'href="/requests?shop=demo-shop.myshopify.com&amp;host=' in html


def test_pages_without_a_valid_token_bounce_and_show_nothing(client, demo):
    for path in PAGES:
        response = client.get(path, params={**page_params(DEMO_SHOP), "id_token": "forged"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/auth/session-token?")


def test_overview_counts_and_needs_action(client, demo, db_session):
    add_request(db_session, demo, status="received", due_in_days=3)  # open, due soon
    add_request(db_session, demo, status="processing", due_in_days=-2)  # open, overdue
    add_request(db_session, demo, status="failed", due_in_days=12, failure_reason="ShopifyApiError: 502")
    add_request(db_session, demo, status="completed", due_in_days=10, completed_days_ago=0)
    add_request(db_session, demo, status="closed", due_in_days=-40, completed_days_ago=45)  # last month
    html = client.get("/", params=page_params(DEMO_SHOP)).text
    stats = dict(re.findall(r'data-stat="(\w+)">(\d+)<', html))
    assert stats == {"open": "3", "due_soon": "1", "overdue": "1", "completed_this_month": "1"}
    actions = re.findall(r'data-action="(\w+)"', html)
    assert actions == ["overdue", "failed", "due_soon", "policy"]
    assert "1 privacy request is overdue" in html and "1 request failed" in html


def test_overview_explains_why_the_seed_policy_wording_must_change(client, demo):
    html = client.get("/", params=page_params(DEMO_SHOP)).text
    assert "By being on our site, you accept the use of cookies." in html
    assert "continuing their browsing constitutes agreement to the placing of cookies" in html
    assert "2020-091" in html and "2020-092" in html  # why: the CNIL's 2020 guidelines and recommendation
    assert "Continuing to browse does not mean you accept" in html  # suggested wording
    french = client.get("/", params=page_params(DEMO_SHOP, locale="fr-FR")).text
    assert "Poursuivre votre navigation ne vaut pas acceptation" in french
    assert '<html lang="fr">' in french


def test_overview_shows_whether_the_banner_embed_is_on(client, demo, shopify_double):
    shopify_double.set_app_embed(DEMO_SHOP, True)
    html = client.get("/", params=page_params(DEMO_SHOP)).text
    assert 'data-banner-enabled="true"' in html and "Enabled in your theme." in html and "Live theme: Dawn" in html
    assert 'data-action="banner"' not in html

    shopify_double.set_app_embed(DEMO_SHOP, False)
    html = client.get("/", params=page_params(DEMO_SHOP)).text
    assert 'data-banner-enabled="false"' in html and 'data-action="banner"' in html
    deep_link = (f"https://{DEMO_SHOP}/admin/themes/current/editor?context=apps&amp;activateAppId=test-api-key/"
                 "consent-banner")
    assert f'href="{deep_link}" target="_top"' in html

    shopify_double.fail_next("500", times=10)  # Shopify down: the overview still renders, and says so
    html = client.get("/", params=page_params(DEMO_SHOP)).text
    assert 'data-banner-enabled="unknown"' in html and "We could not check whether the consent banner" in html
    assert deep_link in html


def test_overview_chart_counts_decisions_per_day(client, demo, db_session):
    now = utcnow()
    yesterday = now - dt.timedelta(days=1)
    add_consents(db_session, [
        consent_row(demo, action="accept_all", recorded_at=now),
        consent_row(demo, action="accept_all", recorded_at=now),
        consent_row(demo, action="reject_all", recorded_at=yesterday), consent_row(demo, action="close", recorded_at=now),
        consent_row(demo, action="custom", recorded_at=yesterday),
        consent_row(demo, action="accept_all", recorded_at=now - dt.timedelta(days=40)),  # outside the 30 days
    ])
    html = client.get("/", params=page_params(DEMO_SHOP)).text
    assert "<svg" in html and 'role="img"' in html
    # "close" (banner closed without a choice) refuses everything: it counts as reject all.
    assert "Decisions per day: 2 accept all, 2 reject all, 1 custom choices in total." in html
    assert f"{now:%Y-%m-%d}: 2 accept all, 1 reject all, 0 custom" in html
    assert f"{yesterday:%Y-%m-%d}: 0 accept all, 1 reject all, 1 custom" in html
    assert "cdn" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]


def test_request_list_filters_sorts_and_marks_overdue(client, demo, db_session):
    late = add_request(db_session, demo, status="received", due_in_days=-1)
    soon = add_request(db_session, demo, status="failed", due_in_days=2, kind="customer_redact")
    later = add_request(db_session, demo, status="completed", due_in_days=25)

    def ids(**params):
        html = client.get("/requests", params=page_params(DEMO_SHOP, **params)).text
        return [int(i) for i in re.findall(r'data-request-id="(\d+)"', html)], html

    rows, html = ids()
    assert rows == [late, soon, later]  # soonest due first
    assert re.search(rf'data-request-id="{late}"[^>]*class="row-overdue" data-overdue="true"', html)
    assert html.count('data-overdue="true"') == 1
    assert ids(status="failed")[0] == [soon]
    assert ids(kind="customer_redact")[0] == [soon]
    assert ids(status="overdue")[0] == [late]
    assert ids(status="open")[0] == [late, soon]
    assert ids(status="bogus")[0] == [late, soon, later]  # unknown filters are ignored, not an error page


def test_request_list_pages(client, demo, db_session):
    for _ in range(55):
        add_request(db_session, demo)
    first = client.get("/requests", params=page_params(DEMO_SHOP)).text
    assert first.count("data-request-id=") == 50 and "Next page" in first and "Previous page" not in first
    second = client.get("/requests", params=page_params(DEMO_SHOP, offset="50")).text
    assert second.count("data-request-id=") == 5 and "Previous page" in second and "Next page" not in second


def test_request_detail_shows_the_timeline_and_escapes_notes(client, demo, db_session):
    request_id = add_request(db_session, demo, status="closed", outcome="other",
                             note='<script>alert("x")</script> & "quoted"', closed_at=utcnow())
    html = client.get(f"/requests/{request_id}", params=page_params(DEMO_SHOP)).text
    assert "Received from Shopify" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quoted&#34;" in html
    assert "Other (explain in the note)" in html
    assert 'id="close-form"' not in html and 'id="retry"' not in html  # closed: no more actions


def test_consent_log_searches_and_validates(client, demo, db_session):
    now = utcnow()
    add_consents(db_session, [
        consent_row(demo, visitor_id="visitor-aaaa", action="accept_all", recorded_at=now - dt.timedelta(days=3)),
        consent_row(demo, visitor_id="visitor-bbbb", action="custom", customer_id=7001, recorded_at=now),
        consent_row(demo, visitor_id="visitor-cccc", action="reject_all", revision=5,
                    user_agent='<img src=x onerror="alert(1)">', recorded_at=now - dt.timedelta(days=1)),
    ])

    def rows(**params):
        return re.findall(r"<code>(visitor-\w+)</code>", client.get("/consent-log",
                                                                    params=page_params(DEMO_SHOP, **params)).text)

    assert rows() == ["visitor-bbbb", "visitor-cccc", "visitor-aaaa"]  # newest first
    assert rows(visitor_id="visitor-cccc") == ["visitor-cccc"]
    assert rows(customer_id="7001") == ["visitor-bbbb"]
    day = (now - dt.timedelta(days=3)).date().isoformat()
    assert rows(since=day, until=day) == ["visitor-aaaa"]
    html = client.get("/consent-log", params=page_params(DEMO_SHOP)).text
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html and "<img src=x" not in html
    assert "Analytics: Yes" in html and "Marketing: No" in html  # exact choices, in words

    bad = client.get("/consent-log", params=page_params(DEMO_SHOP, customer_id="abc", since="28/11/2026")).text
    assert "A customer id is a whole number" in bad and "Enter a date like 2026-11-28." in bad
    assert bad.count('aria-invalid="true"') == 2
    french = client.get("/consent-log", params=page_params(DEMO_SHOP, locale="fr", visitor_id="x")).text
    assert "Un identifiant visiteur compte de 8 à 64" in french


def test_audit_log_lists_entries_newest_first(client, demo, db_session):
    add_request(db_session, demo, due_in_days=30)  # received now, after the install
    html = client.get("/audit-log", params=page_params(DEMO_SHOP)).text
    actions = re.findall(r'<tr data-action="([\w.]+)"', html)
    assert actions[0] == "webhook.received" and "shop.installed" in actions
    assert "App installed" in html and "Shopify" in html


def test_another_shops_token_sees_none_of_this_shops_data(client, demo, db_session):
    request_id = add_request(db_session, demo, email="only-demo@example.fr")
    add_consents(db_session, [consent_row(demo, visitor_id="visitor-demo-only")])
    for path in PAGES:
        html = client.get(path, params=page_params(OTHER_SHOP)).text
        assert "only-demo@example.fr" not in html and "visitor-demo-only" not in html and DEMO_SHOP not in html
    assert client.get(f"/requests/{request_id}", params=page_params(OTHER_SHOP)).status_code == 404
    # ?shop= in the query changes nothing: the shop comes from the verified token.
    spoofed = client.get("/requests", params={**page_params(OTHER_SHOP), "shop": DEMO_SHOP}).text
    assert "only-demo@example.fr" not in spoofed
    assert "only-demo@example.fr" in client.get("/requests", params=page_params(DEMO_SHOP)).text


def test_pages_follow_the_admin_locale(client, demo):
    for path, english, french in (("/", "Needs your action", "À faire"), ("/requests", "Privacy requests", "Demandes"),
                                  ("/consent-log", "Consent log", "Registre des consentements"),
                                  ("/settings", "Privacy contact email", "E-mail de contact pour la confidentialité"),
                                  ("/audit-log", "Audit log", "Journal d'audit")):
        assert english in client.get(path, params=page_params(DEMO_SHOP, locale="en-US")).text
        html = client.get(path, params=page_params(DEMO_SHOP, locale="fr-FR")).text
        assert french.replace("'", "&#39;") in html and '<html lang="fr">' in html
        assert "locale=fr-FR" in html  # links keep the locale
