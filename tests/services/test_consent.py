"""Consent ingestion below HTTP: parsing, truncation, the batch writer (one statement), rate limits, listing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from redis import Redis
from sqlalchemy import event, select, text

from shopify_app import db
from shopify_app.errors import MalformedPayloadError, NotFoundError
from shopify_app.models import ConsentRecord, Shop
from shopify_app.services import consent
from shopify_app.services.consent_writer import ConsentWriteFailed, ConsentWriter, _Record, _row
from shopify_app.services.rate_limits import FixedWindowLimiter, Limit, RateLimitExceeded
from tests.engines import app_engines

ALL = {"analytics": True, "marketing": True, "preferences": True, "sale_of_data": True}
VISITOR = "0b6f4a1e-2f4c-4d2a-9a59-0f7d7cf1a001"


def raw(**overrides) -> bytes:
    body = {"visitor_id": VISITOR, "action": "accept_all", "choices": dict(ALL), "revision": 3,
            "text_hash": "ab" * 32, "language": "en", "gpc": False, "page": "/"}
    body.update(overrides)
    return json.dumps(body).encode()


@pytest.fixture
def shop(db_session) -> Shop:
    row = Shop(domain="demo-shop.myshopify.com")
    db_session.add(row)
    db_session.commit()
    return row


def test_from_body_keeps_what_was_sent_and_adds_the_request_facts():
    event_ = consent.ConsentInput.from_body(raw(), customer_id=55, client_ip="198.51.100.23", user_agent="UA\x00 1")
    assert event_ == consent.ConsentInput(
        visitor_id=VISITOR, action="accept_all", choices=consent.Choices(True, True, True, True), revision=3,
        text_hash="ab" * 32, language="en", gpc=False, page="/", customer_id=55, ip_truncated="198.51.100.0",
        user_agent="UA 1")


def test_page_is_optional():
    body = json.loads(raw())
    del body["page"]
    assert consent.ConsentInput.from_body(json.dumps(body).encode()).page is None


def test_a_body_of_exactly_4_kb_is_accepted_and_one_byte_more_is_not():
    padding = b" " * (consent.MAX_BODY_BYTES - len(raw()))  # JSON allows trailing white space
    assert consent.ConsentInput.from_body(raw() + padding).visitor_id == VISITOR
    with pytest.raises(MalformedPayloadError, match="4096"):
        consent.ConsentInput.from_body(raw() + padding + b" ")


def test_a_long_page_path_is_refused():
    with pytest.raises(MalformedPayloadError, match="page"):
        consent.ConsentInput.from_body(raw(page="/" + "a" * consent.MAX_PAGE_CHARS))


@pytest.mark.parametrize("visitor_id, ok", [("a" * 7, False), ("a" * 8, True), ("A-z_09" * 10 + "abcd", True),
                                            ("a" * 65, False), ("abcdefgh\n", False), ("ábcdefgh", False)])
def test_visitor_id_rules(visitor_id, ok):
    if ok:
        assert consent.ConsentInput.from_body(raw(visitor_id=visitor_id)).visitor_id == visitor_id
    else:
        with pytest.raises(MalformedPayloadError):
            consent.ConsentInput.from_body(raw(visitor_id=visitor_id))


@pytest.mark.parametrize("address, network", [
    ("203.0.113.77", "203.0.113.0"),
    ("203.0.113.0", "203.0.113.0"),
    ("2001:db8:85a3:8d3:1319:8a2e:370:7348", "2001:db8:85a3::"),
    ("2001:db8::1", "2001:db8::"),
    ("::ffff:198.51.100.9", "198.51.100.0"),
    (" 10.1.2.3 ", "10.1.2.0"),
    ("not an address", None),
    ("", None),
    (None, None),
])
def test_truncate_ip(address, network):
    assert consent.truncate_ip(address) == network


@pytest.mark.parametrize("forwarded_for, remote_addr, expected", [
    ("203.0.113.7, 23.227.38.65", "10.0.0.1", "203.0.113.7"),
    ("2001:db8::5", "10.0.0.1", "2001:db8::5"),
    ("unknown", "10.0.0.1", "10.0.0.1"),
    (None, "10.0.0.1", "10.0.0.1"),
    (None, None, None),
])
def test_client_ip_is_the_first_forwarded_hop(forwarded_for, remote_addr, expected):
    assert consent.client_ip(forwarded_for, remote_addr) == expected


def test_user_agent_is_cut_to_200_characters():
    assert consent.truncate_user_agent("é" * 300) == "é" * 200
    assert consent.truncate_user_agent("   ") is None and consent.truncate_user_agent(None) is None


def writer(database_url: str, limiter: FixedWindowLimiter | None = None) -> ConsentWriter:
    return ConsentWriter(db.get_engine(database_url), limiter, autocommit_engine=db.autocommit_engine_for(database_url))


def pending(shop_domain: str, **body) -> _Record:
    record = consent.ConsentInput.from_body(raw(**body), customer_id=9)
    return _Record(shop_domain, record.visitor_id, _row(shop_domain, record, dt.datetime.now(dt.UTC)))


def test_a_batch_is_one_insert_statement_and_an_unknown_shop_fails_only_its_own_record(db_session, database_url,
                                                                                        shop, fresh_connections):
    other = Shop(domain="other-shop.myshopify.com")
    db_session.add(other)
    db_session.commit()
    shop_ids = {shop.domain: shop.id, other.domain: other.id}
    domain, other_domain = shop.domain, other.domain
    db_session.rollback()
    batch = [pending(domain, visitor_id="visitor-a1"), pending("nobody.myshopify.com", visitor_id="visitor-b1"),
             pending(other_domain, visitor_id="visitor-c1"), pending(domain, visitor_id="visitor-d1")]
    statements: list[str] = []
    engines = app_engines(database_url)
    for engine in engines:  # connected before counting (fresh_connections emptied the pools)
        with engine.connect():
            pass
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    for engine in engines:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        outcomes = writer(database_url)._write(batch)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listener)
    statements = [s.lstrip().upper() for s in statements if not s.startswith("BEGIN")]  # SQLite's BEGIN (db.py)
    if database_url.startswith("postgresql"):  # one statement, committed on its own (autocommit)
        assert len(statements) == 1 and "INSERT INTO CONSENT_RECORDS" in statements[0]
    else:  # the shops, then one executemany INSERT, in one transaction
        assert len(statements) == 2 and statements[0].startswith("SELECT")
        assert statements[1].startswith("INSERT INTO CONSENT_RECORDS")
    assert [type(outcome) for outcome in outcomes] == [type(None), NotFoundError, type(None), type(None)]
    db_session.rollback()
    rows = db_session.scalars(select(ConsentRecord).order_by(ConsentRecord.visitor_id)).all()
    assert [(r.visitor_id, r.shop_id) for r in rows] == [
        ("visitor-a1", shop_ids[domain]), ("visitor-c1", shop_ids[other_domain]), ("visitor-d1", shop_ids[domain])]
    assert all(r.customer_id == 9 and r.revision == 3 and r.ip_truncated is None for r in rows)


def test_submit_for_an_unknown_shop_stores_nothing(db_session, database_url, shop):
    db_session.rollback()
    with pytest.raises(NotFoundError):
        writer(database_url).submit("nobody.myshopify.com", consent.ConsentInput.from_body(raw()))
    assert db_session.scalars(select(ConsentRecord)).all() == []


@pytest.fixture
def refuses_huge_revisions(database_url: str, db_session) -> Iterator[None]:
    """The database itself refuses a revision beyond 32 bits, with the rest of its batch.

    PostgreSQL does already: the column is an INTEGER. SQLite stores any integer up to 2**63, so a BEFORE INSERT
    trigger makes it refuse the same row the same way (an IntegrityError, as a CHECK would), at the database
    rather than in our code, which the test must run unchanged.
    """
    if database_url.startswith("postgresql"):
        yield
        return
    db_session.execute(text(
        "CREATE TRIGGER consent_test_refuse BEFORE INSERT ON consent_records WHEN NEW.revision > 2147483647 "
        "BEGIN SELECT RAISE(ABORT, 'revision out of range'); END"))
    db_session.commit()
    try:
        yield
    finally:  # the SQLite file lives for the whole session: later tests must not meet the trigger
        db_session.rollback()
        db_session.execute(text("DROP TRIGGER consent_test_refuse"))
        db_session.commit()


def test_a_row_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored(db_session, database_url, shop,
                                                                                     refuses_huge_revisions):
    """Validation keeps such rows out; should one get through, it must not take its batch down with it."""
    domain = shop.domain
    db_session.rollback()
    batch = [pending(domain, visitor_id="visitor-a1"), pending(domain, visitor_id="visitor-b1"),
             pending(domain, visitor_id="visitor-c1")]
    batch[1].row["revision"] = 2**40  # more than the INTEGER column holds
    outcomes = writer(database_url)._write(batch)
    assert [type(outcome) for outcome in outcomes] == [type(None), ConsentWriteFailed, type(None)]
    db_session.rollback()
    assert sorted(r.visitor_id for r in db_session.scalars(select(ConsentRecord))) == ["visitor-a1", "visitor-c1"]


def test_rate_limits_apply_per_visitor_and_per_shop(db_session, database_url, shop, redis_conn: Redis):
    # The real limits (20 per visitor, 2000 per shop, a minute): the counters of this window are set in Redis
    # to leave 2 events to the visitor and 3 to the shop, as earlier traffic would have left them.
    limiter = FixedWindowLimiter(redis_conn, clock=lambda: 1_000_000.0)
    domain = shop.domain
    window = 1_000_000 // 60
    redis_conn.set(f"rl:{consent.SHOP_LIMIT.name}:{domain}:{window}", consent.SHOP_LIMIT.max_events - 3, ex=61)
    redis_conn.set(f"rl:{consent.VISITOR_LIMIT.name}:{consent.visitor_key(domain, 'visitor-a1')}:{window}",
                   consent.VISITOR_LIMIT.max_events - 2, ex=61)
    db_session.rollback()
    record = lambda visitor: writer(database_url, limiter).submit(  # noqa: E731
        domain, consent.ConsentInput.from_body(raw(visitor_id=visitor)))
    record("visitor-a1")
    record("visitor-a1")
    with pytest.raises(RateLimitExceeded) as exc:
        record("visitor-a1")  # one more than the visitor's limit
    assert exc.value.status_code == 429 and exc.value.retry_after == 20  # 1_000_000 % 60 == 40
    with pytest.raises(RateLimitExceeded):
        record("visitor-b1")  # a new visitor, but one more than the shop's limit in this window
    db_session.rollback()
    assert len(db_session.scalars(select(ConsentRecord)).all()) == 2
    keys = sorted(key.decode() for key in redis_conn.keys("rl:*"))
    assert keys[0] == "rl:consent-shop:demo-shop.myshopify.com:16666" and len(keys) == 3
    assert not any(v in key for key in keys for v in ("visitor-a1", "visitor-b1"))  # only hashed in Redis


def test_a_batch_is_counted_as_if_its_events_came_one_by_one(redis_conn):
    visitor = Limit("t-batch-visitor", max_events=2, window_seconds=60)
    shop_limit = Limit("t-batch-shop", max_events=4, window_seconds=60)
    limiter = FixedWindowLimiter(redis_conn, clock=lambda: 1_000_000.0)
    limiter.hit([(visitor, "a"), (shop_limit, "s")])  # one event before the batch
    events = [[(visitor, "a"), (shop_limit, "s")], [(visitor, "a"), (shop_limit, "s")],
              [(visitor, "b"), (shop_limit, "s")], [(visitor, "c"), (shop_limit, "s")],
              [(visitor, "b"), (shop_limit, "s")]]
    verdicts = limiter.hit_many(events)
    # a: 2nd allowed, 3rd over; the shop: 2nd, 3rd, 4th allowed, 5th and 6th over (counted all the same)
    assert [v is None for v in verdicts] == [True, False, True, False, False]
    assert all(v.retry_after == 20 for v in verdicts if v is not None)
    assert int(redis_conn.get("rl:t-batch-shop:s:16666")) == 6
    assert int(redis_conn.get("rl:t-batch-visitor:a:16666")) == 3
    assert 0 < redis_conn.ttl("rl:t-batch-visitor:b:16666") <= 61


def test_hit_many_fails_open_like_hit(caplog):
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    limiter = FixedWindowLimiter(dead)
    limit = Limit("t-dead-many", max_events=0, window_seconds=60)
    assert limiter.hit_many([[(limit, "k")], [(limit, "k")]]) == [None, None]
    assert "Redis unavailable" in caplog.text


def test_a_new_window_starts_from_zero(redis_conn):
    now = [120.0]
    limiter = FixedWindowLimiter(redis_conn, clock=lambda: now[0])
    limit = Limit("t-window", max_events=1, window_seconds=60)
    limiter.hit([(limit, "k")])
    with pytest.raises(RateLimitExceeded):
        limiter.hit([(limit, "k")])
    now[0] = 180.0
    limiter.hit([(limit, "k")])
    assert 0 < redis_conn.ttl("rl:t-window:k:3") <= 61


def test_the_limiter_fails_open_and_leaves_a_dead_redis_alone_for_a_while(caplog):
    calls = []
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    clock = [0.0]
    limiter = FixedWindowLimiter(dead, monotonic=lambda: clock[0])
    original = dead.pipeline
    dead.pipeline = lambda **kw: calls.append(1) or original(**kw)  # type: ignore[method-assign]
    limit = Limit("t-dead", max_events=0, window_seconds=60)
    limiter.hit([(limit, "k")])  # would be over the limit, but Redis is down: allowed
    limiter.hit([(limit, "k")])  # within the back-off: Redis is not even tried
    assert len(calls) == 1 and "Redis unavailable" in caplog.text
    clock[0] = 10.0
    limiter.hit([(limit, "k")])
    assert len(calls) == 2


# ------------------------------------------------------------------ listing


def add(db_session, shop: Shop, at: dt.datetime, **fields) -> None:
    values = {"visitor_id": "visitor-1", "customer_id": None, "action": "close", "analytics": False,
              "marketing": False, "preferences": False, "sale_of_data": False, "gpc": False, "revision": 1,
              "text_hash": "ab" * 32, "language": "fr", **fields}
    db_session.add(ConsentRecord(shop_id=shop.id, recorded_at=at, **values))
    db_session.commit()


def test_list_is_newest_first_and_ties_break_by_id(db_session, shop):
    at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for visitor in ("visitor-1", "visitor-2"):
        add(db_session, shop, at, visitor_id=visitor)
    add(db_session, shop, at - dt.timedelta(days=1), visitor_id="visitor-0")
    rows = consent.list_consent_records(db_session, shop.id)
    assert [r.visitor_id for r in rows] == ["visitor-2", "visitor-1", "visitor-0"]
    assert consent.list_consent_records(db_session, shop.id + 1) == []


def test_parse_filters():
    filters = consent.parse_filters({"visitor_id": "visitor-1", "customer_id": "1001", "since": "2026-11-01",
                                     "until": "2026-11-02T10:00:00+01:00"})
    assert filters == {"visitor_id": "visitor-1", "customer_id": 1001,
                       "since": dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
                       "until": dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)}
    assert consent.parse_filters({"until": "2026-11-02"})["until"] == dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    assert consent.parse_filters({"since": "2026-11-02T08:00:00"})["since"] == dt.datetime(2026, 11, 2, 8,
                                                                                            tzinfo=dt.UTC)
    assert consent.parse_filters({"visitor_id": "", "customer_id": ""}) == {}
    for bad in ({"customer_id": "12345678901234567890"}, {"customer_id": "١٢"}, {"since": "2026-11-02T25:00"}):
        with pytest.raises(MalformedPayloadError):
            consent.parse_filters(bad)
