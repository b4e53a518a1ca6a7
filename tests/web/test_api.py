"""The merchant's JSON API: scoped to the shop in the session token, and nothing else."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from shopify_app.models import AuditEntry, PrivacyReport, utcnow
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.signing import json_body, make_session_token


def auth(shop: str = DEMO_SHOP) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(shop)}"}


def data_request(customer_id: int, request_id: int, shop: str = DEMO_SHOP) -> bytes:
    return json_body({"shop_id": 1, "shop_domain": shop, "orders_requested": [],
                      "customer": {"id": customer_id, "email": f"c{customer_id}@example.fr", "phone": None},
                      "data_request": {"id": request_id}})


@pytest.fixture
def compiled_request(install_shop, post_webhook, run_worker, client) -> int:
    install_shop()
    post_webhook("customers/data_request", data_request(1001, 1))
    post_webhook("customers/redact", json_body({"shop_id": 1, "shop_domain": DEMO_SHOP,
                                                "customer": {"id": 1002, "email": "x@example.fr"}}))
    run_worker()
    [row] = [r for r in client.get("/api/privacy-requests", headers=auth()).json()["requests"]
             if r["kind"] == "data_request"]
    return row["id"]


def test_list_shows_the_shops_requests_with_deadlines(client, compiled_request):
    body = client.get("/api/privacy-requests", headers=auth()).json()
    rows = body["requests"]
    assert [r["kind"] for r in rows] == ["data_request", "customer_redact"]  # sorted by due date
    first = rows[0]
    assert set(first) >= {"id", "kind", "status", "customer_email", "received_at", "due_at", "completed_at"}
    assert first["status"] == "completed" and first["customer_email"] == "c1001@example.fr"
    assert rows[1]["customer_email"] is None  # erased

    filtered = client.get("/api/privacy-requests", params={"kind": "customer_redact"}, headers=auth()).json()
    assert [r["kind"] for r in filtered["requests"]] == ["customer_redact"]
    assert client.get("/api/privacy-requests", params={"status": "received"}, headers=auth()).json()["requests"] == []


@pytest.mark.parametrize("params", [{"status": "bogus"}, {"kind": "x"}, {"limit": "0"}, {"limit": "1000"},
                                    {"offset": "-1"}, {"limit": "ten"}])
def test_bad_filters_get_a_clear_400(client, install_shop, params):
    install_shop()
    response = client.get("/api/privacy-requests", params=params, headers=auth())
    assert response.status_code == 400 and response.json()["error"]


def test_report_downloads_as_json_and_html_and_is_audited(client, compiled_request, db_session):
    as_json = client.get(f"/api/privacy-requests/{compiled_request}/report", params={"format": "json"}, headers=auth())
    assert as_json.status_code == 200 and as_json.headers["content-type"].startswith("application/json")
    assert "attachment" in as_json.headers["content-disposition"]
    assert json.loads(as_json.text)["customer"]["firstName"] == "Camille"
    as_html = client.get(f"/api/privacy-requests/{compiled_request}/report", params={"format": "html"}, headers=auth())
    assert as_html.status_code == 200 and "<html" in as_html.text
    assert "default-src 'none'" in as_html.headers["content-security-policy"]
    assert client.get(f"/api/privacy-requests/{compiled_request}/report", params={"format": "pdf"},
                      headers=auth()).status_code == 400
    db_session.rollback()
    downloads = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "report.downloaded")).all()
    assert [d.detail["format"] for d in downloads] == ["json", "html"] and downloads[0].actor == "merchant:42"


def test_another_shop_sees_none_of_this_shops_data(client, compiled_request, post_webhook):
    post_webhook("customers/data_request", data_request(1003, 2, shop=OTHER_SHOP), shop=OTHER_SHOP)
    other = client.get("/api/privacy-requests", headers=auth(OTHER_SHOP)).json()["requests"]
    assert [r["customer_email"] for r in other] == ["c1003@example.fr"]
    assert client.get(f"/api/privacy-requests/{compiled_request}", headers=auth(OTHER_SHOP)).status_code == 404
    assert client.get(f"/api/privacy-requests/{compiled_request}/report", headers=auth(OTHER_SHOP)).status_code == 404
    assert client.get(f"/api/privacy-requests/{compiled_request}", headers=auth()).status_code == 200


def test_report_not_compiled_yet_is_404(client, install_shop, post_webhook):
    install_shop()
    post_webhook("customers/data_request", data_request(1001, 1))
    [row] = client.get("/api/privacy-requests", headers=auth()).json()["requests"]
    assert row["status"] == "received"
    assert client.get(f"/api/privacy-requests/{row['id']}/report", headers=auth()).status_code == 404


def test_an_expired_report_is_not_served_even_before_the_purge_runs(client, compiled_request, db_session):
    report = db_session.scalars(select(PrivacyReport).where(PrivacyReport.privacy_request_id == compiled_request)).one()
    report.expires_at = utcnow() - dt.timedelta(seconds=1)  # 30 days later; the daily purge has not run yet
    db_session.commit()
    for fmt in ("json", "html"):
        response = client.get(f"/api/privacy-requests/{compiled_request}/report", params={"format": fmt},
                              headers=auth())
        assert response.status_code == 404
    db_session.rollback()
    assert db_session.scalars(select(AuditEntry).where(AuditEntry.action == "report.downloaded")).all() == []
