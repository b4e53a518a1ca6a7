"""Intake under faults: a delivery that could not be committed gets a 5xx, so Shopify retries it."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import create_engine, func, select
from werkzeug.serving import make_server

from shopify_app import create_app, db
from shopify_app.models import PrivacyRequest, Shop, WebhookDelivery
from tests.conftest import DEMO_SHOP, load_sample
from tests.faults.postgres import kill_this_process_connections
from tests.signing import webhook_headers


def serve(app):  # type: ignore[no-untyped-def]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_database_down_answers_503_and_a_redelivery_is_accepted_later(settings, redis_conn, post_webhook,
                                                                     db_session):
    import dataclasses

    unreachable = dataclasses.replace(settings, database_url="postgresql+psycopg://postgres@127.0.0.1:1/none")
    server = serve(create_app(unreachable))
    body = load_sample("customers_redact")
    headers = webhook_headers("customers/redact", body, shop=DEMO_SHOP, webhook_id="retry-me")
    try:
        response = httpx.post(f"http://127.0.0.1:{server.server_port}/webhooks/customers/redact", content=body,
                              headers=headers, timeout=30)
    finally:
        server.shutdown()
    assert response.status_code == 503 and response.headers["Retry-After"]
    # Shopify delivers the same webhook again once we are back: it is accepted then.
    assert post_webhook("customers/redact", body, webhook_id="retry-me").status_code == 200
    assert db_session.scalar(select(func.count()).select_from(PrivacyRequest)) == 1


def test_a_locked_sqlite_database_answers_503_and_stores_nothing(settings, client, db_session):
    if not settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite only: PostgreSQL does not lock the whole database")
    locker = create_engine(settings.database_url, connect_args={"isolation_level": None})
    body = load_sample("customers_redact")
    with locker.connect() as connection:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")
        try:
            response = client.post("/webhooks/customers/redact", content=body,
                                   headers=webhook_headers("customers/redact", body, shop=DEMO_SHOP))
        finally:
            connection.exec_driver_sql("ROLLBACK")
    locker.dispose()
    assert response.status_code == 503
    assert db_session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0


def test_postgresql_connections_killed_mid_traffic_are_replaced(settings, post_webhook, db_session):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    assert post_webhook("customers/redact", load_sample("customers_redact"), webhook_id="before").status_code == 200
    assert kill_this_process_connections(settings.database_url) >= 1
    db_session.close()
    # The first delivery may find a dead connection: 503, nothing stored, and Shopify delivers it again.
    first = post_webhook("shop/redact", load_sample("shop_redact"), webhook_id="after").status_code
    assert first in (200, 503)
    if first == 503:
        assert post_webhook("shop/redact", load_sample("shop_redact"), webhook_id="after").status_code == 200
    assert db_session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2


@pytest.mark.parametrize(("topic", "sample"), [
    ("customers/redact", "customers_redact"),  # the one-statement batch
    ("shop/redact", "shop_redact"),  # the general path (so are app/uninstalled and unknown shops)
])
def test_a_shop_row_held_longer_than_shopify_waits_answers_503_in_time_and_stores_nothing(
        settings, client, db_session, post_webhook, topic, sample):
    """A long transaction holds the shop's row (as ``shop/redact``'s erasure does): the batch gives up after its
    lock timeout, well inside Shopify's 5 s, and Shopify delivers again later. Meanwhile the other deliveries
    of the process wait behind that batch, so it must not wait for the row for as long as it is held."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: row locks and their timeout")
    shop = Shop(domain=DEMO_SHOP)
    db_session.add(shop)
    db_session.commit()
    body = load_sample(sample)
    headers = webhook_headers(topic, body, shop=DEMO_SHOP, webhook_id="held")
    holder = create_engine(settings.database_url)
    try:
        with holder.begin() as connection:
            connection.execute(select(Shop.id).where(Shop.id == shop.id).with_for_update())
            began = time.monotonic()
            response = client.post(f"/webhooks/{topic}", content=body, headers=headers)
            waited = time.monotonic() - began
    finally:
        holder.dispose()
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert db.WRITE_LOCK_TIMEOUT_MS / 1000 <= waited < 5
    assert db_session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
    assert post_webhook(topic, body, webhook_id="held").status_code == 200  # once the row is free
    assert db_session.scalar(select(func.count()).select_from(PrivacyRequest)) == 1


def test_a_hung_redis_delays_no_answer_past_shopifys_five_seconds(settings, redis_conn, db_session):
    """Redis accepts connections and never answers: deliveries are stored and answered 200 well inside
    Shopify's 5 s (the batch's jobs are left for the sweeper)."""
    import dataclasses
    import socket

    hung = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept_and_say_nothing() -> None:
        while True:
            try:
                accepted.append(hung.accept()[0])
            except OSError:  # closed: the test is over
                return

    threading.Thread(target=accept_and_say_nothing, daemon=True).start()
    app = create_app(dataclasses.replace(settings, redis_url=f"redis://127.0.0.1:{hung.getsockname()[1]}/0"))
    server = serve(app)
    body = load_sample("customers_redact")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.server_port}", timeout=30) as http:
            for webhook_id in ("hung-1", "hung-2"):
                began = time.monotonic()
                response = http.post("/webhooks/customers/redact", content=body,
                                     headers=webhook_headers("customers/redact", body, shop=DEMO_SHOP,
                                                             webhook_id=webhook_id))
                assert response.status_code == 200
                assert time.monotonic() - began < 4.5  # Shopify's deadline (5 s), less a margin
    finally:
        server.shutdown()
        hung.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept(), which close() alone does not
        hung.close()
        for connection in accepted:
            connection.close()
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2
    assert accepted  # Redis was asked (and said nothing)
