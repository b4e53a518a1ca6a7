"""The daily purge deletes exactly what is past retention, per shop, on the boundary too, and counts it."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import select

from shopify_app.models import (
    AuditEntry,
    ConsentRecord,
    PrivacyRequest,
    RetentionDueCustomer,
    RetentionErasureBatch,
    RetentionScan,
    ShopSettings,
    StorefrontRequest,
    WebhookDelivery,
    utcnow,
)
from shopify_app.services import shops
from shopify_app.services.months import add_months
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from workers.maintenance import purge_expired_data

SECOND = dt.timedelta(seconds=1)
_ids = itertools.count(1)


def request(shop_id: int, *, status: str, closed_at=None, completed_at=None, email: str | None = "x@example.org",
            received_at=None) -> PrivacyRequest:
    received_at = received_at or (closed_at or completed_at or utcnow()) - dt.timedelta(days=10)
    return PrivacyRequest(shop_id=shop_id, kind="access", source="storefront", status=status, customer_id=next(_ids)
                          if email else None, customer_email=email, received_at=received_at,
                          due_at=received_at + dt.timedelta(days=30), closed_at=closed_at, completed_at=completed_at,
                          note="called back" if email else None, orders_requested=[], orders_to_redact=[], attempts=0)


def storefront(shop_id: int, *, status: str, created_at, privacy_request_id=None) -> StorefrontRequest:
    return StorefrontRequest(shop_id=shop_id, privacy_request_id=privacy_request_id, status=status, right="access",
                             language="en", email="x@example.org", message="hello", created_at=created_at,
                             extended_months=0, report_downloads=0, path_prefix="/apps/privacy")


def consent(shop_id: int, visitor: str, at) -> ConsentRecord:
    return ConsentRecord(shop_id=shop_id, visitor_id=visitor, action="accept_all", analytics=True, marketing=True,
                         preferences=True, sale_of_data=True, gpc=False, revision=1, text_hash="0" * 64,
                         language="en", recorded_at=at)


def delivery(shop_id: int | None, at) -> WebhookDelivery:
    return WebhookDelivery(webhook_id=f"wh-{next(_ids)}", topic="customers/redact", shop_id=shop_id, received_at=at)


def test_the_purge_deletes_exactly_what_is_past_retention(install_shop, db_session):
    install_shop()
    install_shop(OTHER_SHOP)
    now = utcnow()
    a = shops.find_shop(db_session, DEMO_SHOP).id
    b = shops.find_shop(db_session, OTHER_SHOP).id
    other_settings = db_session.get(ShopSettings, b)
    other_settings.request_retention_months, other_settings.consent_retention_months = 12, 6
    other_settings.audit_retention_months = 24
    requests_cutoff, consent_cutoff, audit_cutoff = (add_months(now, -m) for m in (36, 13, 60))

    # Shop A, default periods (3 years, 13 months, 5 years).
    closed_at_limit = request(a, status="closed", closed_at=requests_cutoff)
    closed_just_inside = request(a, status="closed", closed_at=requests_cutoff + SECOND)
    completed_long_ago = request(a, status="completed", completed_at=requests_cutoff - dt.timedelta(days=1))
    still_open = request(a, status="received", received_at=requests_cutoff - dt.timedelta(days=400))
    already_blank = request(a, status="closed", closed_at=requests_cutoff - dt.timedelta(days=10), email=None)
    # Shop B keeps closed requests 12 months only.
    b_past = request(b, status="closed", closed_at=add_months(now, -12))
    b_inside = request(b, status="closed", closed_at=add_months(now, -12) + SECOND)
    db_session.add_all([closed_at_limit, closed_just_inside, completed_long_ago, still_open, already_blank, b_past,
                        b_inside])
    db_session.flush()
    db_session.add_all([
        storefront(a, status="confirmed", created_at=requests_cutoff, privacy_request_id=closed_at_limit.id),
        storefront(a, status="confirmed", created_at=requests_cutoff, privacy_request_id=closed_just_inside.id),
        storefront(a, status="unconfirmed", created_at=now - dt.timedelta(days=7)),
        storefront(a, status="unconfirmed", created_at=now - dt.timedelta(days=7) + SECOND),
        # A visitor whose last choice is exactly 13 months old goes, history and all.
        consent(a, "visitor-gone", consent_cutoff - dt.timedelta(days=30)), consent(a, "visitor-gone", consent_cutoff),
        # One whose last choice is a second younger keeps their whole history (the proof of a choice in force).
        consent(a, "visitor-kept", consent_cutoff - dt.timedelta(days=100)),
        consent(a, "visitor-kept", consent_cutoff + SECOND),
        consent(b, "visitor-b-gone", add_months(now, -6)), consent(b, "visitor-b-kept", add_months(now, -6) + SECOND),
        AuditEntry(shop_id=a, at=audit_cutoff, actor="system", action="old", detail={}),
        AuditEntry(shop_id=a, at=audit_cutoff + SECOND, actor="system", action="kept", detail={}),
        AuditEntry(shop_id=b, at=add_months(now, -24), actor="system", action="old", detail={}),
        delivery(a, now - dt.timedelta(days=90)), delivery(a, now - dt.timedelta(days=90) + SECOND),
        delivery(None, now - dt.timedelta(days=91)),
    ])
    db_session.commit()

    result = purge_expired_data(now=now)
    assert result == {"privacy_reports": 0, "unconfirmed_requests": 1, "finished_requests_anonymised": 3,
                      "consent_records": 3, "audit_entries": 2, "webhook_deliveries": 2}

    db_session.rollback()
    emails = {r.id: r.customer_email for r in db_session.scalars(select(PrivacyRequest))}
    assert emails == {closed_at_limit.id: None, closed_just_inside.id: "x@example.org", completed_long_ago.id: None,
                      still_open.id: "x@example.org", already_blank.id: None, b_past.id: None,
                      b_inside.id: "x@example.org"}
    assert db_session.get(PrivacyRequest, closed_at_limit.id).note is None
    assert db_session.get(PrivacyRequest, closed_at_limit.id).outcome is None  # what stays: kind, dates, outcome
    rows = {r.privacy_request_id: r for r in db_session.scalars(select(StorefrontRequest))}
    assert (rows[closed_at_limit.id].email, rows[closed_at_limit.id].message) == (None, None)
    assert rows[closed_just_inside.id].email == "x@example.org"
    assert [r.created_at for r in rows.values() if r.status == "unconfirmed"] == [now - dt.timedelta(days=7) + SECOND]
    assert sorted({c.visitor_id for c in db_session.scalars(select(ConsentRecord))}) == ["visitor-b-kept",
                                                                                       "visitor-kept"]
    assert len(db_session.scalars(select(ConsentRecord).where(ConsentRecord.visitor_id == "visitor-kept")).all()) == 2
    assert [e.action for e in db_session.scalars(select(AuditEntry).where(AuditEntry.action.in_(["old", "kept"])))] \
        == ["kept"]
    kept_delivery = now - dt.timedelta(days=90) + SECOND
    assert [d.received_at for d in db_session.scalars(select(WebhookDelivery))] == [kept_delivery]
    counted = {e.shop_id: e.detail for e in db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "retention.purged"))}
    assert counted == {a: {"unconfirmed_requests": 1, "finished_requests_anonymised": 2, "consent_records": 2,
                           "audit_entries": 1, "webhook_deliveries": 1},
                       b: {"finished_requests_anonymised": 1, "consent_records": 1, "audit_entries": 1}}

    # A second run finds nothing more, and says nothing.
    assert set(purge_expired_data(now=now).values()) == {0}
    db_session.rollback()
    assert len(db_session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purged")).all()) == 2


def test_the_purge_forgets_customers_past_retention_once_handled_and_old_scans(install_shop, db_session):
    install_shop()
    shop_id = shops.find_shop(db_session, DEMO_SHOP).id
    now = utcnow()
    month, history = dt.timedelta(days=30), add_months(now, -13)

    def due(customer_id: int, status: str, *, found_at=now, erasure_requested_at=None) -> RetentionDueCustomer:
        return RetentionDueCustomer(shop_id=shop_id, customer_id=customer_id, status=status, found_at=found_at,
                                    shopify_updated_at=now - dt.timedelta(days=4 * 365),
                                    erasure_requested_at=erasure_requested_at)

    old_batch = RetentionErasureBatch(shop_id=shop_id, actor="merchant:1", status="done", created_at=history, total=1)
    recent_batch = RetentionErasureBatch(shop_id=shop_id, actor="merchant:1", status="done",
                                         created_at=history + SECOND, total=1)
    db_session.add_all([
        due(1, "erasure_requested", erasure_requested_at=now - month),  # Shopify accepted a month ago: goes
        due(2, "erasure_requested", erasure_requested_at=now - month + SECOND),
        due(3, "failed", found_at=now - dt.timedelta(days=90)),  # refused 90 days ago: goes
        due(4, "failed", found_at=now - dt.timedelta(days=89)),
        due(5, "due", found_at=now - dt.timedelta(days=400)),  # still waiting for the merchant: stays
        due(6, "queued", found_at=now - dt.timedelta(days=400)),
        RetentionScan(shop_id=shop_id, started_at=history, status="done", cutoff=history),
        RetentionScan(shop_id=shop_id, started_at=history + SECOND, status="done", cutoff=history),
        old_batch, recent_batch,
    ])
    db_session.commit()

    assert purge_expired_data(now=now)["retention_due_rows"] == 4
    db_session.rollback()
    assert sorted(r.customer_id for r in db_session.scalars(select(RetentionDueCustomer))) == [2, 4, 5, 6]
    assert [s.started_at for s in db_session.scalars(select(RetentionScan))] == [history + SECOND]
    assert [b.id for b in db_session.scalars(select(RetentionErasureBatch))] == [recent_batch.id]
    assert "retention_due_rows" not in purge_expired_data(now=now)


def test_months_are_calendar_months():
    assert add_months(dt.datetime(2026, 1, 31, tzinfo=dt.UTC), 1) == dt.datetime(2026, 2, 28, tzinfo=dt.UTC)
    assert add_months(dt.datetime(2024, 3, 31, tzinfo=dt.UTC), -1) == dt.datetime(2024, 2, 29, tzinfo=dt.UTC)
    assert add_months(dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC), -13) == dt.datetime(2025, 10, 27, 9, 30,
                                                                                            tzinfo=dt.UTC)
    assert add_months(dt.datetime(2026, 12, 15, tzinfo=dt.UTC), 3) == dt.datetime(2027, 3, 15, tzinfo=dt.UTC)
