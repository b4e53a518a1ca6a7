"""PostgreSQL's one-statement intake stores what the general path stores, batch after batch.

The same sequence of batches goes through :func:`delivery_statement.accept_deliveries` on an empty database,
then through :func:`privacy_requests.accept_deliveries` on an empty database again; the answers and the rows
must be the same (request ids compared by order of creation).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.models import AuditEntry, PrivacyRequest, RequestStatus, Shop, WebhookDelivery
from shopify_app.platform.webhooks import WebhookDelivery as Delivery
from shopify_app.services import delivery_statement, privacy_requests
from shopify_app.services.privacy_requests import AcceptedDelivery
from tests.signing import webhook_headers

SHOP, OTHER_SHOP = "lunettes.myshopify.com", "autre.myshopify.com"

pytestmark = pytest.mark.usefixtures("fresh_connections")


@pytest.fixture(autouse=True)
def postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the one-statement intake is PostgreSQL's")


def delivery(topic: str, webhook_id: str, payload: dict[str, Any], shop: str = SHOP) -> Delivery:
    body = json.dumps({"shop_id": 1, "shop_domain": shop, **payload}).encode()
    return Delivery.from_request(topic, webhook_headers(topic, body, shop=shop, webhook_id=webhook_id), body)


def redact(customer_id: int, webhook_id: str, shop: str = SHOP) -> Delivery:
    return delivery("customers/redact", webhook_id, {
        "customer": {"id": customer_id, "email": f"c{customer_id}@example.fr", "phone": "+33600000000"},
        "orders_to_redact": [customer_id * 10]}, shop)


def data_request(request_id: int, customer_id: int, webhook_id: str, shop: str = SHOP) -> Delivery:
    return delivery("customers/data_request", webhook_id, {
        "customer": {"id": customer_id, "email": f"c{customer_id}@example.fr", "phone": None},
        "orders_requested": [customer_id * 10, customer_id * 10 + 1], "data_request": {"id": request_id}}, shop)


BATCHES: list[list[Delivery]] = [
    [redact(1, "w1"), redact(2, "w2"), data_request(10, 3, "w3"), data_request(11, 3, "w3b", OTHER_SHOP)],
    [
        redact(1, "w4"),  # repeats the open erasure of customer 1
        data_request(10, 3, "w5"),  # repeats Shopify's data request 10
        redact(1, "w1"),  # a redelivery
        redact(5, "w6"), redact(5, "w6"),  # sent twice in one batch
        redact(6, "w8"), redact(6, "w7"),  # one new request, two webhook ids: the first webhook id creates it
        data_request(10, 3, "w9", OTHER_SHOP),  # the same Shopify id in another shop: another request
    ],
    [redact(2, "w10")],  # customer 2's erasure is completed by then (see below): a new request
    [redact(1, "w1"), data_request(10, 3, "w5")],  # only redeliveries
]


def complete_erasure_of_customer_2(session: Session) -> None:
    session.execute(text("UPDATE privacy_requests SET status = :s WHERE customer_id = 2"),
                    {"s": RequestStatus.COMPLETED})
    session.commit()


Accept = Callable[[Sequence[Delivery]], list[AcceptedDelivery] | None]


def run(database_url: str, accept: Accept) -> tuple[list[list[tuple[Any, ...]]], dict[str, Any]]:
    """Every batch of BATCHES through ``accept`` on an empty database: the answers, then the rows."""
    sessionmaker = db.get_sessionmaker(database_url)
    with sessionmaker() as session:
        session.execute(text("TRUNCATE shops, privacy_requests, webhook_deliveries, audit_entries "
                             "RESTART IDENTITY CASCADE"))
        session.add_all([Shop(domain=SHOP), Shop(domain=OTHER_SHOP)])
        session.commit()
    answers = []
    for index, batch in enumerate(BATCHES):
        if index == 2:
            with sessionmaker() as session:
                complete_erasure_of_customer_2(session)
        accepted = accept(batch)
        assert accepted is not None
        answers.append([(a.privacy_request_id, a.kind, a.duplicate, a.created) for a in accepted])
    with sessionmaker() as session:
        requests = session.scalars(select(PrivacyRequest).order_by(PrivacyRequest.id)).all()
        number = {r.id: n for n, r in enumerate(requests, start=1)}  # ids by order of creation
        rows = {
            "requests": [(r.shop_id, r.kind, r.source, r.status, r.customer_id, r.customer_email, r.customer_phone,
                          r.orders_requested, r.orders_to_redact, r.shopify_request_id, r.attempts,
                          r.due_at - r.received_at) for r in requests],
            "deliveries": sorted((d.webhook_id, d.event_id, d.topic, d.shop_id, d.triggered_at, d.api_version,
                                  number.get(d.privacy_request_id))
                                 for d in session.scalars(select(WebhookDelivery))),
            "audit": sorted((a.shop_id, number.get(a.privacy_request_id), a.actor, a.action,
                             json.dumps(a.detail, sort_keys=True))
                            for a in session.scalars(select(AuditEntry))),
        }
    renumbered = [[(number.get(request_id), *rest) for request_id, *rest in batch] for batch in answers]
    return renumbered, rows


def in_one_statement(database_url: str) -> Accept:
    def accept(batch: Sequence[Delivery]) -> list[AcceptedDelivery] | None:
        with db.get_autocommit_engine(database_url).connect() as connection:
            return delivery_statement.accept_deliveries(connection, batch)
    return accept


def the_general_way(database_url: str) -> Accept:
    def accept(batch: Sequence[Delivery]) -> list[AcceptedDelivery]:
        with db.get_sessionmaker(database_url)() as session:
            return privacy_requests.accept_deliveries(session, batch)
    return accept


def test_one_statement_stores_what_the_general_path_stores(database_url: str) -> None:
    answers, rows = run(database_url, in_one_statement(database_url))
    assert (answers, rows) == run(database_url, the_general_way(database_url))
    # and what that is, in short:
    assert answers[1] == [
        (1, "customer_redact", False, False), (3, "data_request", False, False), (1, None, True, False),
        (5, "customer_redact", False, True), (5, "customer_redact", True, False),
        (6, "customer_redact", False, False), (6, "customer_redact", False, True),
        (7, "data_request", False, True)]
    assert answers[2] == [(8, "customer_redact", False, True)]
    assert all(duplicate for _, _, duplicate, _ in answers[3])
    assert len(rows["requests"]) == 8 and len(rows["deliveries"]) == 11 and len(rows["audit"]) == 11


def test_what_the_statement_leaves_to_the_general_path_stores_nothing(database_url: str, db_session: Session) -> None:
    """An unknown shop, or a topic other than the customer ones: None, and no row written."""
    accept = in_one_statement(database_url)
    assert accept([redact(1, "w1"), redact(2, "w2", "unknown.myshopify.com")]) is None
    shop_redact = delivery("shop/redact", "w3", {})
    assert accept([redact(1, "w4"), shop_redact]) is None
    assert db_session.scalar(select(WebhookDelivery.id)) is None
    assert db_session.scalar(select(PrivacyRequest.id)) is None


def test_the_statement_is_sent_short_enough_for_psycopgs_caches() -> None:
    """Longer texts have their placeholders converted anew on every execution (bench/README.md, sixth session)."""
    from psycopg import _queries  # noqa: PLC0415 (psycopg's private constant: the test tells when it moves)

    assert delivery_statement.PSYCOPG_CACHED_QUERY_BYTES == _queries.MAX_CACHED_STATEMENT_LENGTH
    assert len(delivery_statement._STATEMENT.encode()) <= delivery_statement.PSYCOPG_CACHED_QUERY_BYTES
    # Compacting could only have changed a string literal holding "--" or whitespace: none does.
    statement = delivery_statement._STATEMENT
    literals = re.findall(r"'[^']*'", statement)
    assert statement.count("'") == 2 * len(literals) > 0
    assert all(re.fullmatch(r"'[\w.:]*'", literal) for literal in literals), literals
