"""Every ``/api/`` route in the URL map, found at run time, against callers who must get nothing.

The routes are not listed here: a new ``/api`` route is swept as soon as it is registered, so one
that forgets :func:`~shopify_app.web.guards.session_token_required`, or that looks a row up without
the token's shop, fails this file. Each allowed method (but HEAD and OPTIONS) is called

- with no ``Authorization`` header, an expired token, a token signed with another secret and a token
  for another app: 401, and nothing in the database changes;
- with a valid token for another installed shop (B), the URL naming shop A's rows: 401, 403 or 404,
  none of A's data in the answer, and none of A's rows changed (routes without an id act on B's own
  rows: any answer but a 5xx, still without A's data);
- by shop A itself with ids no row can have (0, past PostgreSQL's ``integer``, past SQLite's 64 bits): 404.

Shop A has a row of every kind a URL can name, in states where the action would succeed for A, and a
marker in every free-text field, so an unscoped route would answer 2xx or 409 and leak the marker.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from shopify_app.models import Base, PrivacyReport, PrivacyRequest, RetentionDueCustomer, RetentionErasureBatch, utcnow
from tests.admin.factories import add_consents, add_request, bearer, consent_row, shop_id
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.storefront.helpers import proxy_post

SHOP_A, SHOP_B = DEMO_SHOP, OTHER_SHOP
MARK = "shop-a-secret"  # in every free-text field of shop A's rows
VISITOR_A = "shopAsecretVisitor01"
LEAKS = (MARK, VISITOR_A, SHOP_A)
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
# Valid for every write route at once (each reads its own keys), so a route that checks the body before
# the row cannot answer 400/422 instead of saying whether the row is the caller's.
WRITE_BODY = {"months": 1, "reason": "Sweep.", "delivery": "merchant", "channels": ["email"], "note": "Sweep.",
              "outcome": "answered", "all": True}
OUT_OF_RANGE_IDS = (0, 2**31, 2**63, 10**20)
VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


@dataclass
class Shops:
    a: int
    b: int
    ids: dict[str, list[int]]  # URL variable -> shop A's rows it can name


@pytest.fixture
def shops(install_shop, client, db_session) -> Shops:
    """Shops A and B installed; A has a row of every kind an /api URL can name."""
    install_shop(SHOP_A)
    install_shop(SHOP_B)
    a, b = shop_id(db_session, SHOP_A), shop_id(db_session, SHOP_B)
    storefront = []
    for number, (right, extra) in enumerate([("access", {}), ("erasure", {}), ("objection", {"channel": "email"}),
                                             ("rectification", {"correction": MARK}),
                                             ("post_mortem_directive", {})]):
        form = {"right": right, "email": f"{MARK}-{number}@example.fr", "message": MARK, **extra}
        response = proxy_post(client, "/proxy/requests", form, customer_id=1001 + number, ip=f"203.0.113.{number}")
        assert response.status_code == 200, response.text
        db_session.rollback()
        storefront.append(db_session.scalars(select(PrivacyRequest.id).order_by(PrivacyRequest.id.desc())).first())
    failed = add_request(db_session, a, status="failed", email=f"{MARK}@example.fr", failure_reason=MARK)
    compiled = add_request(db_session, a, status="completed", email=f"{MARK}@example.fr", completed_days_ago=1)
    now = utcnow()
    db_session.add(PrivacyReport(shop_id=a, privacy_request_id=compiled, language="en", json_document=f'["{MARK}"]',
                                 html_document=f"<p>{MARK}</p>", size_bytes=10, sha256="0" * 64, created_at=now,
                                 expires_at=now + dt.timedelta(days=29)))
    batch = RetentionErasureBatch(shop_id=a, actor="merchant:42", status="queued", total=1, succeeded=0, failed=0,
                                  created_at=now)
    db_session.add(batch)
    db_session.flush()
    db_session.add(RetentionDueCustomer(shop_id=a, customer_id=4242, shopify_updated_at=now - dt.timedelta(days=1200),
                                        status="due", error=MARK))
    db_session.commit()
    add_consents(db_session, [consent_row(a, visitor_id=VISITOR_A, user_agent=MARK)])
    return Shops(a=a, b=b, ids={"privacy_request_id": [*storefront, failed, compiled], "batch_id": [batch.id]})


def api_rules(app) -> list:  # type: ignore[no-untyped-def]
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    # A sanity floor: the sweep did find the API (22 rules when this was written).
    assert len(rules) >= 20 and any(rule.arguments for rule in rules)
    return sorted(rules, key=lambda rule: rule.rule)


def calls(app, ids: dict[str, list[int]]) -> list[tuple[str, str, bool]]:  # type: ignore[no-untyped-def]
    """(method, path, names a row) for every /api rule, method and combination of ids."""
    out = []
    for rule in api_rules(app):
        unknown = set(rule.arguments) - set(ids)
        if unknown:
            pytest.fail(f"{rule.rule}: add shop A's row for {sorted(unknown)} to the `shops` fixture")
        names = sorted(rule.arguments)
        for combination in itertools.product(*(ids[name] for name in names)):
            values = dict(zip(names, combination, strict=True))
            path = VARIABLE.sub(lambda match: str(values[match.group(1)]), rule.rule)  # noqa: B023
            out += [(method, path, bool(names)) for method in sorted(rule.methods - SKIPPED_METHODS)]
    return out


def send(client, method: str, path: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.request(method, path, headers=headers, json=WRITE_BODY if method != "GET" else None)


def snapshot(db_session, *, leave_out_shop: int | None = None) -> dict[str, list[str]]:
    """Every row of every table (but ``leave_out_shop``'s), as comparable text."""
    db_session.rollback()
    tables = {}
    for table in Base.metadata.sorted_tables:
        query = select(table)
        if leave_out_shop is not None and "shop_id" in table.c:
            query = query.where(table.c.shop_id != leave_out_shop)
        elif leave_out_shop is not None and table.name == "shops":
            query = query.where(table.c.id != leave_out_shop)
        tables[table.name] = sorted(repr(tuple(row)) for row in db_session.execute(query))
    return tables


def mails(settings) -> int:  # type: ignore[no-untyped-def]
    return len(list(settings.outbox_path.glob("*.eml")))


def assert_no_leak(response, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    for leak in LEAKS:
        assert leak not in response.text, f"{method} {path} answered {response.status_code} with shop A's {leak!r}"


def test_every_api_route_refuses_a_missing_expired_or_foreign_token(app, client, db_session, settings, shops):
    tokens = {
        "no Authorization header": {},
        "expired": bearer(SHOP_A, now=time.time() - 3600),
        "signed with another secret": bearer(SHOP_A, secret="not-the-app-secret-0123456789abcdef"),
        "for another app": bearer(SHOP_A, api_key="another-app"),
        "not a bearer token": {"Authorization": f"Basic {bearer(SHOP_A)['Authorization'][7:]}"},
    }
    before, mails_before = snapshot(db_session), mails(settings)
    for method, path, _ in calls(app, shops.ids):
        for name, headers in tokens.items():
            response = send(client, method, path, headers)
            assert response.status_code == 401, f"{method} {path} with {name}: {response.status_code}"
            assert response.headers.get("X-Shopify-Retry-Invalid-Session-Request") == "1"
            assert_no_leak(response, method, path)
    assert snapshot(db_session) == before
    assert mails(settings) == mails_before


def test_another_shops_token_gets_nothing_of_shop_a(app, client, db_session, settings, shops):
    # The markers are in what the API shows shop A, so their absence below means something.
    assert MARK in client.get("/api/privacy-requests", headers=bearer(SHOP_A)).text
    assert VISITOR_A in client.get("/api/consent-records", headers=bearer(SHOP_A)).text
    before, mails_before = snapshot(db_session, leave_out_shop=shops.b), mails(settings)
    statuses = []
    for method, path, names_a_row in calls(app, shops.ids):
        response = send(client, method, path, bearer(SHOP_B))
        statuses.append(response.status_code)
        if names_a_row:
            assert response.status_code in (401, 403, 404), f"{method} {path} as shop B: {response.status_code}"
        else:  # B's own rows
            assert response.status_code < 500, f"{method} {path} as shop B: {response.status_code} {response.text}"
        assert_no_leak(response, method, path)
        if method != "GET":
            assert snapshot(db_session, leave_out_shop=shops.b) == before, f"{method} {path} as shop B changed A's rows"
    assert snapshot(db_session, leave_out_shop=shops.b) == before
    assert mails(settings) == mails_before  # no email to A's shoppers
    assert any(200 <= status < 300 for status in statuses)  # B's token was accepted: the 404s were about the rows


def test_ids_no_row_can_have_are_404_for_the_shop_itself(app, client, db_session, shops):
    before = snapshot(db_session)
    out_of_range = {name: list(OUT_OF_RANGE_IDS) for name in shops.ids}
    for method, path, names_a_row in calls(app, out_of_range):
        if names_a_row:
            response = send(client, method, path, bearer(SHOP_A))
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    assert snapshot(db_session) == before


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/api/privacy-requests?offset=99999999999999999999", None),
    ("GET", "/api/consent-records?offset=99999999999999999999", None),
    ("GET", "/api/retention-due?offset=99999999999999999999", None),
    ("GET", "/api/consent-records?customer_id=9999999999999999999", None),
    ("GET", "/api/consent-records?until=9999-12-31", None),
    ("GET", "/api/consent-records?since=9999-12-31T23:59:59-23:00", None),
    ("GET", "/api/consent-records?since=0001-01-01T00:00:00%2B23:00", None),
    ("POST", "/api/retention-due/erase", {"customer_ids": [2**63]}),
    ("POST", "/api/retention-due/erase", {"customer_ids": [-1]}),
])
def test_numbers_and_dates_no_column_can_hold_are_a_clear_4xx(client, db_session, shops, method, path, body):
    before = snapshot(db_session)
    response = client.request(method, path, json=body, headers=bearer(SHOP_A))
    assert 400 <= response.status_code < 500 and response.json()["error"], (path, response.status_code)
    assert snapshot(db_session) == before
