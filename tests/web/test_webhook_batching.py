"""Group commit of webhook deliveries over real HTTP: concurrent deliveries share one transaction.

The app is served by the tests' threaded server, one thread per request, like gunicorn's gthread workers.
To make a batch of many deliveries certain (rather than likely), the first batch is held in the database
layer until every other delivery waits in the intake's queue; the next batch then takes them all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
import pytest
from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import OperationalError

from shopify_app import db, queue
from shopify_app.models import AuditEntry, PrivacyRequest, RequestKind, Shop, WebhookDelivery
from shopify_app.web.webhooks import webhook_intake
from tests.conftest import DEMO_SHOP
from tests.engines import listening
from tests.signing import webhook_headers
from tests.waiting import wait_for

DELIVERY_INSERT = "INSERT INTO webhook_deliveries"
Delivery = tuple[str, bytes, str]  # topic, body, webhook id
T = TypeVar("T")


# Batches are counted by statement: start from pools with no dead connection (see the fixture).
pytestmark = pytest.mark.usefixtures("fresh_connections")

def redact(customer_id: int, webhook_id: str) -> Delivery:
    body = {"shop_id": 954889, "shop_domain": DEMO_SHOP, "orders_to_redact": [],
            "customer": {"id": customer_id, "email": f"c{customer_id}@example.fr", "phone": None}}
    return "customers/redact", json.dumps(body).encode(), webhook_id


def data_request(data_request_id: int, webhook_id: str) -> Delivery:
    body = {"shop_id": 954889, "shop_domain": DEMO_SHOP, "orders_requested": [],
            "customer": {"id": 77, "email": "c77@example.fr", "phone": None}, "data_request": {"id": data_request_id}}
    return "customers/data_request", json.dumps(body).encode(), webhook_id


def hold_first_batch(app, total: int, batches: list[int],  # type: ignore[no-untyped-def]
                     then: Callable[[str, object], None] | None = None) -> Callable[..., None]:
    """A ``before_cursor_execute`` listener: counts the batches (one statement inserting deliveries each: on
    PostgreSQL the whole batch, elsewhere its INSERT of deliveries); the first waits until all the other
    deliveries are queued behind it. ``then`` sees every statement afterwards."""
    intake = webhook_intake(app)

    def listener(_conn, _cursor, statement, parameters, _context, _executemany) -> None:  # type: ignore[no-untyped-def]
        if DELIVERY_INSERT in statement:
            batches.append(len(batches) + 1)
            if len(batches) == 1:
                wait_for(lambda: intake.waiting() == total - 1, timeout=30, interval=0.01)
        if then is not None:
            then(statement, parameters)

    return listener


def post_all(live_server: str, deliveries: list[Delivery]) -> list[httpx.Response]:
    def post(delivery: Delivery) -> httpx.Response:
        topic, body, webhook_id = delivery
        with httpx.Client(base_url=live_server, timeout=60) as http:
            return http.post(f"/webhooks/{topic}", content=body,
                             headers=webhook_headers(topic, body, shop=DEMO_SHOP, webhook_id=webhook_id))

    with ThreadPoolExecutor(max_workers=len(deliveries)) as pool:
        return list(pool.map(post, deliveries))


def count(db_session, model, *where) -> int:  # type: ignore[no-untyped-def]
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def mixed_deliveries() -> list[Delivery]:
    """8 erasures of distinct customers, one delivery sent twice (same webhook id), and one data request
    delivered under two webhook ids: 12 deliveries of 11 webhook ids, for 10 requests."""
    return [*(redact(100 + i, f"redact-{i}") for i in range(8)), redact(500, "twice"), redact(500, "twice"),
            data_request(4242, "request-a"), data_request(4242, "request-b")]


def post_after_a_held_first(app, live_server: str, database_url: str, first: Delivery,  # type: ignore[no-untyped-def]
                            others: list[Delivery], then: Callable[[str, object], None] | None = None,
                            ) -> tuple[list[int], list[httpx.Response]]:
    """Post ``first``, hold its batch until all ``others`` wait behind it, so that they form one batch."""
    batches: list[int] = []
    hold = hold_first_batch(app, 1 + len(others), batches, then)
    with listening(database_url, "before_cursor_execute", hold), ThreadPoolExecutor(max_workers=1) as lone:
        held = lone.submit(post_all, live_server, [first])
        wait_for(lambda: len(batches) == 1, timeout=30, interval=0.01)
        responses = post_all(live_server, others)
        responses = held.result(timeout=60) + responses
    return batches, responses


@pytest.fixture
def shop(db_session) -> Shop:  # type: ignore[no-untyped-def]
    """The shop, stored before its deliveries (as at install), so that each batch is the one statement on
    PostgreSQL (an unknown shop takes the general path)."""
    shop = Shop(domain=DEMO_SHOP)
    db_session.add(shop)
    db_session.commit()
    return shop


def test_concurrent_deliveries_share_one_transaction_and_each_gets_one_request_and_one_job(
        app, live_server, db_session, database_url, redis_conn, shop):
    deliveries = mixed_deliveries()
    batches, responses = post_after_a_held_first(app, live_server, database_url, redact(99, "first"), deliveries)
    assert [r.status_code for r in responses] == [200] * 13
    assert len(batches) == 2  # the first delivery alone, then all the others in one INSERT
    assert count(db_session, WebhookDelivery) == 12
    assert count(db_session, PrivacyRequest, PrivacyRequest.kind == RequestKind.CUSTOMER_REDACT) == 10
    assert count(db_session, PrivacyRequest, PrivacyRequest.kind == RequestKind.DATA_REQUEST) == 1
    assert count(db_session, AuditEntry, AuditEntry.action == "webhook.received") == 12
    requests = db_session.scalars(select(PrivacyRequest)).all()
    assert sorted(queue.get_queue(redis_conn).job_ids) == sorted(queue.privacy_job_id(r.id) for r in requests)
    deliveries_of = {d.webhook_id: d.privacy_request_id for d in db_session.scalars(select(WebhookDelivery))}
    assert deliveries_of["request-a"] == deliveries_of["request-b"] is not None
    assert len({deliveries_of[f"redact-{i}"] for i in range(8)}) == 8


def test_a_batch_that_cannot_be_committed_answers_503_to_each_delivery_and_stores_nothing(
        app, live_server, db_session, database_url, redis_conn, shop):
    deliveries = [redact(100 + i, f"fail-{i}") for i in range(6)]

    def fail_audit(statement: str, parameters: object) -> None:
        # The last thing written before the COMMIT (on PostgreSQL, by the batch's one statement): everything
        # else of the batch has been written by then.
        if "INSERT INTO audit_entries" in statement:
            raise OperationalError(statement, parameters, Exception("injected failure"))

    batches, responses = post_after_a_held_first(app, live_server, database_url, deliveries[0], deliveries[1:],
                                                 then=fail_audit)
    assert len(batches) == 2
    assert [r.status_code for r in responses] == [503] * len(deliveries)  # so Shopify delivers each one again
    assert all(r.headers["Retry-After"] == "5" for r in responses)
    assert count(db_session, WebhookDelivery) == 0 and count(db_session, PrivacyRequest) == 0
    assert queue.get_queue(redis_conn).count == 0
    # and the intake goes on: the redeliveries are stored
    assert [r.status_code for r in post_all(live_server, deliveries)] == [200] * len(deliveries)
    assert count(db_session, WebhookDelivery) == 6 and count(db_session, PrivacyRequest) == 6


def post_behind_another_transaction(live_server: str, database_url: str, delivery: Delivery,
                                    store_first: Callable[[Connection], T]) -> tuple[list[httpx.Response], T]:
    """Post ``delivery`` while another process's transaction, in which ``store_first`` wrote, is still open;
    commit that one once ours waits on one of its locks. Our answers, and what ``store_first`` returned."""
    other = db.get_engine(database_url).connect()
    transaction = other.begin()
    result: list[httpx.Response] = []
    poster = threading.Thread(target=lambda: result.extend(post_all(live_server, [delivery])))
    try:
        stored = store_first(other)
        poster.start()
        wait_for(lambda: _waiting_on_lock(database_url), timeout=30, interval=0.05)
    finally:
        transaction.commit()
        other.close()
    poster.join(timeout=60)
    return result, stored


@pytest.mark.parametrize("shop_stored_before", [True, False], ids=["one statement", "general path"])
def test_a_webhook_id_committed_by_another_process_meanwhile_is_a_duplicate(
        app, live_server, db_session, database_url, redis_conn, shop_stored_before, request):
    """Another process's transaction holds the same webhook id, uncommitted: ours waits on the unique index.

    With the shop stored before, the batch's one statement skips the webhook id once the other transaction
    commits, and stores nothing of that delivery. With the shop created in the other transaction too, the
    general path finds it taken, rolls back, tries again and then sees a duplicate.
    """
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's writers take the database lock first, so they never overlap")
    topic, body, webhook_id = redact(900, "raced")
    shop_id = request.getfixturevalue("shop").id if shop_stored_before else None

    def store_first(other: Connection) -> None:
        created = shop_id or other.execute(text(
            "INSERT INTO shops (domain, installed_at, uninstalled_at, granted_scopes) "
            "VALUES (:d, now(), now(), '') RETURNING id"), {"d": DEMO_SHOP}).scalar_one()
        other.execute(text("INSERT INTO webhook_deliveries (webhook_id, topic, shop_id, received_at) "
                           "VALUES (:w, :t, :s, now())"), {"w": webhook_id, "t": topic, "s": created})

    result, _ = post_behind_another_transaction(live_server, database_url, (topic, body, webhook_id), store_first)
    assert [r.status_code for r in result] == [200]
    assert count(db_session, WebhookDelivery) == 1 and count(db_session, PrivacyRequest) == 0
    assert queue.get_queue(redis_conn).count == 0


def test_a_data_request_stored_by_another_process_meanwhile_is_the_same_request(
        app, live_server, db_session, database_url, redis_conn, shop):
    """Another process's transaction holds the same Shopify data request, received under another webhook id and
    uncommitted: ours waits on the unique index, then tries again and links its delivery to that request.

    The batch's one statement; the general path turns the same violation into the same retry
    (``webhook_intake._accept_once``), but with the shop stored it is not taken, and with the shop created in
    the other transaction ours would wait on the shop's row first, not on this index."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's writers take the database lock first, so they never overlap")
    delivery = data_request(4242, "second-webhook-id")

    def store_first(other: Connection) -> int:
        request_id = other.execute(text(
            "INSERT INTO privacy_requests (shop_id, kind, source, status, customer_id, orders_requested, "
            "orders_to_redact, shopify_request_id, received_at, due_at, attempts) "
            "VALUES (:s, 'data_request', 'webhook', 'received', 77, '[]', '[]', '4242', now(), now(), 0) "
            "RETURNING id"), {"s": shop.id}).scalar_one()
        other.execute(text(
            "INSERT INTO webhook_deliveries (webhook_id, topic, shop_id, received_at, privacy_request_id) "
            "VALUES ('first-webhook-id', :t, :s, now(), :r)"), {"t": delivery[0], "s": shop.id, "r": request_id})
        return request_id

    result, request_id = post_behind_another_transaction(live_server, database_url, delivery, store_first)
    assert [r.status_code for r in result] == [200]
    db_session.rollback()
    assert db_session.scalars(select(PrivacyRequest.id)).all() == [request_id]
    deliveries = db_session.execute(select(WebhookDelivery.webhook_id, WebhookDelivery.privacy_request_id)).all()
    assert dict(deliveries) == {"first-webhook-id": request_id, "second-webhook-id": request_id}


def _waiting_on_lock(database_url: str) -> bool:
    with db.get_engine(database_url).connect() as connection:
        return bool(connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()")))
