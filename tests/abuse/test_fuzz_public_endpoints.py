"""Random bodies, headers, encodings and sizes at the public endpoints: always 4xx, never 5xx, never a row."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from shopify_app.models import OAuthState, PrivacyRequest, Shop, WebhookDelivery
from tests.conftest import DEMO_SHOP
from tests.signing import sign_webhook

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
TOPICS = st.sampled_from(["customers/data_request", "customers/redact", "shop/redact", "app/uninstalled",
                          "orders/create", "customers%2Fredact", "../admin", "x" * 300])
TEXT = st.text(max_size=80)
# Any byte HTTP allows in a header value (visible ASCII and obs-text), as raw latin-1 bytes.
HEADER_VALUE = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=255), max_size=80).map(
    lambda text: text.encode("latin-1"))
JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                       max_leaves=12)


def rows(db_session) -> int:
    db_session.rollback()
    return sum(db_session.scalar(select(func.count()).select_from(model))
               for model in (Shop, WebhookDelivery, PrivacyRequest, OAuthState))


@FUZZ
@given(topic=TOPICS, body=st.binary(max_size=2048), signed=st.booleans(), shop=HEADER_VALUE,
       webhook_id=HEADER_VALUE, topic_header=HEADER_VALUE)
def test_webhooks_never_fail_on_garbage(client, db_session, topic, body, signed, shop, webhook_id, topic_header):
    headers = {"X-Shopify-Topic": topic_header, "X-Shopify-Shop-Domain": shop, "X-Shopify-Webhook-Id": webhook_id}
    if signed:
        headers["X-Shopify-Hmac-Sha256"] = sign_webhook(body)
    response = client.post(f"/webhooks/{topic}", content=body, headers=headers)
    assert 400 <= response.status_code < 500
    assert rows(db_session) == 0


@FUZZ
@given(topic=st.sampled_from(["customers/data_request", "customers/redact", "shop/redact"]), payload=JSONISH)
def test_signed_json_of_the_wrong_shape_is_400(client, db_session, topic, payload):
    body = json.dumps(payload).encode()
    headers = {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": DEMO_SHOP, "X-Shopify-Webhook-Id": "fuzz",
               "X-Shopify-Hmac-Sha256": sign_webhook(body)}
    response = client.post(f"/webhooks/{topic}", content=body, headers=headers)
    assert response.status_code == 400
    assert rows(db_session) == 0


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["shop", "code", "state", "timestamp", "hmac", "host", "x"]), TEXT,
                              max_size=6))
def test_oauth_callback_never_fails_on_garbage(client, db_session, params):
    response = client.get("/auth/callback", params=params)
    assert 400 <= response.status_code < 500
    assert rows(db_session) == 0


@FUZZ
@given(shop=TEXT)
def test_install_accepts_only_shop_domains(client, db_session, shop):
    response = client.get("/auth/install", params={"shop": shop})
    assert response.status_code in (302, 400)
    if response.status_code == 400:
        assert rows(db_session) == 0


@FUZZ
@given(token=HEADER_VALUE, path=st.sampled_from(["/api/shop", "/api/privacy-requests", "/api/privacy-requests/1",
                                          "/api/privacy-requests/1/report"]))
def test_api_never_fails_on_garbage_tokens(client, db_session, token, path):
    response = client.get(path, headers={"Authorization": b"Bearer " + token if token else b"Bearer"})
    assert response.status_code == 401
    assert rows(db_session) == 0


@FUZZ
@given(params=st.dictionaries(st.sampled_from(["shop", "host", "embedded", "id_token", "locale"]), TEXT, max_size=5))
def test_admin_page_never_fails_on_garbage(client, db_session, params):
    response = client.get("/", params=params)
    assert response.status_code in (302, 400)
    assert rows(db_session) == 0
