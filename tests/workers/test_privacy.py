"""Privacy jobs end to end: signed webhook → real Redis → real RQ worker → Shopify double → database."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Callable

import pytest
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer
from sqlalchemy import Engine, event, func, select, text

from shopify_app import queue
from shopify_app.models import (
    AuditEntry,
    BannerConfig,
    ConsentRecord,
    PrivacyReport,
    PrivacyRequest,
    RetentionDueCustomer,
    RetentionErasureBatch,
    RetentionScan,
    Shop,
    ShopSettings,
    ShopTombstone,
    StorefrontRequest,
    WebhookDelivery,
)
from shopify_app.services.identifiers import domain_hash, salted_hash
from tests.admin.factories import add_request
from tests.conftest import DEMO_SHOP, load_sample
from tests.signing import json_body
from tests.waiting import wait_for
from workers import privacy as privacy_jobs


def requests_in(db_session) -> list[PrivacyRequest]:
    db_session.rollback()  # a fresh snapshot: SQLite transactions see the state at their start
    return list(db_session.scalars(select(PrivacyRequest).order_by(PrivacyRequest.id)))


def report_row(db_session, privacy_request_id: int) -> PrivacyReport:
    return db_session.scalars(select(PrivacyReport).where(PrivacyReport.privacy_request_id == privacy_request_id)).one()


def data_request_body(customer_id: int = 1001, orders: list[int] | None = None, request_id: int = 9999) -> bytes:
    return json_body({"shop_id": 954889, "shop_domain": DEMO_SHOP, "orders_requested": orders or [],
                      "customer": {"id": customer_id, "email": "camille.dubois@example.fr", "phone": "+33612345678"},
                      "data_request": {"id": request_id}})


def add_consent(db_session, shop_domain: str = DEMO_SHOP, *, customer_id: int | None = 1001,
                visitor_id: str = "visitor-1") -> None:
    shop = db_session.scalars(select(Shop).where(Shop.domain == shop_domain)).one()
    db_session.add(ConsentRecord(shop_id=shop.id, visitor_id=visitor_id, customer_id=customer_id, action="custom",
                                 analytics=True, marketing=False, preferences=True, sale_of_data=False, revision=1,
                                 text_hash="a" * 64, language="fr", ip_truncated="203.0.113.0",
                                 user_agent="Mozilla/5.0"))
    db_session.commit()


def test_data_request_compiles_a_complete_report(install_shop, post_webhook, run_worker, db_session):
    install_shop()
    add_consent(db_session)
    add_consent(db_session, customer_id=None)  # the same browser before she logged in: hers too
    add_consent(db_session, customer_id=None, visitor_id="someone-else")
    add_consent(db_session, customer_id=1002)  # another customer later logged in on that browser: not hers
    shop_id = db_session.scalars(select(Shop.id)).one()
    earlier = add_request(db_session, shop_id, kind="access", status="closed", customer_id=None,
                          email="Camille.Dubois@Example.fr")  # from the storefront form, typed her own way
    assert post_webhook("customers/data_request", data_request_body()).status_code == 200
    run_worker()

    [_, privacy_request] = requests_in(db_session)
    assert privacy_request.status == "completed", privacy_request.failure_reason
    row = report_row(db_session, privacy_request.id)
    assert row.sha256 == hashlib.sha256(row.json_document.encode()).hexdigest()
    assert row.size_bytes == len(row.json_document.encode())
    assert row.expires_at - row.created_at == dt.timedelta(days=30)
    report = json.loads(row.json_document)

    customer = report["customer"]
    assert (customer["firstName"], customer["lastName"]) == ("Camille", "Dubois")
    assert customer["defaultEmailAddress"]["marketingState"] == "SUBSCRIBED"
    assert customer["defaultPhoneNumber"]["smsMarketingConsent"]["state"] == "SUBSCRIBED"
    assert len(customer["addressesV2"]["nodes"]) == 2
    assert customer["tags"] == ["newsletter", "VIP"] and customer["locale"] == "fr" and customer["createdAt"]
    assert sorted(o["name"] for o in report["orders"]) == ["#1001", "#1002"]  # #1002 is 95 days old
    assert all(o["lineItems"]["nodes"] for o in report["orders"])
    for order in report["orders"]:
        total = order["totalPriceSet"]["shopMoney"]
        assert total["currencyCode"] == "EUR" and total["amount"]
        assert order["shippingAddress"]["city"] and order["billingAddress"]["lastName"] == "Dubois"
    held = report["held_by_this_app"]
    assert held["consent_records"][0]["choices"] == {"analytics": True, "marketing": False, "preferences": True,
                                                     "sale_of_data": False}
    assert {c["visitor_id"] for c in held["consent_records"]} == {"visitor-1"} and len(held["consent_records"]) == 2
    assert [r["id"] for r in held["privacy_requests"]] == [earlier, privacy_request.id]
    assert {h["action"] for h in held["history"]} >= {"webhook.received", "job.started"}
    policy = report["policy"]
    assert policy["purposes"][1] == "Gestion des commandes"  # French: the shop's primary locale
    assert "Adresse e-mail" in policy["data_categories"]
    assert any(r.startswith("Shopify") for r in policy["recipients"])
    assert any("trois ans" in r for r in policy["retention"]) and any("art. 17" in r for r in policy["rights"])
    assert report["controller"]["contact_email"] == "contact@lepetitlunetier.com"
    assert report["unavailable"] == []
    assert "Vos données personnelles" in row.html_document and "Camille" in row.html_document
    assert row.language == "fr"


def test_report_language_follows_the_merchants_setting(install_shop, post_webhook, run_worker, db_session):
    install_shop()
    shop = db_session.scalars(select(Shop)).one()
    db_session.get(ShopSettings, shop.id).report_language = "en"
    db_session.commit()
    post_webhook("customers/data_request", data_request_body())
    run_worker()
    [privacy_request] = requests_in(db_session)
    row = report_row(db_session, privacy_request.id)
    assert row.language == "en" and "Your personal data" in row.html_document
    assert json.loads(row.json_document)["policy"]["purposes"][1] == "Order management"


def test_report_language_follows_the_shops_primary_locale(install_shop, post_webhook, run_worker, db_session,
                                                        shopify_double):
    shopify_double.store.shop(DEMO_SHOP).locales = [
        {"locale": "en", "name": "English", "primary": True, "published": True},
        {"locale": "fr", "name": "French", "primary": False, "published": True}]
    install_shop()
    post_webhook("customers/data_request", data_request_body())
    run_worker()
    [privacy_request] = requests_in(db_session)
    row = report_row(db_session, privacy_request.id)
    assert row.language == "en" and "Your personal data" in row.html_document


def test_requested_orders_only_and_honest_about_what_could_not_be_read(install_shop, post_webhook, run_worker,
                                                                      db_session, shopify_double):
    shopify_double.set_scopes(DEMO_SHOP, ["read_customers", "read_orders"])  # no read_all_orders
    install_shop()
    camille = shopify_double.customer(DEMO_SHOP, 1001)
    order_ids = sorted(int(o["id"].rsplit("/", 1)[1]) for o in shopify_double.store.shop(DEMO_SHOP).customer_orders(camille))
    post_webhook("customers/data_request", data_request_body(orders=order_ids))
    run_worker()
    [privacy_request] = requests_in(db_session)
    report = json.loads(report_row(db_session, privacy_request.id).json_document)
    assert [o["name"] for o in report["orders"]] == ["#1001"]  # the 95-day-old order is not readable
    reasons = " ".join(u["reason"] for u in report["unavailable"])
    assert "read_all_orders" in reasons
    assert any(u["source"].startswith("shopify.order.") for u in report["unavailable"])


REPORT_OPERATIONS = {"ShopForReport", "CustomerForReport", "CustomerOrders", "OrdersById", "OrderLineItems"}


def operation_name(api_request: dict) -> str:
    """The GraphQL operation a request to the double ran (``query Name(...)``)."""
    match = re.match(r"\s*(?:query|mutation)\s+(\w+)", (api_request.get("json") or {}).get("query", ""))
    return match.group(1) if match else "?"


def test_shopify_throttling_and_errors_are_retried_and_the_report_is_still_right(
        install_shop, post_webhook, run_worker, db_session, shopify_double):
    install_shop()
    run_worker()  # the install's own job (the banner's metafield) first: the failures below must meet the report's
    already = len(shopify_double.requests)
    shopify_double.fail_next("429", times=1, retry_after=0.05)
    shopify_double.fail_next("throttled", times=1)
    shopify_double.fail_next("500", times=1)
    shopify_double.fail_next("502", times=1)
    post_webhook("customers/data_request", data_request_body())
    run_worker()
    [privacy_request] = requests_in(db_session)
    assert privacy_request.status == "completed" and privacy_request.attempts == 1
    report = json.loads(report_row(db_session, privacy_request.id).json_document)
    assert report["customer"]["firstName"] == "Camille" and len(report["orders"]) == 2
    assert report["unavailable"] == []

    calls = shopify_double.requests[already:]
    failed = [call for call in calls if call.get("status") != 200 or "THROTTLED" in call.get("error_codes", ())]
    assert [call.get("status") for call in failed] == [429, 200, 500, 502]
    assert {operation_name(call) for call in calls} <= REPORT_OPERATIONS
    for call in failed:  # each was sent again, and then answered
        later = calls[calls.index(call) + 1:]
        assert any(operation_name(again) == operation_name(call) and again.get("status") == 200
                   and not again.get("error_codes") for again in later), operation_name(call)


def test_uninstalled_shop_gets_a_report_of_what_we_hold(install_shop, post_webhook, run_worker, db_session):
    install_shop()
    add_consent(db_session)
    post_webhook("app/uninstalled", load_sample("app_uninstalled"))
    post_webhook("customers/data_request", data_request_body())
    run_worker()
    [privacy_request] = requests_in(db_session)
    assert privacy_request.status == "completed"
    report = json.loads(report_row(db_session, privacy_request.id).json_document)
    assert report["customer"] is None and report["orders"] == []
    assert len(report["held_by_this_app"]["consent_records"]) == 1
    assert report["unavailable"][0]["source"] == "shopify" and "uninstalled" in report["unavailable"][0]["reason"]


def test_a_revoked_token_gets_a_report_of_what_we_hold(install_shop, post_webhook, run_worker, db_session,
                                                      shopify_double, settings):
    install_shop()
    add_consent(db_session)
    shopify_double.tokens.revoke_access_tokens(DEMO_SHOP)  # uninstalled; app/uninstalled not here yet
    post_webhook("customers/data_request", data_request_body())
    run_worker()
    [privacy_request] = requests_in(db_session)
    # Tried again in case the refusal passes; the last attempt compiles what we hold.
    assert privacy_request.status == "completed"
    assert privacy_request.attempts == len(settings.job_retry_intervals) + 1
    report = json.loads(report_row(db_session, privacy_request.id).json_document)
    assert report["customer"] is None and report["orders"] == []
    assert len(report["held_by_this_app"]["consent_records"]) == 1
    [unavailable] = report["unavailable"]
    assert unavailable["source"] == "shopify" and "refused" in unavailable["reason"]


def test_a_job_that_keeps_failing_ends_failed_with_a_reason_and_can_be_retried(
        install_shop, post_webhook, run_worker, db_session, shopify_double, settings, redis_conn):
    install_shop()
    shopify_double.fail_next("500", times=100)
    post_webhook("customers/data_request", data_request_body())
    run_worker()
    [privacy_request] = requests_in(db_session)
    assert privacy_request.status == "failed"
    assert "HTTP 500" in privacy_request.failure_reason
    assert privacy_request.attempts == len(settings.job_retry_intervals) + 1
    [failed_job] = FailedJobRegistry(queue=queue.get_queue(redis_conn), serializer=JSONSerializer).get_job_ids()
    stored = Job.fetch(failed_job, connection=redis_conn, serializer=JSONSerializer).latest_result()
    assert stored.exc_string.rstrip().endswith(f"JobFailedError: {privacy_request.failure_reason}")

    shopify_double.clear_failures()
    privacy_request.status = "received"
    db_session.commit()
    assert queue.enqueue_privacy_request(redis_conn, settings, privacy_request.id, privacy_request.kind)
    run_worker()
    [privacy_request] = requests_in(db_session)
    assert privacy_request.status == "completed" and privacy_request.failure_reason is None


def test_customer_redact_erases_everything_about_the_customer_and_is_idempotent(
        install_shop, post_webhook, run_worker, db_session):
    install_shop()
    add_consent(db_session, customer_id=1001, visitor_id="v-camille")
    add_consent(db_session, customer_id=None, visitor_id="v-camille")  # same browser before logging in
    add_consent(db_session, customer_id=1002, visitor_id="v-lucas")
    add_consent(db_session, customer_id=1002, visitor_id="v-camille")  # Lucas logged in on her browser: his
    post_webhook("customers/data_request", data_request_body())
    run_worker()

    [data_request] = requests_in(db_session)
    data_request.note = "Camille Dubois a appelé le 3 mars"  # the merchant's note names her
    shop_id = data_request.shop_id
    for customer_id in (1001, 1002):  # on the retention list (customers inactive for years)
        db_session.add(RetentionDueCustomer(shop_id=shop_id, customer_id=customer_id,
                                            shopify_updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    for email in ("Camille.Dubois@example.fr", "lucas@example.fr"):  # storefront requests never confirmed
        db_session.add(StorefrontRequest(shop_id=shop_id, right="access", email=email, message="Bonjour"))
    db_session.commit()

    body = load_sample("customers_redact")
    post_webhook("customers/redact", body, webhook_id="redact-1")
    run_worker()
    requests = requests_in(db_session)
    assert [r.status for r in requests] == ["completed", "completed"]
    assert all(r.customer_email is None and r.customer_phone is None and r.customer_id is None for r in requests)
    assert all(r.note is None for r in requests)
    assert [r.customer_id for r in db_session.scalars(select(RetentionDueCustomer))] == [1002]
    assert [r.email for r in db_session.scalars(select(StorefrontRequest))] == ["lucas@example.fr"]
    assert db_session.scalar(select(func.count()).select_from(PrivacyReport)) == 0
    remaining = db_session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert [(r.customer_id, r.visitor_id) for r in remaining] == [(1002, "v-lucas"), (1002, "v-camille")]

    proof = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "data.erased")).one().detail
    assert proof["counts"]["consent_records_deleted"] == 2 and proof["counts"]["reports_deleted"] == 1
    email_hash = proof["identifiers"]["email"]
    assert salted_hash("camille.dubois@example.fr", email_hash["salt"]) == email_hash
    assert "camille" not in json.dumps(proof).lower()

    assert post_webhook("customers/redact", body, webhook_id="redact-2").status_code == 200  # sent again
    run_worker()
    assert [r.status for r in requests_in(db_session)] == ["completed", "completed", "completed"]
    assert len(db_session.scalars(select(ConsentRecord)).all()) == 2


class Background(threading.Thread):
    """A function run in a thread; :meth:`result` joins it and raises what it raised."""

    def __init__(self, function: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self._function = function
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._function()
        except BaseException as exc:  # noqa: BLE001 (handed to the test's thread)
            self._error = exc

    def result(self, timeout: float = 30) -> None:
        self.join(timeout)
        assert not self.is_alive(), "the background work did not finish"
        if self._error is not None:
            raise self._error


def queue_report_and_erasure(install_shop, post_webhook, run_worker, db_session) -> tuple[int, int]:
    """A data request and then an erasure of the same customer, both queued: their request ids."""
    install_shop()
    run_worker()  # the installation's own jobs, so that the next run starts with the report job
    assert post_webhook("customers/data_request", data_request_body()).status_code == 200
    assert post_webhook("customers/redact", load_sample("customers_redact")).status_code == 200
    data_request, redact = requests_in(db_session)
    return data_request.id, redact.id


def assert_erased_without_report(db_session, data_request_id: int) -> None:
    data_request = next(r for r in requests_in(db_session) if r.id == data_request_id)
    assert (data_request.customer_id, data_request.customer_email, data_request.customer_phone) == (None, None, None)
    assert db_session.scalar(select(func.count()).select_from(PrivacyReport)) == 0


def test_an_erasure_committed_while_the_report_job_reads_shopify_wins(
        install_shop, post_webhook, run_worker, db_session, shopify_double):
    """The report job reads Shopify outside any transaction, for seconds; the customer's erasure may commit
    meanwhile, and the report must not bring the erased data back."""
    data_request_id, redact_id = queue_report_and_erasure(install_shop, post_webhook, run_worker, db_session)
    hold = shopify_double.hold_graphql()

    def erase_while_shopify_is_read() -> None:
        try:
            assert hold.arrived.wait(10), "the report job did not read Shopify"
            privacy_jobs.erase_customer_data(redact_id)  # another worker's job, run to its end
        finally:
            hold.release()

    eraser = Background(erase_while_shopify_is_read)
    eraser.start()
    run_worker()  # the report job, held at its first read, then the erasure's own job (already done: skipped)
    eraser.result()

    assert_erased_without_report(db_session, data_request_id)
    data_request, redact = requests_in(db_session)
    assert (data_request.status, data_request.outcome) == ("closed", "erased")
    assert redact.status == "completed"
    actions = db_session.scalars(select(AuditEntry.action).where(AuditEntry.privacy_request_id == data_request_id)
                                 .order_by(AuditEntry.id)).all()
    assert actions[-1] == "request.closed" and "report.compiled" not in actions


def sessions_waiting_for_a_lock(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                       "AND datname = current_database()")).scalar_one()


def test_an_erasure_started_while_the_report_is_written_erases_it(
        install_shop, post_webhook, run_worker, db_session, settings):
    """The other order: the report job is inside its write transaction when the erasure starts. The erasure
    waits for it, then deletes the report (on SQLite the two transactions cannot overlap)."""
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's writers take the database lock first, so they never overlap")
    data_request_id, redact_id = queue_report_and_erasure(install_shop, post_webhook, run_worker, db_session)
    report_written, erasure_waits = threading.Event(), threading.Event()
    worker_thread = threading.get_ident()

    def hold_after_the_report_insert(conn, cursor, statement, parameters, context, executemany) -> None:
        if threading.get_ident() == worker_thread and statement.startswith("INSERT INTO privacy_reports"):
            report_written.set()
            erasure_waits.wait(10)

    def erase_while_the_report_is_written() -> None:
        assert report_written.wait(10), "the report job wrote no report"
        eraser = Background(lambda: privacy_jobs.erase_customer_data(redact_id))
        eraser.start()
        try:
            wait_for(lambda: sessions_waiting_for_a_lock(db_session.get_bind()), timeout=10)
        finally:
            erasure_waits.set()
        eraser.result()

    event.listen(Engine, "after_cursor_execute", hold_after_the_report_insert)
    try:
        watcher = Background(erase_while_the_report_is_written)
        watcher.start()
        run_worker()
        watcher.result()
    finally:
        event.remove(Engine, "after_cursor_execute", hold_after_the_report_insert)

    assert_erased_without_report(db_session, data_request_id)
    assert [r.status for r in requests_in(db_session)] == ["completed", "completed"]  # the report, then erased
    proof = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "data.erased")).one()
    assert proof.detail["counts"]["reports_deleted"] == 1


SHOP_TABLES = (Shop, ShopSettings, BannerConfig, PrivacyRequest, PrivacyReport, ConsentRecord, AuditEntry,
               StorefrontRequest, RetentionScan, RetentionErasureBatch, RetentionDueCustomer)
"""Every table that holds a shop's rows (webhook deliveries keep only their ids, without the shop)."""


def count_rows(db_session) -> dict[str, int]:
    db_session.rollback()  # a fresh snapshot: SQLite transactions see the state at their start
    return {model.__tablename__: db_session.scalar(select(func.count()).select_from(model)) for model in SHOP_TABLES}


def test_shop_redact_leaves_only_a_tombstone_and_is_idempotent(install_shop, post_webhook, run_worker, db_session,
                                                               redis_conn, settings):
    install_shop()
    add_consent(db_session)
    post_webhook("customers/data_request", data_request_body())
    run_worker()
    shop = db_session.scalars(select(Shop)).one()
    if db_session.get(BannerConfig, shop.id) is None:
        db_session.add(BannerConfig(shop_id=shop.id, config={}))
    db_session.add(StorefrontRequest(shop_id=shop.id, right="access", email="camille.dubois@example.fr",
                                     message="Mes données, s'il vous plaît"))
    db_session.add(RetentionScan(shop_id=shop.id, cutoff=dt.datetime(2023, 1, 1, tzinfo=dt.UTC)))
    batch = RetentionErasureBatch(shop_id=shop.id, actor="merchant")
    db_session.add(batch)
    db_session.flush()
    db_session.add(RetentionDueCustomer(shop_id=shop.id, customer_id=1002,
                                        shopify_updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                                        batch_id=batch.id))
    db_session.commit()
    assert all(count_rows(db_session).values()), count_rows(db_session)

    post_webhook("shop/redact", load_sample("shop_redact"), webhook_id="shop-redact-1")
    [shop_redact_id] = [r.id for r in requests_in(db_session) if r.kind == "shop_redact"]
    run_worker()
    assert not any(count_rows(db_session).values()), count_rows(db_session)
    tombstone = db_session.scalars(select(ShopTombstone)).one()
    assert tombstone.shop_domain_hash == domain_hash(DEMO_SHOP)
    assert tombstone.counts["consent_records"] == 1 and tombstone.counts["privacy_requests"] == 2
    # Delivery ids outlive the shop (no personal data) so a redelivery stays a no-op.
    assert db_session.scalar(select(func.count()).select_from(WebhookDelivery)) == 2

    # The job run again (queued by the sweeper before it ran, say): it finds nothing and changes nothing.
    assert queue.enqueue_privacy_request(redis_conn, settings, shop_redact_id, "shop_redact")
    run_worker()
    assert not any(count_rows(db_session).values())
    assert db_session.scalar(select(func.count()).select_from(ShopTombstone)) == 1

    assert post_webhook("shop/redact", load_sample("shop_redact"), webhook_id="shop-redact-1").status_code == 200
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(Shop)) == 0  # a redelivery brings nothing back
    post_webhook("shop/redact", load_sample("shop_redact"), webhook_id="shop-redact-2")
    run_worker()
    db_session.rollback()  # a fresh snapshot: SQLite transactions see the state at their start
    assert db_session.scalar(select(func.count()).select_from(Shop)) == 0
    assert db_session.scalar(select(func.count()).select_from(PrivacyRequest)) == 0


def shopify_time(moment: dt.datetime) -> str:
    """``X-Shopify-Triggered-At`` for ``moment``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def test_deliveries_triggered_before_a_shop_was_erased_store_nothing(
        install_shop, post_webhook, run_worker, db_session, redis_conn):
    install_shop()
    post_webhook("shop/redact", load_sample("shop_redact"))
    run_worker()
    before = shopify_time(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))  # sent late, or retried
    late = {"customers/redact": load_sample("customers_redact"), "customers/data_request": data_request_body(),
            "app/uninstalled": load_sample("app_uninstalled"), "shop/redact": load_sample("shop_redact")}
    for topic, body in late.items():  # new webhook ids, delivered after the shop's data was erased
        assert post_webhook(topic, body, webhook_id=f"late-{topic}", triggered_at=before).status_code == 200
    assert post_webhook("customers/redact", load_sample("customers_redact"), webhook_id="late-customers/redact",
                        triggered_at=before).status_code == 200  # and a redelivery

    db_session.rollback()  # a fresh snapshot: SQLite transactions see the state at their start
    for model in (Shop, ShopSettings, PrivacyRequest, AuditEntry):
        assert db_session.scalar(select(func.count()).select_from(model)) == 0, model
    assert db_session.scalar(select(func.count()).select_from(ShopTombstone)) == 1
    stored = db_session.scalars(select(WebhookDelivery).where(WebhookDelivery.webhook_id.like("late-%"))).all()
    assert sorted(d.topic for d in stored) == sorted(late)  # stored once each, so redeliveries stay duplicates
    assert all(d.shop_id is None and d.privacy_request_id is None for d in stored)
    assert all(queue.get_queue(redis_conn, name).count == 0 for name in queue.QUEUE_NAMES)  # no job

    install_shop()  # the merchant installs the app again: a shop like any other, whenever Shopify triggered it
    assert post_webhook("customers/redact", load_sample("customers_redact"), triggered_at=before).status_code == 200
    run_worker()
    [privacy_request] = requests_in(db_session)
    assert (privacy_request.kind, privacy_request.status) == ("customer_redact", "completed")


def test_a_delivery_triggered_after_the_erasure_is_a_shop_that_installed_again(
        install_shop, post_webhook, run_worker, db_session):
    """Installed again, and a delivery arrives before the merchant opens the app (which creates the shop row)."""
    install_shop()
    post_webhook("shop/redact", load_sample("shop_redact"))
    run_worker()
    after = shopify_time(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert post_webhook("customers/data_request", data_request_body(), triggered_at=after).status_code == 200
    run_worker()
    [privacy_request] = requests_in(db_session)
    assert (privacy_request.kind, privacy_request.status) == ("data_request", "completed")
    assert db_session.scalar(select(func.count()).select_from(Shop)) == 1
