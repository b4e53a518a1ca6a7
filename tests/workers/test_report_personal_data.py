"""What a subject-access report holds (GDPR art. 15): signed webhook → real RQ worker → the double over HTTP.

Everything Shopify has on the customer, however many pages it takes, and everything this app stores about
them; what could not be read is named in ``unavailable``, never left out silently.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
from typing import Any

from markupsafe import escape
from sqlalchemy import select

from devtools.admin_double.data import gid_number
from shopify_app.models import (
    PrivacyReport,
    PrivacyRequest,
    RetentionDueCustomer,
    Shop,
    StorefrontRequest,
    utcnow,
)
from shopify_app.services import report_rendering
from tests.conftest import DEMO_SHOP
from tests.signing import json_body

CAMILLE = {"id": 1001, "email": "camille.dubois@example.fr", "phone": "+33612345678"}  # as seeded in the double
ADDRESSES = 300  # 25 read with the customer, then pages of 250: two more pages
DATA_REQUEST_ID = 9999  # Shopify's


def data_request_body(customer: dict[str, Any]) -> bytes:
    return json_body({"shop_id": 954889, "shop_domain": DEMO_SHOP, "orders_requested": [], "customer": customer,
                      "data_request": {"id": DATA_REQUEST_ID}})


def compile_report(post_webhook, run_worker, db_session, customer: dict[str, Any]) -> PrivacyReport:
    assert post_webhook("customers/data_request", data_request_body(customer)).status_code == 200
    run_worker()
    db_session.rollback()  # a fresh snapshot: SQLite transactions see the state at their start
    privacy_request = db_session.scalars(select(PrivacyRequest).where(
        PrivacyRequest.shopify_request_id == str(DATA_REQUEST_ID))).one()
    assert privacy_request.status == "completed", privacy_request.failure_reason
    return db_session.scalars(select(PrivacyReport).where(PrivacyReport.privacy_request_id == privacy_request.id)
                              ).one()


def operation_name(api_request: dict[str, Any]) -> str:
    match = re.match(r"\s*(?:query|mutation)\s+(\w+)", (api_request.get("json") or {}).get("query", ""))
    return match.group(1) if match else "?"


def add_nomad(shopify_double) -> dict[str, Any]:
    """A customer without orders (so the merchant may delete her) who has lived at many addresses."""
    return shopify_double.add_customer(DEMO_SHOP, first_name="Nadia", last_name="Errante", email="nadia@example.fr",
                                       addresses=[{"first_name": "Nadia", "last_name": "Errante",
                                                   "address1": f"{n} Quai de la Loire", "city": "Paris",
                                                   "zip": "75019", "country": "France", "country_code": "FR"}
                                                  for n in range(1, ADDRESSES + 1)])


def payload_of(customer: dict[str, Any]) -> dict[str, Any]:
    return {"id": gid_number(customer["id"]), "email": customer["defaultEmailAddress"]["emailAddress"],
            "phone": None}


def test_a_customer_with_many_addresses_gets_them_all(install_shop, post_webhook, run_worker, db_session,
                                                      shopify_double):
    nomad = add_nomad(shopify_double)
    install_shop()
    shopify_double.reset_records()
    row = compile_report(post_webhook, run_worker, db_session, payload_of(nomad))

    report = json.loads(row.json_document)
    addresses = report["customer"]["addressesV2"]
    assert [a["address1"] for a in addresses["nodes"]] == [f"{n} Quai de la Loire" for n in range(1, ADDRESSES + 1)]
    assert addresses["pageInfo"] == {"hasNextPage": False, "endCursor": None}  # all there; no cursor to show
    assert report["unavailable"] == []
    calls = [operation_name(r) for r in shopify_double.requests if r["endpoint"] == "graphql"]
    assert calls.count("CustomerForReport") == 1 and calls.count("CustomerAddresses") == 2
    assert f"{ADDRESSES} Quai de la Loire" in row.html_document


def test_addresses_that_could_not_be_read_are_named(install_shop, post_webhook, run_worker, db_session,
                                                    shopify_double):
    nomad = add_nomad(shopify_double)
    install_shop()
    run_worker()  # the installation's own jobs: the next run is the report's
    address_pages = itertools.count()
    # The last page of addresses waits to be answered (counted only for that query, in the order asked).
    hold = shopify_double.hold_graphql(lambda body: "CustomerAddresses" in body["query"] and next(address_pages) == 1)
    deleted_before_the_answer: list[bool] = []

    def delete_her_while_the_last_page_is_asked_for() -> None:
        def last_page() -> dict[str, Any] | None:
            pages = [r for r in shopify_double.requests if operation_name(r) == "CustomerAddresses"]
            return pages[1] if len(pages) > 1 else None

        try:
            assert hold.arrived.wait(30), "the last page of addresses was never asked for"
            shopify_double.store.delete_customer(DEMO_SHOP, nomad["id"])  # by the merchant, in Shopify admin
            deleted_before_the_answer.append("status" not in last_page())
        finally:
            hold.release()

    merchant = threading.Thread(target=delete_her_while_the_last_page_is_asked_for, daemon=True)
    merchant.start()
    row = compile_report(post_webhook, run_worker, db_session, payload_of(nomad))
    merchant.join(30)
    assert deleted_before_the_answer == [True], "the customer was not deleted between the two pages"

    report = json.loads(row.json_document)
    addresses = report["customer"]["addressesV2"]
    assert len(addresses["nodes"]) == 25 + 250 and addresses["pageInfo"]["hasNextPage"] is True
    [unavailable] = report["unavailable"]
    assert unavailable["source"] == "shopify.customer.addressesV2"
    assert unavailable["reason"].startswith("Only the first 275 could be read. Shopify answered the next page")
    assert "Only the first 275 could be read." in row.html_document


def shop_id_of(db_session) -> int:
    db_session.rollback()
    return db_session.scalars(select(Shop.id).where(Shop.domain == DEMO_SHOP)).one()


def add_earlier_request(db_session, *, email: str | None = None, phone: str | None = None,
                        customer_id: int | None = None, source: str = "webhook", **fields: Any) -> PrivacyRequest:
    now = utcnow()
    request = PrivacyRequest(shop_id=shop_id_of(db_session), kind=fields.pop("kind", "access"), source=source,
                             status=fields.pop("status", "closed"), customer_id=customer_id, customer_email=email,
                             customer_phone=phone, received_at=now - dt.timedelta(days=90),
                             due_at=now - dt.timedelta(days=60), closed_at=now - dt.timedelta(days=70), **fields)
    db_session.add(request)
    db_session.commit()
    return request


def add_storefront_submission(db_session, privacy_request: PrivacyRequest | None, **fields: Any) -> None:
    """What a shopper sent through the storefront form: behind ``privacy_request``, or never confirmed (None)."""
    confirmed = privacy_request is not None
    db_session.add(StorefrontRequest(shop_id=shop_id_of(db_session),
                                     privacy_request_id=privacy_request.id if confirmed else None,
                                     status="confirmed" if confirmed else "unconfirmed", language="fr", **fields))
    db_session.commit()


def add_retention_entry(db_session, customer_id: int, *, days_listed: int = 3) -> None:
    now = utcnow()
    db_session.add(RetentionDueCustomer(shop_id=shop_id_of(db_session), customer_id=customer_id, status="due",
                                        shopify_created_at=now - dt.timedelta(days=2000),
                                        shopify_updated_at=now - dt.timedelta(days=1200),
                                        found_at=now - dt.timedelta(days=days_listed)))
    db_session.commit()


def test_everything_we_hold_about_her_is_in_the_report(install_shop, post_webhook, run_worker, db_session,
                                                       shopify_double):
    camille = shopify_double.customer(DEMO_SHOP, CAMILLE["id"])
    with shopify_double.store.lock:
        camille["note"] = "Préfère être livrée au bureau."
        camille["updatedAt"] = "2025-03-14T09:26:53Z"
    install_shop()
    rectified = add_earlier_request(db_session, email="Camille.Dubois@Example.fr", source="storefront",
                                    kind="rectification", note="Corrigé le nom de famille dans Shopify.")
    add_storefront_submission(db_session, rectified, right="rectification", email="Camille.Dubois@Example.fr",
                              message="Mon nom est mal écrit.\nMerci !", correction="Dubois, pas Dubios.",
                              handling_note="Nom corrigé dans la fiche client.")
    add_storefront_submission(db_session, None, right="access", email="camille.dubois@example.fr",
                              message="Je voudrais une copie de mes données.")  # never confirmed: no request yet
    add_storefront_submission(db_session, None, right="access", email="lucas.martin@example.fr",
                              message="Un autre client.")
    add_retention_entry(db_session, CAMILLE["id"])
    add_retention_entry(db_session, 1002)

    row = compile_report(post_webhook, run_worker, db_session, CAMILLE)
    report = json.loads(row.json_document)
    assert report["customer"]["note"] == "Préfère être livrée au bureau."
    assert report["customer"]["updatedAt"] == "2025-03-14T09:26:53Z"

    held = report["held_by_this_app"]
    earlier, current = held["privacy_requests"]
    assert (earlier["id"], earlier["email"], earlier["phone"], earlier["merchant_note"]) == (
        rectified.id, "Camille.Dubois@Example.fr", None, "Corrigé le nom de famille dans Shopify.")
    assert (current["customer_id"], current["email"], current["phone"], current["merchant_note"]) == (
        CAMILLE["id"], CAMILLE["email"], CAMILLE["phone"], None)
    sent = [{key: s[key] for key in ("request_id", "right", "status", "email", "message", "correction",
                                     "handling_note")} for s in held["storefront_requests"]]
    assert sent == [
        {"request_id": rectified.id, "right": "rectification", "status": "confirmed",
         "email": "Camille.Dubois@Example.fr", "message": "Mon nom est mal écrit.\nMerci !",
         "correction": "Dubois, pas Dubios.", "handling_note": "Nom corrigé dans la fiche client."},
        {"request_id": None, "right": "access", "status": "unconfirmed", "email": "camille.dubois@example.fr",
         "message": "Je voudrais une copie de mes données.", "correction": None, "handling_note": None},
    ]
    entry = held["retention_list_entry"]
    assert entry["status"] == "due" and entry["listed_at"][:10] == (utcnow() - dt.timedelta(days=3)).date().isoformat()
    assert entry["shopify_updated_at"] and entry["shopify_created_at"] and entry["erasure_requested_at"] is None
    assert "lucas" not in row.json_document.lower() and "Un autre client." not in row.json_document

    html = row.html_document  # French, the shop's primary language
    for text in ("Préfère être livrée au bureau.", "2025-03-14T09:26:53Z", "Note de la boutique",
                 "Corrigé le nom de famille dans Shopify.", "Mon nom est mal écrit.\nMerci !", "Dubois, pas Dubios.",
                 "Nom corrigé dans la fiche client.", "Je voudrais une copie de mes données.", CAMILLE["phone"],
                 "Clients inactifs", "Sur la liste depuis le", entry["listed_at"][:10]):
        assert escape(text) in html, text
    english = report_rendering.render_html(report, "en")
    for text in ("The shop's note", "What you sent through the shop's privacy form", "Correction asked for",
                 "What the shop did", "Inactive customers", "On the list since"):
        assert escape(text) in english, text


def test_an_earlier_request_with_only_her_phone_number_is_hers(install_shop, post_webhook, run_worker, db_session):
    install_shop()
    by_phone = add_earlier_request(db_session, phone=CAMILLE["phone"], note="Demande faite par téléphone.")
    add_storefront_submission(db_session, by_phone, right="access", email=None, message="Rappelez-moi svp.")
    add_earlier_request(db_session, phone="+33600000000", note="Quelqu'un d'autre.")

    report = json.loads(compile_report(post_webhook, run_worker, db_session, CAMILLE).json_document)
    held = report["held_by_this_app"]
    earlier, _current = held["privacy_requests"]
    assert (earlier["id"], earlier["phone"], earlier["email"], earlier["merchant_note"]) == (
        by_phone.id, CAMILLE["phone"], None, "Demande faite par téléphone.")
    assert [(s["request_id"], s["message"]) for s in held["storefront_requests"]] == [(by_phone.id,
                                                                                        "Rappelez-moi svp.")]
    assert held["retention_list_entry"] is None
    assert "Quelqu'un d'autre." not in json.dumps(report, ensure_ascii=False)



def test_a_request_of_another_customer_with_her_email_or_phone_is_not_hers(install_shop, post_webhook, run_worker,
                                                                           db_session):
    """A logged-in shopper may type anyone's email in the storefront form (it is not verified then), and a phone
    number may move to another customer: a request naming another customer id stays out of her report, and
    her erasure leaves it alone."""
    install_shop()
    other_customer = CAMILLE["id"] + 1
    typed_her_email = add_earlier_request(db_session, customer_id=other_customer, email=CAMILLE["email"].upper(),
                                          status="received", source="storefront", note="Le client 2 a écrit.")
    add_storefront_submission(db_session, typed_her_email, right="access", email=CAMILLE["email"],
                              message="Message du client 2.")
    add_earlier_request(db_session, customer_id=other_customer, phone=CAMILLE["phone"], note="Ancien numéro.")

    report = json.loads(compile_report(post_webhook, run_worker, db_session, CAMILLE).json_document)
    held = json.dumps(report["held_by_this_app"], ensure_ascii=False)
    assert [r["customer_id"] for r in report["held_by_this_app"]["privacy_requests"]] == [CAMILLE["id"]]
    assert "client 2" not in held and "Ancien numéro" not in held

    redact = {"shop_id": 954889, "shop_domain": DEMO_SHOP, "orders_to_redact": [],
              "customer": {"id": CAMILLE["id"], "email": CAMILLE["email"], "phone": CAMILLE["phone"]}}
    assert post_webhook("customers/redact", json_body(redact)).status_code == 200
    run_worker()
    db_session.rollback()
    theirs = db_session.scalars(select(PrivacyRequest).where(PrivacyRequest.customer_id == other_customer)
                                .order_by(PrivacyRequest.id)).all()
    assert [(r.customer_email, r.customer_phone, r.status) for r in theirs] == [
        (CAMILLE["email"].upper(), None, "received"), (None, CAMILLE["phone"], "closed")]
