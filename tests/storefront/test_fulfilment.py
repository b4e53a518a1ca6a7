"""The merchant fulfils storefront requests: each right calls the right Shopify mutation, and every step is audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from shopify_app.models import AuditEntry, PrivacyRequest, StorefrontRequest, utcnow
from shopify_app.services.months import add_months
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.signing import json_body
from tests.storefront.helpers import auth, link_in, outbox, proxy_get, proxy_post, token_of


def logged_in_request(client, db_session, right: str, customer_id: int = 1001, **form: str) -> int:
    response = proxy_post(client, "/proxy/requests", {"right": right, "email": "camille.dubois@example.fr", **form},
                          customer_id=customer_id)
    assert response.status_code == 200, response.text
    db_session.rollback()
    return db_session.scalars(select(PrivacyRequest.id).order_by(PrivacyRequest.id.desc())).first()


def guest_request(client, db_session, settings, right: str, email: str, **form: str) -> int:
    before = len(outbox(settings))
    assert proxy_post(client, "/proxy/requests", {"right": right, "email": email, **form}).status_code == 200
    token = token_of(link_in(outbox(settings)[before]))
    assert proxy_post(client, "/proxy/confirm", {"token": token}).status_code == 200
    db_session.rollback()
    return db_session.scalars(select(PrivacyRequest.id).order_by(PrivacyRequest.id.desc())).first()


def actions(db_session, privacy_request_id: int) -> list[str]:
    db_session.rollback()
    return [e.action for e in db_session.scalars(select(AuditEntry).where(
        AuditEntry.privacy_request_id == privacy_request_id).order_by(AuditEntry.id))]


def fulfil(client, privacy_request_id: int, step: str, body: dict | None = None, shop: str = DEMO_SHOP):
    return client.post(f"/api/privacy-requests/{privacy_request_id}/fulfilment/{step}", json=body or {},
                       headers=auth(shop))


def test_access_logged_in_compiles_then_emails_a_link_that_works_a_few_times(client, install_shop, db_session,
                                                                            settings, run_worker):
    install_shop()
    request_id = logged_in_request(client, db_session, "access")
    started = fulfil(client, request_id, "access", {"delivery": "email"})
    assert started.status_code == 202 and started.json()["status"] == "processing"
    run_worker()  # the compile job, then the link email that depends on it
    db_session.rollback()
    request = db_session.get(PrivacyRequest, request_id)
    assert request.status == "completed"
    message = outbox(settings)[-1]
    assert message["To"] == "camille.dubois@example.fr" and "7 days" in message.get_content()
    link = link_in(message)
    assert link.startswith("https://demo-shop.myshopify.com/apps/privacy/report?token=")
    token = token_of(link)

    # Opening the link (as a mail scanner does) shows the download buttons and uses up nothing.
    for _ in range(4):
        page = proxy_get(client, "/proxy/report", extra={"token": token})
        assert page.status_code == 200 and "3 downloads" in page.text and "Camille" not in page.text
    html = proxy_post(client, "/proxy/report", {"token": token, "format": "html"})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "attachment" in html.headers["content-disposition"] and "Camille" in html.text
    as_json = proxy_post(client, "/proxy/report", {"token": token, "format": "json"})
    assert json.loads(as_json.text)["customer"]["id"] == "gid://shopify/Customer/1001"
    assert proxy_post(client, "/proxy/report", {"token": token}).status_code == 200
    assert proxy_post(client, "/proxy/report", {"token": token}).status_code == 410  # three downloads at most
    assert proxy_get(client, "/proxy/report", extra={"token": token}).status_code == 410
    assert proxy_post(client, "/proxy/report", {"token": "guess"}).status_code == 410
    assert proxy_post(client, "/proxy/report", {"token": token, "format": "xml"}).status_code == 400
    assert actions(db_session, request_id) == [
        "request.received", "shopper.notified", "access.started", "job.started", "report.compiled",
        "report.link_sent", "report.downloaded", "report.downloaded", "report.downloaded"]

    closed = fulfil(client, request_id, "close", {"outcome": "answered"})
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert "closed: answered" in outbox(settings)[-1].get_content()


def test_an_expired_report_link_is_refused(client, install_shop, db_session, run_worker, settings):
    install_shop()
    request_id = logged_in_request(client, db_session, "access")
    fulfil(client, request_id, "access", {"delivery": "email"})
    run_worker()
    token = token_of(link_in(outbox(settings)[-1]))
    db_session.rollback()
    row = db_session.scalars(select(StorefrontRequest)).one()
    assert row.report_token_expires_at - row.report_link_sent_at == dt.timedelta(days=7)
    row.report_token_expires_at = utcnow() - dt.timedelta(seconds=1)
    db_session.commit()
    assert proxy_get(client, "/proxy/report", extra={"token": token}).status_code == 410
    assert proxy_post(client, "/proxy/report", {"token": token, "format": "json"}).status_code == 410


def test_access_for_a_guest_is_matched_by_verified_email_and_may_be_downloaded_by_the_merchant(
        client, install_shop, db_session, settings, run_worker):
    install_shop()
    request_id = guest_request(client, db_session, settings, "access", "lucas.martin@example.fr")
    mails_before = len(outbox(settings))
    assert fulfil(client, request_id, "access", {"delivery": "merchant"}).status_code == 202
    run_worker()
    db_session.rollback()
    assert db_session.get(PrivacyRequest, request_id).customer_id == 1002  # found by the confirmed address
    report = client.get(f"/api/privacy-requests/{request_id}/report", params={"format": "json"}, headers=auth())
    assert report.status_code == 200 and json.loads(report.text)["customer"]["firstName"] == "Lucas"
    assert len(outbox(settings)) == mails_before  # no link: the merchant answers themselves
    assert fulfil(client, request_id, "access", {"delivery": "email"}).status_code == 409  # already compiled


def test_erasure_asks_shopify_erases_ours_at_once_and_shopifys_redact_closes_it(
        client, install_shop, db_session, settings, shopify_double, post_webhook, run_worker):
    install_shop()
    request_id = guest_request(client, db_session, settings, "erasure", "camille.dubois@example.fr")
    shopify_double.reset_records()
    response = fulfil(client, request_id, "erase")
    assert response.status_code == 200, response.text
    proof = response.json()["proof"]
    [mutation] = shopify_double.mutations
    assert (mutation.field, mutation.variables) == ("customerRequestDataErasure",
                                                    {"customerId": "gid://shopify/Customer/1001"})
    assert shopify_double.erasure_requested(DEMO_SHOP, 1001)
    assert proof["shopify"] == {"customer_found": True, "erasure": "requested"}
    kept = {item["what"]: item for item in proof["kept"]}
    assert "L123-22" in kept["orders_and_invoices:2"]["why"] and "erasure_proof" in kept
    erased_mail = outbox(settings)[-1]
    assert erased_mail["To"] == "camille.dubois@example.fr" and "L123-22" in erased_mail.get_content()
    db_session.rollback()
    request = db_session.get(PrivacyRequest, request_id)
    assert request.status == "completed" and request.customer_email is None and request.customer_id is None
    row = db_session.scalars(select(StorefrontRequest)).one()
    assert row.email is None and row.message is None and row.customer_ref
    assert fulfil(client, request_id, "erase").status_code == 409  # not twice

    # Shopify carries out the erasure later and sends customers/redact: the same request, now closed.
    body = json_body({"shop_id": 1, "shop_domain": DEMO_SHOP, "customer": {"id": 1001, "email": None},
                      "orders_to_redact": [5001]})
    assert post_webhook("customers/redact", body).status_code == 200
    run_worker()
    db_session.rollback()
    assert [r.id for r in db_session.scalars(select(PrivacyRequest))] == [request_id]
    request = db_session.get(PrivacyRequest, request_id)
    assert (request.status, request.outcome) == ("closed", "erased")
    assert actions(db_session, request_id)[-4:] == ["shopper.notified", "data.erased", "webhook.received",
                                                    "request.closed"]


def test_erasure_of_an_address_shopify_does_not_know_erases_ours_only(client, install_shop, db_session, settings,
                                                                      shopify_double):
    install_shop()
    request_id = guest_request(client, db_session, settings, "erasure", "stranger@example.org")
    shopify_double.reset_records()
    proof = fulfil(client, request_id, "erase").json()["proof"]
    assert shopify_double.mutations == [] and proof["shopify"] == {"customer_found": False}
    assert [k["what"] for k in proof["kept"]] == ["erasure_proof"]


@pytest.mark.parametrize(("channel", "field", "consent_key"), [
    ("email", "customerEmailMarketingConsentUpdate", "emailMarketingConsent"),
    ("sms", "customerSmsMarketingConsentUpdate", "smsMarketingConsent"),
])
def test_an_objection_unsubscribes_the_customer_in_shopify(client, install_shop, db_session, settings,
                                                           shopify_double, channel, field, consent_key):
    install_shop()
    request_id = logged_in_request(client, db_session, "objection", channel=channel)
    shopify_double.reset_records()
    response = fulfil(client, request_id, "objection")
    assert response.status_code == 200, response.text
    assert response.json()["marketing_states"] == {channel: "UNSUBSCRIBED"}
    [mutation] = shopify_double.mutations
    assert mutation.field == field
    assert mutation.variables == {"input": {"customerId": "gid://shopify/Customer/1001",
                                            consent_key: {"marketingState": "UNSUBSCRIBED"}}}
    customer = shopify_double.customer(DEMO_SHOP, 1001)
    state = (customer["defaultEmailAddress"]["marketingState"] if channel == "email"
             else customer["defaultPhoneNumber"]["smsMarketingConsent"]["state"])
    assert state == "UNSUBSCRIBED"
    assert actions(db_session, request_id)[-2:] == ["marketing.objection_applied", "shopper.notified"]


def test_shopify_refusals_are_shown_and_change_nothing(client, install_shop, db_session, settings, shopify_double):
    install_shop()
    # Léa (1003) has no phone number: Shopify refuses an SMS consent change.
    request_id = logged_in_request(client, db_session, "objection", customer_id=1003, channel="sms")
    response = fulfil(client, request_id, "objection")
    assert response.status_code == 422 and response.json()["user_errors"]
    db_session.rollback()
    assert db_session.get(PrivacyRequest, request_id).status == "received"
    stranger = guest_request(client, db_session, settings, "objection", "stranger@example.org", channel="email")
    assert fulfil(client, stranger, "objection").status_code == 409


@pytest.mark.parametrize("right", ["rectification", "post_mortem_directive"])
def test_rectifications_and_directives_are_recorded_with_a_link_to_the_customer(client, install_shop, db_session,
                                                                                settings, right):
    install_shop()
    extra = {"correction": "My last name is Dubois-Lefèvre"} if right == "rectification" else {}
    request_id = logged_in_request(client, db_session, right, **extra)
    details = client.get(f"/api/privacy-requests/{request_id}/fulfilment", headers=auth()).json()
    assert details["customer_admin_url"] == "https://admin.shopify.com/store/demo-shop/customers/1001"
    assert details["correction"] == extra.get("correction") and details["verified_by"] == "login"
    assert fulfil(client, request_id, "record", {}).status_code == 422  # what was done is required
    response = fulfil(client, request_id, "record", {"note": "Updated the name in Shopify admin."})
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert f"{right}.recorded" in actions(db_session, request_id)
    assert fulfil(client, request_id, "close", {}).status_code == 422  # closing asks for the outcome
    assert fulfil(client, request_id, "close", {"outcome": "answered"}).json()["outcome"] == "answered"


def test_closing_from_the_request_page_tells_the_shopper_too(client, install_shop, db_session, settings):
    # The request page's Close form posts to /api/…/close, not to the fulfilment panel's URL; the shopper
    # must hear of the outcome either way (they were once only told through the panel).
    install_shop()
    request_id = logged_in_request(client, db_session, "access")
    sent = len(outbox(settings))
    response = client.post(f"/api/privacy-requests/{request_id}/close", json={"outcome": "other", "note": "Contract."},
                           headers=auth())
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert len(outbox(settings)) == sent + 1
    message = outbox(settings)[-1]
    assert message["To"] == "camille.dubois@example.fr" and "Contract." in message.get_content()
    assert actions(db_session, request_id)[-2:] == ["request.closed", "shopper.notified"]


def test_the_deadline_extends_by_two_months_at_most_with_a_reason_sent_to_the_shopper(client, install_shop,
                                                                                      db_session, settings):
    install_shop()
    request_id = logged_in_request(client, db_session, "access")
    assert fulfil(client, request_id, "extend", {"months": 1}).status_code == 422  # a reason is required
    assert fulfil(client, request_id, "extend", {"months": 3, "reason": "x"}).status_code == 422
    response = fulfil(client, request_id, "extend", {"months": 1, "reason": "Twelve years of orders to gather."})
    assert response.status_code == 200
    db_session.rollback()
    request = db_session.get(PrivacyRequest, request_id)
    assert request.due_at == add_months(request.received_at, 2)
    notice = outbox(settings)[-1]
    assert notice["To"] == "camille.dubois@example.fr" and "Twelve years of orders to gather." in notice.get_content()
    assert fulfil(client, request_id, "extend", {"months": 2, "reason": "More."}).status_code == 409  # 3 in all
    assert fulfil(client, request_id, "extend", {"months": 1, "reason": "Still gathering."}).status_code == 200
    db_session.rollback()
    assert db_session.get(PrivacyRequest, request_id).due_at == add_months(request.received_at, 3)
    entries = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "request.extended")).all()
    assert [e.detail["reason"] for e in entries] == ["Twelve years of orders to gather.", "Still gathering."]

    late = logged_in_request(client, db_session, "erasure")
    row = db_session.get(PrivacyRequest, late)
    row.received_at = utcnow() - dt.timedelta(days=40)  # the first month is over
    db_session.commit()
    assert fulfil(client, late, "extend", {"months": 1, "reason": "Too late."}).status_code == 409


def test_fulfilment_is_scoped_to_the_shop_and_to_storefront_requests(client, install_shop, db_session, settings,
                                                                     post_webhook):
    install_shop()
    install_shop(OTHER_SHOP)
    request_id = logged_in_request(client, db_session, "erasure")
    for step in ("erase", "extend", "record", "close"):
        valid = {"months": 1, "reason": "r", "note": "n", "outcome": "answered"}
        assert fulfil(client, request_id, step, valid, shop=OTHER_SHOP).status_code == 404
    assert client.get(f"/api/privacy-requests/{request_id}/fulfilment", headers=auth(OTHER_SHOP)).status_code == 404
    assert client.post(f"/api/privacy-requests/{request_id}/fulfilment/erase").status_code == 401
    assert fulfil(client, request_id, "objection").status_code == 409  # not an objection
    post_webhook("customers/data_request", json_body({"shop_id": 1, "shop_domain": DEMO_SHOP, "orders_requested": [],
                                                      "customer": {"id": 1002, "email": "x@example.fr"},
                                                      "data_request": {"id": 77}}))
    db_session.rollback()
    webhook_request = db_session.scalars(select(PrivacyRequest).where(PrivacyRequest.source == "webhook")).one()
    assert fulfil(client, webhook_request.id, "access", {"delivery": "email"}).status_code == 409


def test_the_sweeper_leaves_waiting_requests_alone_and_recovers_a_lost_access_job(client, install_shop, db_session,
                                                                                   settings, redis_conn, run_worker):
    from workers.fulfilment import queue_owed_report_links
    from workers.maintenance import sweep_pending_requests

    install_shop()
    waiting = logged_in_request(client, db_session, "erasure")
    request_id = logged_in_request(client, db_session, "access")
    assert sweep_pending_requests()["queued"] == 0  # storefront requests wait for the merchant: no job
    fulfil(client, request_id, "access", {"delivery": "email"})
    redis_conn.flushall()  # Redis restarts empty: the compile job and the link job are gone
    assert sweep_pending_requests()["queued"] == 1
    run_worker()
    db_session.rollback()
    assert db_session.get(PrivacyRequest, request_id).status == "completed"
    assert db_session.get(PrivacyRequest, waiting).status == "received"
    assert queue_owed_report_links() == {"owed": 1, "queued": 1}  # the hourly check
    run_worker()
    assert "/apps/privacy/report?token=" in link_in(outbox(settings)[-1])
    assert queue_owed_report_links() == {"owed": 0, "queued": 0}
    stored = b" ".join(redis_conn.keys("*")).lower() + b" ".join(
        v for k in redis_conn.keys("rq:job:*") for v in redis_conn.hgetall(k).values())
    assert b"camille" not in stored and b"@example" not in stored  # ids only in Redis
