"""Webhook intake over real HTTP: verify, store durably, answer, queue after commit."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shopify_app import create_app, queue
from shopify_app.models import PrivacyRequest, Shop, WebhookDelivery, utcnow
from shopify_app.web import webhooks
from shopify_app.web.in_front import InFront
from tests.conftest import DEMO_SHOP, load_sample, serving
from tests.signing import API_SECRET, PREVIOUS_SECRET, json_body, webhook_headers

TOPICS = ["customers/data_request", "customers/redact", "shop/redact"]
SAMPLES = {"customers/data_request": "customers_data_request", "customers/redact": "customers_redact",
           "shop/redact": "shop_redact", "app/uninstalled": "app_uninstalled"}
KINDS = {"customers/data_request": "data_request", "customers/redact": "customer_redact", "shop/redact": "shop_redact"}
RETIRED_SECRET = "test-retired-secret-0123456789abcdef012345"  # the one PREVIOUS_SECRET replaced


def count(db_session, model) -> int:
    return db_session.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize("topic", TOPICS)
def test_delivery_is_stored_with_its_deadline_and_queued(topic, post_webhook, db_session, redis_conn):
    response = post_webhook(topic, load_sample(SAMPLES[topic]), webhook_id=f"wh-{topic}")
    assert response.status_code == 200
    privacy_request = db_session.scalars(select(PrivacyRequest)).one()
    assert privacy_request.status == "received"
    assert privacy_request.due_at - privacy_request.received_at == dt.timedelta(days=30)
    delivery = db_session.scalars(select(WebhookDelivery)).one()
    assert (delivery.webhook_id, delivery.topic, delivery.api_version) == (f"wh-{topic}", topic, "2026-10")
    assert delivery.privacy_request_id == privacy_request.id
    job = queue.get_queue(redis_conn).fetch_job(queue.privacy_job_id(privacy_request.id))
    assert job is not None and job.args == [privacy_request.id]  # an id, never personal data
    assert job.timeout and job.retries_left and job.failure_ttl


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("tamper", ["missing", "wrong-secret", "body-changed"])
def test_bad_hmac_gets_401_and_stores_nothing(topic, tamper, client, db_session, redis_conn):
    body = load_sample(SAMPLES[topic])
    secret = "another-secret" if tamper == "wrong-secret" else API_SECRET
    headers = webhook_headers(topic, body, shop=DEMO_SHOP, secret=secret)
    if tamper == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    sent = body.replace(b"954889", b"954880") if tamper == "body-changed" else body
    response = client.post(f"/webhooks/{topic}", content=sent, headers=headers)
    assert response.status_code == 401
    assert count(db_session, WebhookDelivery) == 0 and count(db_session, PrivacyRequest) == 0
    assert count(db_session, Shop) == 0
    assert redis_conn.keys("rq:job:*") == []


@pytest.mark.parametrize("topic", TOPICS)
def test_a_delivery_signed_with_the_previous_secret_is_accepted_while_rotating(topic, post_webhook, db_session,
                                                                                redis_conn):
    response = post_webhook(topic, load_sample(SAMPLES[topic]), webhook_id=f"rotated-{topic}", secret=PREVIOUS_SECRET)
    assert response.status_code == 200
    delivery = db_session.scalars(select(WebhookDelivery)).one()
    privacy_request = db_session.scalars(select(PrivacyRequest)).one()
    assert (delivery.webhook_id, delivery.topic) == (f"rotated-{topic}", topic)
    assert (delivery.privacy_request_id, privacy_request.kind) == (privacy_request.id, KINDS[topic])
    assert queue.get_queue(redis_conn).fetch_job(queue.privacy_job_id(privacy_request.id)) is not None


@pytest.mark.parametrize("topic", TOPICS)
def test_a_delivery_signed_with_a_retired_secret_gets_401_and_stores_nothing(topic, post_webhook, db_session,
                                                                              redis_conn):
    """The secret before the previous one (neither current nor previous) no longer signs anything."""
    response = post_webhook(topic, load_sample(SAMPLES[topic]), secret=RETIRED_SECRET)
    assert response.status_code == 401
    assert count(db_session, WebhookDelivery) == 0 and count(db_session, PrivacyRequest) == 0
    assert count(db_session, Shop) == 0
    assert redis_conn.keys("rq:job:*") == []


@contextlib.contextmanager
def served(application) -> Iterator[httpx.Client]:  # type: ignore[no-untyped-def]
    """An app of the test's own settings, over real HTTP, as the live_server fixture serves the default one."""
    with serving(application) as url, httpx.Client(base_url=url, timeout=10) as http:
        yield http


@pytest.mark.parametrize("no_previous", [None, ""])
@pytest.mark.parametrize("topic", TOPICS)
def test_without_a_previous_secret_configured_the_previous_one_is_refused(topic, no_previous, settings, redis_conn,
                                                                          db_session):
    settings = dataclasses.replace(settings, api_secret_previous=no_previous)
    assert settings.api_secrets == (API_SECRET,)
    body = load_sample(SAMPLES[topic])
    with served(create_app(settings)) as http:
        refused = http.post(f"/webhooks/{topic}", content=body,
                            headers=webhook_headers(topic, body, shop=DEMO_SHOP, secret=PREVIOUS_SECRET))
        assert refused.status_code == 401
        assert count(db_session, WebhookDelivery) == 0 and count(db_session, PrivacyRequest) == 0
        assert count(db_session, Shop) == 0
        # The same app accepts the current secret: the 401 was the previous secret's, not a broken app's.
        accepted = http.post(f"/webhooks/{topic}", content=body, headers=webhook_headers(topic, body, shop=DEMO_SHOP))
        assert accepted.status_code == 200
    db_session.rollback()  # a new transaction, which sees what the app committed since the first read
    assert count(db_session, WebhookDelivery) == 1 and count(db_session, PrivacyRequest) == 1


def test_a_data_request_delivery_stores_the_header_values_and_its_deadline(install_shop, client, db_session):
    install_shop()
    shop_id = db_session.scalars(select(Shop.id)).one()
    db_session.rollback()  # so that the reads below see what the delivery commits
    body = load_sample("customers_data_request")
    headers = {**webhook_headers("customers/data_request", body, shop=DEMO_SHOP, webhook_id="wh-header-values",
                                 event_id="ev-header-values",
                                 # As Shopify sends it: nanoseconds; here with an offset, to prove it is converted.
                                 triggered_at="2026-11-27T11:30:15.123456789+01:00"),
               "X-Shopify-API-Version": "2026-07"}  # not the app's own version: read from the header
    before = utcnow()
    assert client.post("/webhooks/customers/data_request", content=body, headers=headers).status_code == 200
    after = utcnow()

    delivery = db_session.scalars(select(WebhookDelivery)).one()
    assert (delivery.webhook_id, delivery.event_id, delivery.topic, delivery.shop_id, delivery.api_version) == (
        "wh-header-values", "ev-header-values", "customers/data_request", shop_id, "2026-07")
    assert delivery.triggered_at == dt.datetime(2026, 11, 27, 10, 30, 15, 123456, tzinfo=dt.UTC)
    privacy_request = db_session.scalars(select(PrivacyRequest)).one()
    assert (privacy_request.shop_id, privacy_request.kind, privacy_request.shopify_request_id) == (
        shop_id, "data_request", "9999")
    assert delivery.privacy_request_id == privacy_request.id
    assert before <= privacy_request.received_at <= after
    assert before <= delivery.received_at <= after
    assert privacy_request.due_at == privacy_request.received_at + dt.timedelta(days=30)


@pytest.mark.parametrize("topic,body", [
    ("customers/data_request", b"not json"),
    ("customers/data_request", b"[1, 2]"),
    ("customers/data_request", json_body({"shop_id": 1, "shop_domain": DEMO_SHOP, "customer": {"id": 1}})),
    ("customers/redact", json_body({"shop_id": 1, "shop_domain": DEMO_SHOP})),
    ("customers/redact", json_body({"shop_id": 1, "shop_domain": DEMO_SHOP, "customer": {"id": "1"}})),
    ("customers/redact", json_body({"shop_id": 1, "shop_domain": DEMO_SHOP, "customer": {"id": 1},
                                    "orders_to_redact": ["x"]})),
    ("shop/redact", json_body({"shop_domain": DEMO_SHOP})),
    ("shop/redact", json_body({"shop_id": 1, "shop_domain": "other-shop.myshopify.com"})),
    ("shop/redact", "\udcff".encode("utf-8", "surrogatepass")),
])
def test_malformed_body_gets_400_and_stores_nothing(topic, body, post_webhook, db_session):
    assert post_webhook(topic, body).status_code == 400
    assert count(db_session, WebhookDelivery) == 0 and count(db_session, PrivacyRequest) == 0


def sample_with(name: str, **changes: Any) -> bytes:
    """A sample body with some top-level fields replaced."""
    return json_body({**json.loads(load_sample(name)), **changes})


@pytest.mark.parametrize("topic,body", [
    ("customers/data_request", sample_with("customers_data_request", customer={"id": 2**63})),
    ("customers/redact", sample_with("customers_redact", customer={"id": 0})),
    ("customers/data_request", sample_with("customers_data_request", data_request={"id": "r" * 65})),
    ("customers/data_request", sample_with("customers_data_request", data_request={"id": " "})),
    ("customers/data_request", sample_with("customers_data_request", orders_requested=[1, 2**63])),
    ("customers/redact", sample_with("customers_redact", orders_to_redact=[2**63])),
    ("customers/redact", sample_with("customers_redact", orders_to_redact=[-1])),
    ("shop/redact", sample_with("shop_redact", shop_id=2**63)),
    ("customers/redact", sample_with("customers_redact", customer={"id": 1, "email": "a" * 321})),
    ("customers/redact", sample_with("customers_redact", customer={"id": 1, "phone": "1" * 65})),
    # PostgreSQL refuses NUL in text, and no database stores a lone surrogate: both would be a 503, not a 400.
    ("customers/redact", sample_with("customers_redact", customer={"id": 1, "email": "a\x00@example.com"})),
    ("customers/data_request", sample_with("customers_data_request", data_request={"id": "\udcff"})),
])
def test_values_the_database_cannot_store_get_400_and_store_nothing(topic, body, post_webhook, db_session):
    assert post_webhook(topic, body).status_code == 400
    assert count(db_session, WebhookDelivery) == 0 and count(db_session, PrivacyRequest) == 0


@pytest.mark.parametrize("header,value", [
    ("X-Shopify-Webhook-Id", "w" * 129),
    ("X-Shopify-Event-Id", "e" * 129),
    ("X-Shopify-API-Version", "2026-10" + "x" * 10),
    ("X-Shopify-Triggered-At", "2026-11-27T10:00:00." + "0" * 100 + "Z"),
])
def test_over_long_headers_get_400_and_store_nothing(header, value, client, db_session):
    body = load_sample("customers_redact")
    headers = {**webhook_headers("customers/redact", body, shop=DEMO_SHOP), header: value}
    assert client.post("/webhooks/customers/redact", content=body, headers=headers).status_code == 400
    assert count(db_session, WebhookDelivery) == 0 and count(db_session, PrivacyRequest) == 0


def test_values_at_the_limits_are_stored(client, db_session):
    body = sample_with("customers_data_request", shop_id=2**63 - 1, data_request={"id": "r" * 64},
                       orders_requested=[1, 2**63 - 1],
                       customer={"id": 2**63 - 1, "email": "a" * 320, "phone": "1" * 64})
    headers = {**webhook_headers("customers/data_request", body, shop=DEMO_SHOP, webhook_id="w" * 128,
                                 event_id="e" * 128, triggered_at="9999-12-31T23:59:59-01:00"),
               "X-Shopify-API-Version": "v" * 16}
    assert client.post("/webhooks/customers/data_request", content=body, headers=headers).status_code == 200
    request = db_session.scalars(select(PrivacyRequest)).one()
    assert (request.customer_id, request.shopify_request_id) == (2**63 - 1, "r" * 64)
    assert request.orders_requested == [1, 2**63 - 1]
    delivery = db_session.scalars(select(WebhookDelivery)).one()
    assert (delivery.webhook_id, delivery.event_id, delivery.api_version) == ("w" * 128, "e" * 128, "v" * 16)
    assert delivery.triggered_at is None  # in UTC it is past year 9999: unknown, like any unreadable timestamp


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", json_body({"shop_id": "x", "customer": []}), b"\xff"])
@pytest.mark.parametrize("tamper", ["missing", "wrong-secret"])
def test_hmac_is_verified_before_anything_is_parsed(body, tamper, client, db_session):
    """A malformed body or header that is not signed is a 401, never a 400 that would tell the sender what we
    parse."""
    headers = {**webhook_headers("customers/redact", body, shop=DEMO_SHOP, secret="another-secret"),
               "X-Shopify-Event-Id": "e" * 129}
    if tamper == "missing":
        del headers["X-Shopify-Hmac-Sha256"]
    assert client.post("/webhooks/customers/redact", content=body, headers=headers).status_code == 401
    assert count(db_session, WebhookDelivery) == 0 and count(db_session, PrivacyRequest) == 0
    assert count(db_session, Shop) == 0


def test_topic_header_must_match_the_path(client, db_session):
    body = load_sample("customers_redact")
    headers = webhook_headers("shop/redact", body, shop=DEMO_SHOP)
    assert client.post("/webhooks/customers/redact", content=body, headers=headers).status_code == 400
    assert client.post("/webhooks/orders/create", content=body,
                       headers=webhook_headers("orders/create", body, shop=DEMO_SHOP)).status_code == 400
    assert count(db_session, WebhookDelivery) == 0


def test_duplicate_deliveries_create_one_request_and_one_job(post_webhook, db_session, redis_conn):
    body = load_sample("customers_data_request")
    for _ in range(3):
        assert post_webhook("customers/data_request", body, webhook_id="same-id").status_code == 200
    assert count(db_session, WebhookDelivery) == 1 and count(db_session, PrivacyRequest) == 1
    assert len(queue.get_queue(redis_conn).job_ids) == 1


def test_same_data_request_under_a_new_webhook_id_is_the_same_request(post_webhook, db_session):
    body = load_sample("customers_data_request")
    post_webhook("customers/data_request", body, webhook_id="first")
    post_webhook("customers/data_request", body, webhook_id="second")
    assert count(db_session, WebhookDelivery) == 2 and count(db_session, PrivacyRequest) == 1


def test_concurrent_duplicates_create_one_request(post_webhook, db_session, redis_conn):
    body = load_sample("customers_redact")
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: post_webhook("customers/redact", body, webhook_id="burst").status_code,
                                 range(10)))
    assert statuses == [200] * 10
    assert count(db_session, WebhookDelivery) == 1 and count(db_session, PrivacyRequest) == 1
    assert len(queue.get_queue(redis_conn).job_ids) == 1


def test_oversized_body_is_refused(post_webhook, db_session):
    body = json.dumps({"shop_id": 1, "shop_domain": DEMO_SHOP, "padding": "x" * 300_000}).encode()
    assert post_webhook("shop/redact", body).status_code == 413
    assert count(db_session, WebhookDelivery) == 0


def test_app_uninstalled_forgets_tokens_and_is_idempotent(install_shop, post_webhook, db_session):
    install_shop()
    body = load_sample("app_uninstalled")
    for webhook_id in ("u1", "u1", "u2"):
        assert post_webhook("app/uninstalled", body, webhook_id=webhook_id).status_code == 200
    shop = db_session.scalars(select(Shop)).one()
    assert shop.uninstalled_at is not None
    assert shop.access_token_encrypted is None and shop.refresh_token_encrypted is None
    assert count(db_session, PrivacyRequest) == 0


def test_deliveries_are_answered_in_front_of_flask_and_flask_gives_the_same_answers(app, client, install_shop):
    """Every POST under /webhooks/ is answered before Flask (web/in_front.py); Flask's own route answers the same."""
    install_shop()
    in_front = app.wsgi_app
    assert isinstance(in_front, InFront)
    assert in_front.endpoint_for({"REQUEST_METHOD": "POST", "PATH_INFO": "/webhooks/customers/redact"}) \
        is webhooks.answer_webhook
    flask_client = app.test_client()
    body = load_sample("customers_redact")
    cases = [  # (topic, body, headers, status)
        ("customers/redact", body, webhook_headers("customers/redact", body, shop=DEMO_SHOP, webhook_id="a"), 200),
        ("customers/redact", body, webhook_headers("customers/redact", body, shop=DEMO_SHOP, webhook_id="a"), 200),
        ("customers/redact", body, webhook_headers("customers/redact", body, shop=DEMO_SHOP, secret="wrong"), 401),
        ("customers/redact", b"{}", webhook_headers("customers/redact", b"{}", shop=DEMO_SHOP), 400),
        ("shop/redact", body, webhook_headers("customers/redact", body, shop=DEMO_SHOP), 400),
        ("customers/redact", b"x" * 300_000, {"Content-Type": "application/json"}, 413),
    ]
    for topic, content, headers, status in cases:
        through_endpoint = client.post(f"/webhooks/{topic}", content=content, headers=headers)
        app.wsgi_app = in_front.wsgi_app
        try:
            through_flask = flask_client.post(f"/webhooks/{topic}", data=content, headers=headers)
        finally:
            app.wsgi_app = in_front
        assert through_endpoint.status_code == through_flask.status_code == status, topic
        assert through_endpoint.text == through_flask.get_data(as_text=True)
        for header in ("Content-Type", "Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
            assert through_endpoint.headers[header] == through_flask.headers[header]
    assert client.get("/webhooks/customers/redact").status_code == 405  # other methods: Flask, as before
    assert client.post("/webhooks/").status_code == 404
