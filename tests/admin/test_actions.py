"""The admin's write actions over HTTP: session token only, validation with clear messages, shop scoping, audit."""

from __future__ import annotations

import pytest
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from shopify_app.models import AuditEntry, PrivacyRequest, ShopSettings
from tests.admin.factories import add_request, bearer, page_params, shop_id
from tests.conftest import DEMO_SHOP, OTHER_SHOP


@pytest.fixture
def demo(install_shop, db_session) -> int:
    install_shop()
    return shop_id(db_session, DEMO_SHOP)


def fresh(db_session, request_id: int) -> PrivacyRequest:
    db_session.rollback()
    return db_session.get(PrivacyRequest, request_id)


def test_writes_need_a_session_token_not_a_cookie_or_the_page_token_in_the_query(client, demo):
    for method, path in (("POST", "/api/privacy-requests/1/retry"), ("POST", "/api/privacy-requests/1/close"),
                         ("PUT", "/api/settings")):
        for headers, params in (({}, {}), ({"Cookie": "session=anything"}, {}), ({}, page_params(DEMO_SHOP)),
                                ({"Authorization": "Bearer forged"}, {})):
            response = client.request(method, path, headers=headers, params=params, json={})
            assert response.status_code == 401, (method, path, headers)
            assert response.headers["X-Shopify-Retry-Invalid-Session-Request"] == "1"


def test_retry_puts_a_failed_request_back_and_queues_its_job(client, demo, db_session, redis_conn, run_worker):
    request_id = add_request(db_session, demo, status="failed", failure_reason="ShopifyApiError: 502", attempts=3)
    response = client.post(f"/api/privacy-requests/{request_id}/retry", headers=bearer(DEMO_SHOP), json={})
    assert response.status_code == 200, response.text
    assert response.json() == {"id": request_id, "status": "received", "queued": True,
                               "message": "The job was queued again."}
    job = Job.fetch(f"privacy-request-{request_id}", connection=redis_conn, serializer=JSONSerializer)
    assert job.func_name == "workers.privacy.compile_customer_data" and job.args == [request_id]
    row = fresh(db_session, request_id)
    assert row.status == "received" and row.failure_reason is None
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "request.retried")).one()
    assert entry.actor == "merchant:42" and entry.privacy_request_id == request_id

    run_worker()
    assert fresh(db_session, request_id).status == "completed"
    again = client.post(f"/api/privacy-requests/{request_id}/retry", headers=bearer(DEMO_SHOP), json={})
    assert again.status_code == 409 and again.json()["error"] == "Only a failed request can be retried."


def test_retry_with_redis_down_is_saved_for_the_sweeper(client, demo, db_session, redis_server):
    request_id = add_request(db_session, demo, status="failed")
    redis_server.stop()
    try:
        response = client.post(f"/api/privacy-requests/{request_id}/retry", headers=bearer(DEMO_SHOP), json={})
    finally:
        redis_server.start()
    assert response.status_code == 200 and response.json()["queued"] is False
    assert "within a minute" in response.json()["message"]
    assert fresh(db_session, request_id).status == "received"  # the sweeper queues every received request


def test_close_records_outcome_note_and_actor(client, demo, db_session):
    request_id = add_request(db_session, demo, status="completed")
    response = client.post(f"/api/privacy-requests/{request_id}/close", headers=bearer(DEMO_SHOP, sub="77"),
                           json={"outcome": "answered", "note": "  Sent by email on 28/11.  "})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "closed" and body["outcome"] == "answered" and body["closed_at"]
    row = fresh(db_session, request_id)
    assert (row.status, row.outcome, row.note) == ("closed", "answered", "Sent by email on 28/11.")
    assert row.closed_at is not None
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "request.closed")).one()
    assert entry.actor == "merchant:77"
    assert entry.detail == {"outcome": "answered", "previous_status": "completed", "with_note": True}
    assert "Sent by email" not in str(entry.detail)  # the note may name the customer: not in the audit log

    again = client.post(f"/api/privacy-requests/{request_id}/close", headers=bearer(DEMO_SHOP),
                        json={"outcome": "answered"})
    assert again.status_code == 409 and again.json()["error"] == "This request is already closed."


CLOSE_ERRORS = [
    ({}, {"outcome": "Choose an outcome from the list."}),
    ({"outcome": "deleted-everything"}, {"outcome": "Choose an outcome from the list."}),
    ({"outcome": "other", "note": "   "}, {"note": "Explain in the note how the request ended."}),
    ({"outcome": "answered", "note": "x" * 2001}, {"note": "The note must be at most 2000 characters."}),
    ({"outcome": "answered", "note": 12}, {"note": "The request body must be a JSON object."}),
]


def test_close_validation_says_what_is_wrong_per_field(client, demo, db_session):
    request_id = add_request(db_session, demo, status="completed")
    for body, fields in CLOSE_ERRORS:
        response = client.post(f"/api/privacy-requests/{request_id}/close", headers=bearer(DEMO_SHOP), json=body)
        assert response.status_code == 422, body
        assert response.json() == {"error": "Some fields need your attention.", "fields": fields}
    assert fresh(db_session, request_id).status == "completed"


def test_close_answers_in_french_and_refuses_a_running_job(client, demo, db_session):
    running = add_request(db_session, demo, status="processing")
    response = client.post(f"/api/privacy-requests/{running}/close", params={"locale": "fr-FR"},
                           headers=bearer(DEMO_SHOP), json={"outcome": "answered"})
    assert response.status_code == 409
    assert response.json()["error"].startswith("Le traitement est en cours")
    bad = client.post(f"/api/privacy-requests/{running}/close", params={"locale": "fr"},
                      headers={**bearer(DEMO_SHOP), "Content-Type": "application/json"}, content=b"[1, 2]")
    assert bad.status_code == 400 and bad.json()["error"] == "Le corps de la requête doit être un objet JSON."


def test_actions_on_another_shops_request_are_404_and_change_nothing(client, demo, db_session, install_shop):
    install_shop(OTHER_SHOP)
    failed = add_request(db_session, demo, status="failed")
    completed = add_request(db_session, demo, status="completed")
    assert client.post(f"/api/privacy-requests/{failed}/retry", headers=bearer(OTHER_SHOP), json={}).status_code == 404
    assert client.post(f"/api/privacy-requests/{completed}/close", headers=bearer(OTHER_SHOP),
                       json={"outcome": "answered"}).status_code == 404
    assert fresh(db_session, failed).status == "failed" and fresh(db_session, completed).status == "completed"
    assert db_session.scalars(select(AuditEntry).where(AuditEntry.actor.like("merchant:%"))).all() == []


def settings_form(**overrides: str) -> dict[str, str]:
    form = {
        "contact_email": "privacy@lepetitlunetier.com", "dpo_email": "", "report_language": "fr",
        "purposes_en": "Order management\nStatistics", "purposes_fr": "Gestion des commandes\nStatistiques",
        "data_categories_en": "Email address", "data_categories_fr": "",
        "recipients_en": "Shopify", "recipients_fr": "Shopify",
        "retention_en": "Three years", "retention_fr": "Trois ans",
        "consent_retention_months": "13", "request_retention_months": "36", "audit_retention_months": "60",
        "privacy_policy_text": "We ask for your consent before placing cookies.",
    }
    form.update(overrides)
    return form


def test_settings_are_saved_scoped_and_audited(client, demo, db_session, install_shop):
    install_shop(OTHER_SHOP)
    response = client.put("/api/settings", headers=bearer(DEMO_SHOP), json=settings_form(consent_retention_months="6"))
    assert response.status_code == 200, response.text
    assert response.json()["saved"] is True and "consent_retention_months" in response.json()["changed"]
    db_session.rollback()
    row = db_session.get(ShopSettings, demo)
    assert (row.contact_email, row.dpo_email, row.report_language) == ("privacy@lepetitlunetier.com", None, "fr")
    assert (row.consent_retention_months, row.request_retention_months, row.audit_retention_months) == (6, 36, 60)
    assert row.policy["purposes"] == [{"en": "Order management", "fr": "Gestion des commandes"},
                                      {"en": "Statistics", "fr": "Statistiques"}]
    assert row.policy["data_categories"] == [{"en": "Email address"}]  # French left empty: English is used
    assert row.policy["controller"] == "Le Petit Lunetier"  # keys the form does not edit are kept
    assert row.policy["privacy_policy_text"] == "We ask for your consent before placing cookies."
    other = db_session.get(ShopSettings, shop_id(db_session, OTHER_SHOP))
    assert other.contact_email is None and other.consent_retention_months == 13
    entry = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "settings.updated")).one()
    assert entry.actor == "merchant:42" and "privacy@" not in str(entry.detail)

    # Saved values come back in the form; the corrected policy text no longer raises the alert.
    html = client.get("/settings", params=page_params(DEMO_SHOP)).text
    assert 'value="privacy@lepetitlunetier.com"' in html and 'value="6"' in html
    assert 'data-action="policy"' not in client.get("/", params=page_params(DEMO_SHOP)).text


SETTINGS_ERRORS = [
    ({"contact_email": ""}, {"contact_email": "Enter the email address customers can write to."}),
    ({"contact_email": "not-an-email"}, {"contact_email": "Enter an email address like privacy@example.com."}),
    ({"dpo_email": "dpo@"}, {"dpo_email": "Enter an email address like privacy@example.com."}),
    ({"report_language": "de"}, {"report_language": "Choose automatic, French or English."}),
    ({"consent_retention_months": "0"}, {"consent_retention_months": "Enter a whole number of months from 1 to 60."}),
    ({"audit_retention_months": "2.5"}, {"audit_retention_months": "Enter a whole number of months from 12 to 120."}),
    ({"request_retention_months": "-3"}, {"request_retention_months": "Enter a whole number of months from 1 to 120."}),
    ({"purposes_en": "  \n "}, {"purposes_en": "Write at least one item in English."}),
    ({"purposes_fr": "Une seule ligne"}, {"purposes_fr": "The two lists must have the same number of lines (English: "
                                                        "2, French: 1). Write one item per line, in the same order, "
                                                        "or leave French empty."}),
    ({"recipients_en": "x" * 501}, {"recipients_en": "Each item must be at most 500 characters (line 1 is longer)."}),
    ({"privacy_policy_text": "x" * 100_001}, {"privacy_policy_text": "The policy text must be at most 100000 characters."}),
    ({"is_admin": "1"}, {"form": "Unknown field: is_admin."}),
]


def test_settings_validation_gives_a_clear_message_per_field(client, demo, db_session):
    for overrides, fields in SETTINGS_ERRORS:
        response = client.put("/api/settings", headers=bearer(DEMO_SHOP), json=settings_form(**overrides))
        assert response.status_code == 422, overrides
        assert response.json() == {"error": "Some fields need your attention.", "fields": fields}
    db_session.rollback()
    assert db_session.get(ShopSettings, demo).contact_email is None  # nothing saved


def test_settings_validation_in_french(client, demo):
    response = client.put("/api/settings", params={"locale": "fr-FR"}, headers=bearer(DEMO_SHOP),
                          json=settings_form(contact_email="x", consent_retention_months="99"))
    assert response.json()["fields"] == {
        "contact_email": "Saisissez une adresse e-mail comme confidentialite@exemple.fr.",
        "consent_retention_months": "Saisissez un nombre entier de mois entre 1 et 60.",
    }


def test_settings_form_is_prefilled_from_the_default_policy(client, demo):
    html = client.get("/settings", params=page_params(DEMO_SHOP)).text
    assert 'value="contact@lepetitlunetier.com"' in html
    assert "Order management\nReturns, right of withdrawal" in html.replace("&#39;", "'")
    assert "Gestion des commandes" in html
    assert 'id="consent_retention_months" name="consent_retention_months" type="number"' in html
    assert 'value="13"' in html and 'value="36"' in html and 'value="60"' in html
    assert "By being on our site, you accept the use of cookies." in html  # the seed policy, to be reviewed
