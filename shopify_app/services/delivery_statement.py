"""PostgreSQL: a batch of compliance webhook deliveries stored by one statement, committed when it returns.

:func:`privacy_requests.accept_deliveries` stores a batch with about eight round trips (BEGIN, the seen
webhook ids, the shops, the same requests by kind, the storefront erasures, three INSERTs, COMMIT), and
SQLAlchemy's work for each was most of the intake's CPU (bench/README.md, webhook intake). Here the common
batch (``customers/data_request`` and ``customers/redact`` deliveries for installed shops) is one statement
with one JSON parameter, run in autocommit mode, with the same outcome:

- a webhook id stored before is a duplicate and changes nothing;
- a delivery that repeats an existing request (the same Shopify data request id; an open erasure of the
  same customer) is linked to it, the oldest one; deliveries of one new request in the batch share it;
- each stored delivery gets its ``webhook.received`` audit entry.

Anything rarer is not handled here: then the statement stores nothing and returns None, and the caller runs
the general path. That is a batch with another topic (``shop/redact``, ``app/uninstalled``; decided before
any database work), an unknown shop (the general path creates it, or stores a delivery triggered before
shop/redact erased the shop without one), or a ``customers/redact`` for a customer whose storefront erasure
awaits Shopify (the general path closes it).

Concurrency: the deliveries are inserted ``ON CONFLICT (webhook_id) DO NOTHING`` with the ids of the requests
they will point to (taken from the sequence), and a request is inserted only if a delivery pointing to it
was. So if another transaction stores one of these webhook ids first, that delivery is a duplicate and
nothing of it is stored, in the same single statement. Rows are inserted in webhook id order, as the
general path does, so two batches lock them in the same order. If another transaction stores the same Shopify
data request under another webhook id first, the request's unique index fails the whole statement, and the
intake tries again (``privacy_requests.raced_on_a_data_request``): the retry links to that request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from shopify_app.models import OPEN_STATUSES, RequestKind, RequestStatus
from shopify_app.platform.topics import Topic
from shopify_app.platform.webhooks import WebhookDelivery as Delivery
from shopify_app.services.privacy_requests import RESPONSE_PERIOD, TOPIC_KINDS, AcceptedDelivery, request_fields

TOPICS = frozenset({Topic.CUSTOMERS_DATA_REQUEST, Topic.CUSTOMERS_REDACT})
"""The topics this statement stores; a batch with any other goes the general way."""

_COLUMNS = {  # the JSON row of one delivery: name -> PostgreSQL type
    "i": "integer", "webhook_id": "varchar", "event_id": "varchar", "topic": "varchar", "domain": "varchar",
    "triggered_at": "timestamp", "api_version": "varchar", "kind": "varchar", "customer_id": "bigint",
    "customer_email": "varchar", "customer_phone": "varchar", "orders_requested": "json",
    "orders_to_redact": "json", "shopify_request_id": "varchar",
}


def _literal_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)  # our own enum values, never input


PSYCOPG_CACHED_QUERY_BYTES = 4096
"""psycopg converts a query's ``%(name)s`` placeholders anew on every execution (a regex over the whole text)
unless the text is at most this long (``psycopg._queries.MAX_CACHED_STATEMENT_LENGTH``), and keys its prepared
statements by the text: so the statement is sent without its comments and indentation."""


def _compact(sql: str) -> str:
    """``sql`` without ``--`` comments and with every run of whitespace made one space. The statement's string
    literals hold neither (``tests/services/test_delivery_statement.py`` checks it)."""
    return re.sub(r"\s+", " ", re.sub(r"--[^\n]*", "", sql)).strip()


# %(rows)s: the JSON array; %(now)s and %(due)s: received_at and due_at (naive UTC, as UTCDateTime stores them).
# A request is identified within its shop by (kind, key): Shopify's data request id, or the customer id.
_SOURCE = f"""
WITH v AS (
    SELECT * FROM json_to_recordset(%(rows)s::json)
    AS v({", ".join(f"{name} {type_}" for name, type_ in _COLUMNS.items())})
),
seen AS (  -- a look-up by the unique index per delivery, whatever the planner thinks of the table's size
    SELECT d.* FROM v, LATERAL (
        SELECT webhook_id, privacy_request_id FROM webhook_deliveries w WHERE w.webhook_id = v.webhook_id LIMIT 1
    ) d
),
fresh AS (  -- the first delivery of each webhook id not stored before, with its shop and request key
    SELECT DISTINCT ON (v.webhook_id) v.*, s.id AS shop_id,
           CASE v.kind WHEN '{RequestKind.DATA_REQUEST}' THEN v.shopify_request_id ELSE v.customer_id::text END AS key
    FROM v LEFT JOIN shops s ON s.domain = v.domain
    WHERE v.webhook_id NOT IN (SELECT webhook_id FROM seen)
    ORDER BY v.webhook_id, v.i
),
same AS (  -- existing requests that these deliveries repeat: the oldest of each key
    -- One join per kind, each on its own index ((shop_id, shopify_request_id), (shop_id, customer_id)):
    -- with an OR of the two, PostgreSQL reads every request of the shop.
    SELECT DISTINCT ON (kind, shop_id, key) * FROM (
        SELECT f.kind, f.shop_id, f.key, r.id FROM fresh f
        JOIN privacy_requests r ON r.shop_id = f.shop_id AND r.shopify_request_id = f.shopify_request_id
        WHERE f.kind = '{RequestKind.DATA_REQUEST}' AND r.kind = f.kind
        UNION ALL
        SELECT f.kind, f.shop_id, f.key, r.id FROM fresh f
        JOIN privacy_requests r ON r.shop_id = f.shop_id AND r.customer_id = f.customer_id
        WHERE f.kind = '{RequestKind.CUSTOMER_REDACT}' AND r.kind = f.kind
          AND r.status IN ({_literal_list(OPEN_STATUSES)})
    ) matches
    ORDER BY kind, shop_id, key, id
),
general AS (  -- what only the general path handles: an unknown shop, a storefront erasure awaiting Shopify
    SELECT 1 FROM fresh WHERE shop_id IS NULL
    UNION ALL
    SELECT 1 FROM fresh f
    WHERE f.kind = '{RequestKind.CUSTOMER_REDACT}' AND EXISTS (
        SELECT 1 FROM storefront_requests sr JOIN privacy_requests r ON r.id = sr.privacy_request_id
        WHERE sr.shop_id = f.shop_id  -- its customer_ref (services/identifiers.customer_ref):
          AND sr.customer_ref = encode(sha256(convert_to('customer:' || f.shop_id || ':' || f.customer_id,
                                                         'UTF8')), 'hex')
          AND r.kind = '{RequestKind.ERASURE}' AND r.status = '{RequestStatus.COMPLETED}')
    LIMIT 1
),
created AS (  -- one new request per key not found, numbered now; its first delivery (by webhook id) creates it
    -- Numbered in the order of those webhook ids, as the general path inserts them.
    SELECT n.*, nextval(pg_get_serial_sequence('privacy_requests', 'id')) AS id
    FROM (
        SELECT * FROM (
            SELECT DISTINCT ON (f.kind, f.shop_id, f.key) f.* FROM fresh f
            WHERE NOT EXISTS (SELECT 1 FROM same m WHERE (m.kind, m.shop_id, m.key) = (f.kind, f.shop_id, f.key))
            ORDER BY f.kind, f.shop_id, f.key, f.webhook_id
        ) firsts
        ORDER BY webhook_id
    ) n
    WHERE NOT EXISTS (SELECT 1 FROM general)
),
linked AS (  -- each fresh delivery with its request
    SELECT f.*, coalesce(m.id, c.id) AS request_id, c.webhook_id IS NOT DISTINCT FROM f.webhook_id AS creates
    FROM fresh f
    LEFT JOIN same m ON (m.kind, m.shop_id, m.key) = (f.kind, f.shop_id, f.key)
    LEFT JOIN created c ON (c.kind, c.shop_id, c.key) = (f.kind, f.shop_id, f.key)
    WHERE NOT EXISTS (SELECT 1 FROM general)
),
stored AS (
    INSERT INTO webhook_deliveries
        (webhook_id, event_id, topic, shop_id, triggered_at, api_version, received_at, privacy_request_id)
    SELECT webhook_id, event_id, topic, shop_id, triggered_at, api_version, %(now)s, request_id
    FROM linked ORDER BY webhook_id
    ON CONFLICT (webhook_id) DO NOTHING
    RETURNING webhook_id, privacy_request_id
),
new_requests AS (
    INSERT INTO privacy_requests
        (id, shop_id, kind, source, status, received_at, due_at, customer_id, customer_email, customer_phone,
         orders_requested, orders_to_redact, shopify_request_id, attempts)
    SELECT id, shop_id, kind, 'webhook', '{RequestStatus.RECEIVED}', %(now)s, %(due)s, customer_id,
           customer_email, customer_phone, orders_requested, orders_to_redact, shopify_request_id, 0
    FROM created WHERE id IN (SELECT privacy_request_id FROM stored) ORDER BY id
),
audited AS (
    INSERT INTO audit_entries (shop_id, privacy_request_id, at, actor, action, detail)
    SELECT l.shop_id, l.request_id, %(now)s, 'shopify', 'webhook.received',
           json_build_object('topic', l.topic, 'webhook_id', l.webhook_id)
    FROM linked l JOIN stored USING (webhook_id) ORDER BY l.webhook_id
)
SELECT 'seen', webhook_id, privacy_request_id, false FROM seen
UNION ALL
SELECT 'stored', l.webhook_id, l.request_id, l.creates FROM linked l JOIN stored USING (webhook_id)
UNION ALL
SELECT 'general', NULL, NULL, false FROM general
"""
_STATEMENT = _compact(_SOURCE)


@dataclasses.dataclass(frozen=True)
class _Row:
    what: str  # seen, stored or general
    webhook_id: str | None
    privacy_request_id: int | None
    creates: bool


def accept_deliveries(connection: Connection, deliveries: Sequence[Delivery]) -> list[AcceptedDelivery] | None:
    """Store the batch on an autocommit PostgreSQL ``connection``: one outcome per delivery, in order, committed
    on return. None if the general path must store it (nothing was stored)."""
    if any(delivery.topic not in TOPICS for delivery in deliveries):
        return None
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    parameters = {"rows": json.dumps([_row(i, d) for i, d in enumerate(deliveries)], separators=(",", ":")),
                  "now": now, "due": now + RESPONSE_PERIOD}
    rows = [_Row(*row) for row in connection.exec_driver_sql(_STATEMENT, parameters)]
    if any(row.what == "general" for row in rows):
        return None
    seen = {row.webhook_id: row.privacy_request_id for row in rows if row.what == "seen"}
    stored = {row.webhook_id: row for row in rows if row.what == "stored"}
    results: list[AcceptedDelivery] = []
    answered: set[str] = set()
    for delivery in deliveries:
        webhook_id = delivery.webhook_id
        row = stored.get(webhook_id)
        if row is None:  # stored before, or meanwhile by another transaction
            results.append(AcceptedDelivery(seen.get(webhook_id), None, duplicate=True))
        else:
            again = webhook_id in answered  # sent twice in this batch
            results.append(AcceptedDelivery(row.privacy_request_id, TOPIC_KINDS[delivery.topic], duplicate=again,
                                            created=row.creates and not again))
            answered.add(webhook_id)
    return results


def _row(index: int, delivery: Delivery) -> dict[str, Any]:
    triggered_at = delivery.triggered_at
    return {
        "i": index, "webhook_id": delivery.webhook_id, "event_id": delivery.event_id, "topic": delivery.topic.value,
        "domain": delivery.shop_domain,
        "triggered_at": triggered_at.astimezone(dt.UTC).replace(tzinfo=None).isoformat() if triggered_at else None,
        "api_version": delivery.api_version, "kind": TOPIC_KINDS[delivery.topic], **request_fields(delivery),
    }
