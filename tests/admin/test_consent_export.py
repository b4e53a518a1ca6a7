"""The consent log's CSV export: streamed in keyset batches, filtered, scoped, audited, safe in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc

import pytest
from sqlalchemy import event, select

from shopify_app import db
from shopify_app.models import AuditEntry, utcnow
from shopify_app.services import consent_export
from tests.admin.factories import add_consents, consent_row, page_params, shop_id
from tests.conftest import DEMO_SHOP, OTHER_SHOP


@pytest.fixture
def demo(install_shop, db_session) -> int:
    install_shop()
    return shop_id(db_session, DEMO_SHOP)


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_streams_the_filtered_log_as_csv(client, demo, db_session):
    now = utcnow()
    add_consents(db_session, [
        consent_row(demo, visitor_id="visitor-aaaa", action="accept_all", recorded_at=now - dt.timedelta(days=2)),
        consent_row(demo, visitor_id="visitor-bbbb", action="custom", customer_id=7001, revision=4, gpc=True,
                    recorded_at=now - dt.timedelta(days=1)),
        consent_row(demo, visitor_id="visitor-cccc", action="reject_all", recorded_at=now,
                    user_agent="=HYPERLINK(\"http://evil.example\")"),
    ])
    with client.stream("GET", "/consent-log/export.csv", params=page_params(DEMO_SHOP)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"].startswith('attachment; filename="consent-log-')
        assert response.headers["cache-control"] == "private, no-store"
        assert "content-length" not in response.headers  # streamed, not built in memory first
        text = response.read().decode()
    rows = parse(text)
    assert list(rows[0]) == list(consent_export.HEADER)
    assert [r["visitor_id"] for r in rows] == ["visitor-aaaa", "visitor-bbbb", "visitor-cccc"]  # oldest first
    custom = rows[1]
    assert (custom["action"], custom["analytics"], custom["marketing"], custom["preferences"], custom["sale_of_data"],
            custom["gpc"], custom["banner_revision"], custom["customer_id"]) == (
        "custom", "true", "false", "true", "false", "true", "4", "7001")
    assert custom["recorded_at"].endswith("Z") and custom["text_hash"] == consent_row(demo).text_hash
    assert rows[2]["user_agent"] == "'=HYPERLINK(\"http://evil.example\")"  # not a formula in a spreadsheet

    filtered = parse(client.get("/consent-log/export.csv", params=page_params(DEMO_SHOP, customer_id="7001")).text)
    assert [r["visitor_id"] for r in filtered] == ["visitor-bbbb"]
    day = (now - dt.timedelta(days=2)).date().isoformat()
    ranged = parse(client.get("/consent-log/export.csv", params=page_params(DEMO_SHOP, until=day)).text)
    assert [r["visitor_id"] for r in ranged] == ["visitor-aaaa"]

    db_session.rollback()
    exports = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "consent_log.exported")).all()
    assert len(exports) == 3 and exports[0].actor == "merchant:42"
    assert exports[1].detail == {"filters": ["customer_id"]}  # which filters, never the values searched


def test_export_is_scoped_to_the_tokens_shop_and_validates_filters(client, demo, db_session):
    add_consents(db_session, [consent_row(demo, visitor_id="visitor-demo-only")])
    other = client.get("/consent-log/export.csv", params=page_params(OTHER_SHOP))
    assert other.status_code == 200 and other.text.strip() == ",".join(consent_export.HEADER)
    bad = client.get("/consent-log/export.csv", params=page_params(DEMO_SHOP, since="yesterday"))
    assert bad.status_code == 400 and "Enter a date like 2026-11-28." in bad.text
    assert client.get("/consent-log/export.csv", params={"shop": DEMO_SHOP}).status_code == 302  # no token: bounce


def test_keyset_batches_cover_ties_exactly_once_and_run_one_query_per_batch(demo, db_session, database_url):
    same_instant = utcnow().replace(microsecond=0)
    add_consents(db_session, [consent_row(demo, visitor_id=f"visitor-{i:05d}", recorded_at=same_instant)
                              for i in range(250)])
    statements: list[str] = []
    engine = db.get_engine(database_url)

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    session = db.get_sessionmaker(database_url)()
    try:
        chunks = consent_export.iter_consent_csv(session, demo, batch_rows=100)
        assert next(chunks).startswith("recorded_at,visitor_id")  # the header comes before any query
        assert statements == []
        first_rows = next(chunks)
        assert len(statements) == 1 and "LIMIT" in statements[0].upper()  # lazily: one batch at a time
        text = first_rows + "".join(chunks)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        session.close()
    visitors = [line.split(",")[1] for line in text.strip().split("\r\n")]
    assert visitors == [f"visitor-{i:05d}" for i in range(250)]  # ties broken by id, none lost or repeated
    assert len(statements) == 3  # 100 + 100 + 50


def test_memory_stays_at_one_batch_whatever_the_size(demo, db_session, database_url):
    start = utcnow() - dt.timedelta(days=30)
    add_consents(db_session, [consent_row(demo, visitor_id=f"visitor-{i:06d}",
                                          recorded_at=start + dt.timedelta(seconds=i),
                                          user_agent="Mozilla/5.0 (X11; Linux x86_64) " + "x" * 150)
                              for i in range(12_000)])

    def traced_export(**filters: object) -> tuple[int, int]:
        session = db.get_sessionmaker(database_url)()
        tracemalloc.start()
        try:
            total = sum(len(chunk) for chunk in consent_export.iter_consent_csv(session, demo, batch_rows=500,
                                                                                 **filters))
            return total, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
            session.close()

    traced_export()  # warm SQLAlchemy's statement caches, which are not the export's memory
    small_total, small_peak = traced_export(until=start + dt.timedelta(seconds=1_500))
    big_total, big_peak = traced_export()
    assert big_total > 2_500_000 and big_total > 7 * small_total  # several MB of CSV, 8 times more rows…
    assert big_peak < 1.5 * small_peak + 100_000  # …in the same memory: one batch at a time
