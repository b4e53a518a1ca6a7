"""The privacy desk in real headless Chromium, offline but for 127.0.0.1 (so without App Bridge or any CDN)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from rq.job import Job
from rq.serializers import JSONSerializer
from sqlalchemy import select

from shopify_app.models import AuditEntry, PrivacyRequest, ShopSettings, utcnow
from tests.admin.factories import add_consents, add_request, consent_row, shop_id
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.signing import json_body

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(install_shop, db_session) -> int:
    install_shop()
    return shop_id(db_session, DEMO_SHOP)


@pytest.fixture
def desk(demo, db_session) -> dict[str, int]:
    """A shop with a bit of everything: requests in every state, consent decisions over the month."""
    ids = {
        "overdue": add_request(db_session, demo, status="received", due_in_days=-3, email="late@example.fr"),
        "failed": add_request(db_session, demo, status="failed", due_in_days=5, kind="customer_redact",
                              failure_reason="ShopifyApiError: 502 Bad Gateway", attempts=3, email="fail@example.fr"),
        "completed": add_request(db_session, demo, status="completed", due_in_days=18, completed_days_ago=1,
                                 email="done@example.fr"),
        "closed": add_request(db_session, demo, status="closed", due_in_days=-20, outcome="answered",
                              note="Sent by email.", closed_at=utcnow(), completed_days_ago=12, email=None),
    }
    now = utcnow()
    rows = []
    for day in range(30):
        for i in range(day % 5 + 1):
            action = ("accept_all", "reject_all", "custom", "accept_all", "close")[(day + i) % 5]
            rows.append(consent_row(demo, visitor_id=f"visitor-{day:02d}-{i:02d}", action=action,
                                    recorded_at=now - dt.timedelta(days=day, minutes=i),
                                    customer_id=7001 if (day, i) == (2, 0) else None))
    add_consents(db_session, rows)
    return ids


def no_reload_marker(page) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("window.__sameDocument = true")


def still_same_document(page) -> bool:  # type: ignore[no-untyped-def]
    return page.evaluate("window.__sameDocument === true")


def test_every_page_renders_offline_is_accessible_and_is_captured(page, open_admin, desk, ui):
    pages = [("overview", "/", {}), ("requests", "/requests", {}),
             ("request-detail", f"/requests/{desk['failed']}", {}),
             ("request-closed", f"/requests/{desk['closed']}", {}), ("consent-log", "/consent-log", {}),
             ("settings", "/settings", {}), ("audit-log", "/audit-log", {}), ("overview-fr", "/", {"locale": "fr-FR"}),
             ("requests-fr", "/requests", {"locale": "fr-FR"})]
    for name, path, params in pages:
        response = open_admin(path, **params)
        assert response.status == 200, (path, response.status)
        heading = page.locator("h1")
        assert heading.is_visible()
        # Our stylesheet is applied although Shopify's CDN is unreachable.
        assert page.evaluate("getComputedStyle(document.querySelector('.card')).borderRadius") == "12px"
        assert page.evaluate("typeof window.shopify") == "undefined"
        if name == "overview":
            page.locator(".policy-review summary").click()  # audit the opened findings too
        violations = ui.axe_serious(page)
        assert violations == [], f"{path}: {violations}"
        if name.endswith("-fr"):
            assert page.evaluate("document.documentElement.lang") == "fr"
            assert page.locator("nav .tabs").inner_text().split("\n")[:2] == ["Vue d'ensemble", "Demandes"]
        ui.screenshot(page, name)
    assert page.context.cookies() == []  # nothing kept in the browser
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0


def test_overview_shows_counts_chart_and_what_needs_action(page, open_admin, desk):
    open_admin("/")
    assert page.locator('[data-stat="overdue"]').inner_text() == "1"
    assert page.locator('[data-stat="open"]').inner_text() == "2"
    assert page.locator("svg[role=img] rect").count() > 30  # stacked bars for 30 days
    items = page.locator("#needs-action > li")
    assert [items.nth(i).get_attribute("data-action") for i in range(items.count())] == [
        "overdue", "failed", "due_soon", "policy"]
    page.locator(".policy-review summary").click()
    assert page.get_by_text("By being on our site, you accept the use of cookies.").is_visible()
    assert page.locator(".suggested").first.inner_text().startswith("When you first visit our site")
    page.locator('[data-stat="overdue"]').click()  # in-app link: a fresh token is added on the way
    page.wait_for_url(re.compile(r"/requests\?.*status=overdue.*id_token="))
    assert page.locator("tbody tr[data-request-id]").count() == 1


def test_filtering_the_request_list(page, open_admin, desk):
    open_admin("/requests")
    assert page.locator("tbody tr[data-request-id]").count() == 4
    assert page.locator("tr[data-overdue=true]").get_attribute("data-request-id") == str(desk["overdue"])
    page.select_option("#filter-status", "failed")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"status=failed"))
    rows = page.locator("tbody tr[data-request-id]")
    assert rows.count() == 1 and rows.first.get_attribute("data-request-id") == str(desk["failed"])
    assert page.locator("#filter-status").input_value() == "failed"
    page.select_option("#filter-status", "")
    page.select_option("#filter-kind", "data_request")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"kind=data_request"))
    ids = [int(r.get_attribute("data-request-id")) for r in page.locator("tbody tr[data-request-id]").all()]
    assert ids == [desk["closed"], desk["overdue"], desk["completed"]]  # sorted by due date


def test_download_and_view_a_report(page, open_admin, demo, post_webhook, run_worker, db_session):
    post_webhook("customers/data_request", json_body({
        "shop_id": 1, "shop_domain": DEMO_SHOP, "orders_requested": [],
        "customer": {"id": 1001, "email": "camille.dubois@example.fr", "phone": None}, "data_request": {"id": 9}}))
    run_worker()
    db_session.rollback()
    request_id = db_session.scalars(select(PrivacyRequest.id)).one()
    open_admin(f"/requests/{request_id}")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download JSON").click()
    download = download_info.value
    assert download.suggested_filename == f"privacy-report-{request_id}.json"
    report = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert report["customer"]["firstName"] == "Camille"
    with page.expect_download() as html_info:
        page.get_by_role("button", name="Download HTML").click()
    assert html_info.value.suggested_filename == f"privacy-report-{request_id}.html"
    page.get_by_role("button", name="View the report").click()
    frame = page.locator("#report-view iframe")
    assert frame.get_attribute("sandbox") == ""
    assert "Camille" in page.frame_locator("#report-view iframe").locator("body").inner_text()
    page.get_by_role("button", name="View as JSON").click()
    assert '"firstName": "Camille"' in page.locator("#report-view pre").inner_text()
    db_session.rollback()
    formats = db_session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "report.downloaded")).all()
    assert [f["format"] for f in formats] == ["json", "html", "html", "json"]


def test_close_a_request_with_a_note(page, open_admin, desk, db_session):
    open_admin(f"/requests/{desk['completed']}")
    no_reload_marker(page)
    page.get_by_role("button", name="Close the request").click()  # nothing chosen yet
    expect(page.locator("#error-outcome")).to_have_text("Choose an outcome from the list.")
    expect(page.locator("#outcome")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#outcome")).to_be_focused()
    page.select_option("#outcome", "answered")
    page.fill("#note", "Report sent to the customer by email <b>on 28/11</b>.")
    page.get_by_role("button", name="Close the request").click()
    page.locator("#flash").get_by_text("The request is closed.").wait_for()
    assert page.locator("h1 .badge").inner_text() == "Closed"
    assert page.locator('[data-field="note"]').inner_text() == "Report sent to the customer by email <b>on 28/11</b>."
    assert page.locator('#timeline li[data-action="request.closed"]').inner_text().count("Closed: Answered") == 1
    assert still_same_document(page)
    db_session.rollback()
    row = db_session.get(PrivacyRequest, desk["completed"])
    assert (row.status, row.outcome) == ("closed", "answered") and row.closed_at is not None
    assert row.note == "Report sent to the customer by email <b>on 28/11</b>."


def test_export_the_consent_log_as_csv(page, open_admin, desk):
    open_admin("/consent-log")
    assert page.locator("tbody tr[data-record-id]").count() == 50
    page.fill("#f-customer_id", "7001")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"customer_id=7001"))
    assert page.locator("tbody tr[data-record-id]").count() == 1
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export as CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download_info.value.path()).read_text(encoding="utf-8"))))
    assert [r["visitor_id"] for r in rows] == ["visitor-02-00"] and rows[0]["customer_id"] == "7001"
    page.get_by_role("link", name="Reset").click()
    page.wait_for_url(re.compile(r"/consent-log\?(?!.*customer_id)"))
    with page.expect_download() as all_info:
        page.get_by_role("link", name="Export as CSV").click()
    everything = list(csv.DictReader(io.StringIO(Path(all_info.value.path()).read_text(encoding="utf-8"))))
    assert len(everything) == sum(d % 5 + 1 for d in range(30))


def test_retry_a_failed_request_and_watch_it_finish(page, open_admin, desk, redis_conn, run_worker):
    open_admin(f"/requests/{desk['failed']}")
    no_reload_marker(page)
    assert "ShopifyApiError: 502 Bad Gateway" in page.locator(".failure").inner_text()
    page.get_by_role("button", name="Retry the job").click()
    page.locator("#flash").get_by_text("The job was queued again.").wait_for()
    assert page.locator("h1 .badge").inner_text() == "Received"
    assert page.locator("progress").is_visible()  # progress while the job waits and runs
    assert Job.fetch(f"privacy-request-{desk['failed']}", connection=redis_conn, serializer=JSONSerializer)
    run_worker()  # the erasure job runs; the page notices by polling /api/privacy-requests/<id>
    page.locator("h1 .badge", has_text="Completed").wait_for(timeout=10000)
    assert not page.locator("progress").count()
    assert page.locator('#timeline li[data-action="data.erased"]').count() == 1
    assert page.locator('#timeline li[data-action="request.retried"]').count() == 1
    assert still_same_document(page)


def test_settings_validate_then_save(page, open_admin, demo, db_session):
    open_admin("/settings", locale="fr")
    page.fill("#contact_email", "pas-une-adresse")
    page.fill("#consent_retention_months", "99")
    page.fill("#purposes_fr", "Une seule ligne")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#error-contact_email")).to_have_text(
        "Saisissez une adresse e-mail comme confidentialite@exemple.fr.")
    expect(page.locator("#error-consent_retention_months")).to_have_text(
        "Saisissez un nombre entier de mois entre 1 et 60.")
    expect(page.locator("#error-purposes_fr")).to_contain_text("(anglais : 8, français : 1)")
    expect(page.locator("#alert")).to_have_text("Certains champs sont à corriger.")
    assert page.evaluate("document.activeElement.id") in ("contact_email", "consent_retention_months", "purposes_fr")
    page.fill("#contact_email", "rgpd@lepetitlunetier.com")
    page.fill("#consent_retention_months", "12")
    page.fill("#purposes_fr", "")
    page.fill("#privacy_policy_text", "Nous demandons votre consentement avant de déposer des cookies.")
    page.get_by_role("button", name="Enregistrer").click()
    page.locator("#flash").get_by_text("Enregistré.").wait_for()
    assert page.locator(".field-error:not([hidden])").count() == 0
    db_session.rollback()
    row = db_session.get(ShopSettings, demo)
    assert (row.contact_email, row.consent_retention_months) == ("rgpd@lepetitlunetier.com", 12)
    assert all(set(item) == {"en"} for item in row.policy["purposes"])
    open_admin("/", locale="fr")
    assert page.locator('[data-action="policy"]').count() == 0


def test_another_shops_token_sees_none_of_this_shops_data(page, open_admin, desk, install_shop):
    install_shop(OTHER_SHOP)
    for path in ("/", "/requests", "/consent-log", "/audit-log", "/settings"):
        open_admin(path, shop=OTHER_SHOP)
        text = page.locator("body").inner_text()
        assert "late@example.fr" not in text and "visitor-0" not in text and DEMO_SHOP not in text
    open_admin("/requests", shop=OTHER_SHOP)
    assert page.locator("tbody tr[data-request-id]").count() == 0
    assert page.locator('[data-stat]').count() == 0
    response = open_admin(f"/requests/{desk['failed']}", shop=OTHER_SHOP)
    assert response.status == 404
    status = page.evaluate("""async (id) => (await fetch('/api/privacy-requests/' + id + '/retry', {method: 'POST',
        headers: {'Authorization': 'Bearer ' + new URLSearchParams(location.search).get('id_token'),
                  'Content-Type': 'application/json'}, body: '{}'})).status""", desk["failed"])
    assert status == 404
