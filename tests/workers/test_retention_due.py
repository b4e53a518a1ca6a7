"""Customers past retention: the weekly scan over 5,000 customers within Shopify's cost limits, and batch erasure."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from devtools.admin_double.data import iso
from shopify_app.models import AuditEntry, ConsentRecord, RetentionDueCustomer, RetentionScan, utcnow
from shopify_app.services import shops
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.storefront.helpers import auth
from workers.cron import build_scheduler
from workers.retention_due import queue_retention_scans

RECENT = dt.timedelta(days=200)
OLD = dt.timedelta(days=4 * 365)


def seed(shopify_double) -> set[int]:
    """5,000 customers; every 16th untouched for four years, a few of those with an order. Returns the due ids."""
    now = utcnow()
    customers = shopify_double.seed_customers(DEMO_SHOP, 5000, created_at=now - RECENT)
    due = {1004}  # Hugo Petit, seeded in the demo shop: no order, last update 3 years and 60 days ago
    for k, customer in enumerate(customers):
        number = int(customer["id"].rsplit("/", 1)[1])
        if k % 16:
            continue
        live = shopify_double.customer(DEMO_SHOP, number)
        live["createdAt"] = live["updatedAt"] = iso(now - OLD)
        if k % 160 == 0:
            shopify_double.add_order(DEMO_SHOP, number, created_at=now - OLD)  # an order: kept for the invoices
            live["updatedAt"] = iso(now - OLD)
        else:
            due.add(number)
    # Just inside the three years: not due.
    edge = shopify_double.customer(DEMO_SHOP, int(customers[1]["id"].rsplit("/", 1)[1]))
    edge["updatedAt"] = iso(now - dt.timedelta(days=3 * 365 - 2))
    return due


def graphql_calls(shopify_double, name: str) -> list[dict]:
    return [r for r in shopify_double.requests
            if r["endpoint"] == "graphql" and name in (r["json"] or {}).get("query", "")]


def due_ids(db_session) -> set[int]:
    db_session.rollback()
    return {r.customer_id for r in db_session.scalars(select(RetentionDueCustomer).where(
        RetentionDueCustomer.status == "due"))}


def test_the_weekly_scan_finds_customers_without_orders_or_updates_for_three_years(
        install_shop, shopify_double, run_worker, db_session, settings):
    install_shop()
    expected = seed(shopify_double)
    assert len(expected) == 1 + 313 - 32
    shopify_double.reset_records()
    shopify_double.set_throttle_available(DEMO_SHOP, 200)  # a drained bucket: the client must wait, not fail
    assert queue_retention_scans() == {"shops": 1, "queued": 1}
    run_worker()

    assert due_ids(db_session) == expected
    calls = graphql_calls(shopify_double, "RetentionDueCustomers")
    # 282 customers: two pages of 250; the first call was throttled and retried once the bucket refilled.
    assert len(calls) >= 3 and len({r["json"]["variables"]["after"] for r in calls}) == 2
    query = calls[0]["json"]["variables"]["query"]
    assert query.startswith("updated_at:<'") and query.endswith("' orders_count:0")
    assert shopify_double.validation_errors == []
    scan = db_session.scalars(select(RetentionScan)).one()
    assert (scan.status, scan.customers_due, scan.pages) == ("done", len(expected), 2)


def test_the_merchant_erases_everyone_due_in_one_batch_with_progress(
        client, install_shop, shopify_double, run_worker, db_session, settings):
    install_shop()
    install_shop(OTHER_SHOP)
    expected = seed(shopify_double)
    assert client.post("/api/retention-due/scan", headers=auth()).status_code == 202
    run_worker()
    body = client.get("/api/retention-due", params={"limit": 5}, headers=auth()).json()
    assert body["last_scan"]["customers_due"] == len(expected) and body["counts"] == {"due": len(expected)}
    first = body["customers"][0]
    assert first["admin_url"] == f"https://admin.shopify.com/store/demo-shop/customers/{first['customer_id']}"
    assert client.get("/api/retention-due", headers=auth(OTHER_SHOP)).json()["customers"] == []  # scoped

    shop_id = shops.find_shop(db_session, DEMO_SHOP).id
    db_session.add(ConsentRecord(shop_id=shop_id, visitor_id="visitor-hugo", customer_id=1004, action="reject_all",
                                 analytics=False, marketing=False, preferences=False, sale_of_data=False, gpc=False,
                                 revision=1, text_hash="0" * 64, language="fr"))
    db_session.commit()
    shopify_double.reset_records()
    # 282 erasures cost 2,820 points: the client paces them to Shopify's refill rate (the scan test shows the
    # waiting); a faster refill here keeps the suite quick.
    shopify_double.bucket.restore_rate = 2000.0
    started = client.post("/api/retention-due/erase", json={"all": True}, headers=auth())
    assert started.status_code == 202 and started.json()["total"] == len(expected)
    batch_id = started.json()["id"]
    assert client.post("/api/retention-due/erase", json={"all": True}, headers=auth()).status_code == 409
    run_worker()

    progress = client.get(f"/api/retention-due/batches/{batch_id}", headers=auth()).json()
    assert progress == {**progress, "status": "done", "total": len(expected), "succeeded": len(expected),
                        "failed": 0, "remaining": 0}
    erased = {int(m.variables["customerId"].rsplit("/", 1)[1]) for m in shopify_double.mutations
              if m.field == "customerRequestDataErasure"}
    assert erased == expected
    assert all(shopify_double.erasure_requested(DEMO_SHOP, number) for number in expected)
    db_session.rollback()
    assert db_session.scalars(select(ConsentRecord)).all() == []  # ours went at once
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.customer_erased")).all()
    assert len(entries) == len(expected)
    assert all(set(e.detail["customer"]) == {"salt", "sha256"} and e.detail["shopify"] == "requested"
               for e in entries)  # the ids themselves are not kept in clear
    assert client.get(f"/api/retention-due/batches/{batch_id}", headers=auth(OTHER_SHOP)).status_code == 404


def test_a_customer_updated_since_leaves_the_list_and_a_refusal_is_reported(
        client, install_shop, shopify_double, run_worker, db_session):
    install_shop()
    assert client.post("/api/retention-due/scan", headers=auth()).status_code == 202
    run_worker()
    assert due_ids(db_session) == {1004}
    shopify_double.customer(DEMO_SHOP, 1004)["updatedAt"] = iso(utcnow())  # Hugo came back
    client.post("/api/retention-due/scan", headers=auth())
    run_worker()
    assert due_ids(db_session) == set()

    shopify_double.customer(DEMO_SHOP, 1004)["updatedAt"] = iso(utcnow() - OLD)
    client.post("/api/retention-due/scan", headers=auth())
    run_worker()
    with shopify_double.store.lock:  # Shopify deleted the customer in the meantime
        del shopify_double.store.shop(DEMO_SHOP).customers["gid://shopify/Customer/1004"]
    batch = client.post("/api/retention-due/erase", json={"customer_ids": [1004]}, headers=auth()).json()
    run_worker()
    progress = client.get(f"/api/retention-due/batches/{batch['id']}", headers=auth()).json()
    assert (progress["status"], progress["succeeded"], progress["failed"]) == ("done", 1, 0)  # nothing left to erase
    assert client.post("/api/retention-due/erase", json={"customer_ids": "all"}, headers=auth()).status_code == 422


def test_the_scan_is_a_weekly_cron_job_that_a_json_worker_runs(settings, app):
    scheduler = build_scheduler(settings)
    jobs = {job.func_name: job for job in scheduler._cron_jobs}
    assert jobs["workers.retention_due.queue_retention_scans"].cron == "41 4 * * 1"
    assert jobs["workers.fulfilment.queue_owed_report_links"].cron == "23 * * * *"
