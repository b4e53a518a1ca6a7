"""The storefront's public surface under fuzz: the app-proxy routes (``/proxy…``, blueprint ``proxy``, and
``POST /proxy/consent``) and the headless banner script (``GET /storefront/consent-banner.js``).

Random methods, bodies, content types, encodings (invalid UTF-8, oversized, chunked, deeply nested JSON),
headers and query strings (missing, forged, stale or tampered signatures, odd ``shop`` values), and also
requests signed exactly as Shopify's app proxy signs them, so the fuzz reaches the validation behind the
guard. The answer is always a 4xx or one of the documented 2xx/304, never a 5xx, and a rejected request
stores nothing: no consent proof, no storefront request, no privacy request, no audit entry, no email.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote_from_bytes, urlencode

import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import func, select

from shopify_app.models import AuditEntry, ConsentRecord, PrivacyRequest, Shop, StorefrontRequest
from shopify_app.platform.domains import is_shop_domain
from shopify_app.services.consent import ACTIONS, CATEGORIES
from shopify_app.services.storefront_requests import RIGHTS
from tests.abuse.test_fuzz_public_endpoints import FUZZ, HEADER_VALUE, JSONISH, TEXT
from tests.conftest import DEMO_SHOP, OTHER_SHOP
from tests.signing import API_SECRET, PREVIOUS_SECRET, sign_proxy_query
from tests.storefront.helpers import PATH_PREFIX

STORED = (ConsentRecord, StorefrontRequest, PrivacyRequest, AuditEntry, Shop)
STOREFRONT_BLUEPRINTS = ("proxy", "storefront")
STOREFRONT_PATHS = ("/proxy", "/storefront/")

# How the query is signed: the first three verify (current secret, previous secret, hex in upper case), the rest never.
VALID_SIGNINGS = ("valid", "previous", "upper_case_hex")
SIGNINGS = st.sampled_from([*VALID_SIGNINGS, "none", "wrong_secret", "stale", "future", "garbage", "tampered",
                            "empty"])
SHOPS = st.sampled_from([DEMO_SHOP, DEMO_SHOP.upper(), f"https://{DEMO_SHOP}/", OTHER_SHOP, None, "",
                         f"{DEMO_SHOP}.evil.example", f"{DEMO_SHOP}\x00", f"../{DEMO_SHOP}", "x" * 70 + ".myshopify.com",
                         "démo.myshopify.com"]) | TEXT
CUSTOMER_IDS = st.sampled_from(["", "1001", "0", "-5", "1e3", "²", "١٢٣", "99999999999999999999", str(2**63 - 1),
                                str(2**63), "9" * 5000]) | TEXT
# Extra signed parameters; never a second ``signature``, which the verifier rightly reads first.
EXTRA_PARAMS = st.lists(st.tuples(st.sampled_from(["locale", "token", "format", "path_prefix", "shop", "x", "Ü"]) | TEXT,
                                  TEXT).filter(lambda kv: kv[0] != "signature"), max_size=3)
CONTENT_TYPES = st.sampled_from([None, "application/json", "application/json; charset=latin-1", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data",
                                 "multipart/form-data; boundary=xyz", "application/xml", "*/*"]) | HEADER_VALUE
OVERSIZED = st.sampled_from([4 * 1024 + 1, 64 * 1024, 300 * 1024]).flatmap(
    lambda size: st.sampled_from([b"[" * size, b"{" * size, b"a" * size, b"email=" + b"a" * size]))
BODIES = (st.binary(max_size=2048) | JSONISH.map(lambda value: json.dumps(value).encode())
          | st.integers(1, 3000).map(lambda depth: b"[" * depth + b"]" * depth)  # deep nesting
          | st.sampled_from([b"\xff\xfe{}", b'{"visitor_id": "\xc3\x28"}', b"\xed\xa0\x80", b"right=erasure&email=%ff"])
          | OVERSIZED)
HEADERS = st.fixed_dictionaries({}, optional={
    "X-Forwarded-For": HEADER_VALUE, "User-Agent": HEADER_VALUE, "Accept-Language": HEADER_VALUE,
    "Content-Encoding": st.sampled_from([b"gzip", b"br", b"deflate", b"identity"]) | HEADER_VALUE,
    "If-None-Match": HEADER_VALUE, "Cookie": HEADER_VALUE})


def counts(db_session) -> dict[str, int]:
    db_session.rollback()
    row = db_session.execute(select(*(select(func.count()).select_from(model).scalar_subquery() for model in STORED)))
    return dict(zip((model.__tablename__ for model in STORED), row.one(), strict=True))


def mails(settings) -> int:  # type: ignore[no-untyped-def]
    """Emails written so far (counted, not parsed: ``tests.storefront.helpers.outbox`` parses every one)."""
    return len(list(settings.outbox_path.glob("*.eml")))


def proxy_query(signing: str, shop: str | None, customer_id: str = "", extra: list[tuple[str, str]] = ()) -> str:
    """The query Shopify's app proxy appends, signed (or not) as ``signing`` says."""
    offset = {"stale": -3600, "future": 3600}.get(signing, 0)
    params = [("shop", shop)] if shop is not None else []
    params += [("logged_in_customer_id", customer_id), ("path_prefix", PATH_PREFIX),
               ("timestamp", str(int(time.time()) + offset)), *extra]
    if signing == "none":
        return urlencode(params)
    if signing in ("garbage", "empty"):
        return urlencode([*params, ("signature", "" if signing == "empty" else "0" * 63 + "g")])
    signed = sign_proxy_query(params, {"previous": PREVIOUS_SECRET, "wrong_secret": "not-the-app-secret"}.get(
        signing, API_SECRET))
    if signing == "upper_case_hex":  # the verifier compares hex case-insensitively
        query, _, signature = signed.rpartition("signature=")
        return f"{query}signature={signature.upper()}"
    if signing == "tampered":  # a parameter added after signing
        return f"{signed}&logged_in_customer_id=1001"
    return signed


def answers_past_the_guard(signing: str, shop: str | None, extra: list[tuple[str, str]] = ()) -> bool:
    """Whether the guard lets this through: signed with a secret of ours, for a shop domain (the first ``shop``)."""
    shop = shop if shop is not None else next((value for key, value in extra if key == "shop"), None)
    return signing in VALID_SIGNINGS and is_shop_domain(shop)


def is_demo_shop(shop: str | None) -> bool:
    return shop is not None and shop.strip().lower().removeprefix("https://").rstrip("/") == DEMO_SHOP


@pytest.fixture
def storefront(install_shop, redis_conn, settings):  # type: ignore[no-untyped-def]
    """DEMO_SHOP installed (its banner published); each example starts with no rate-limit counters."""
    install_shop()

    def fresh_example() -> int:
        redis_conn.flushall()
        return mails(settings)

    return fresh_example


def storefront_rules(app) -> list:  # type: ignore[no-untyped-def]
    """Every public storefront route, found in the URL map (a new one is fuzzed as soon as it is registered)."""
    rules = sorted((rule for rule in app.url_map.iter_rules() if rule.endpoint.split(".")[0] in STOREFRONT_BLUEPRINTS
                    or rule.rule.startswith(STOREFRONT_PATHS)), key=lambda rule: rule.rule)
    assert {"/proxy", "/proxy/consent", "/proxy/requests", "/storefront/consent-banner.js"} <= {r.rule for r in rules}
    return rules


@FUZZ
@given(data=st.data(), signing=st.sampled_from(VALID_SIGNINGS) | SIGNINGS, shop=st.just(DEMO_SHOP) | SHOPS,
       customer_id=st.just("") | CUSTOMER_IDS, extra=EXTRA_PARAMS, body=BODIES,
       content_type=CONTENT_TYPES, headers=HEADERS, chunked=st.booleans())
def test_every_storefront_route_never_fails_on_garbage(app, client, db_session, settings, storefront, data, signing,
                                                        shop, customer_id, extra, body, content_type, headers,
                                                        chunked):
    rules = storefront_rules(app)
    rule = data.draw(st.sampled_from(rules), label="rule")
    # A path may have a rule per method (the emailed links: GET shows a button, POST acts).
    allowed = set().union(*(r.methods for r in rules if r.rule == rule.rule))
    method = data.draw(st.sampled_from(sorted(rule.methods - {"OPTIONS"})) | st.sampled_from(
        ["GET", "POST", "PUT", "PATCH", "DELETE"]), label="method")
    mails_before = storefront()
    before = counts(db_session)
    request_headers = {**headers, **({"Content-Type": content_type} if content_type is not None else {})}
    content = (body[i:i + 8192] for i in range(0, len(body), 8192)) if chunked else body
    response = client.request(method, f"{rule.rule}?{proxy_query(signing, shop, customer_id, extra)}",
                              content=content if method not in ("GET", "HEAD") else None, headers=request_headers)

    event(f"{rule.rule} {response.status_code}")
    assert response.status_code < 500, response.text
    if method not in allowed:
        assert response.status_code == 405
    elif rule.rule.startswith("/proxy"):  # what Shopify's app proxy forwards: every route checks the signature
        if not answers_past_the_guard(signing, shop, extra):
            assert response.status_code == 401
    else:  # the banner script: no signature, only a shop
        assert response.status_code in (200, 304, 400, 404)
    if response.status_code >= 300 or method in ("GET", "HEAD"):  # random tokens confirm nothing
        assert counts(db_session) == before
        assert mails(settings) == mails_before


VISITOR_IDS = st.from_regex(r"[A-Za-z0-9_-]{8,64}", fullmatch=True)
# Values that are almost right: JSON's true is an int to Python, 2**31 is one past the column, and so on.
NEAR_MISSES = st.sampled_from([True, False, 0, 1, -1, 1.0, 2**31, 2**63, "1", "", None, [], {}, "a" * 65, "visitor\n01",
                               "é" * 10, "FR", "accept-all", "0" * 63, "A" * 64,
                               {"analytics": 1, "marketing": 0, "preferences": 0, "sale_of_data": 0},
                               {name: False for name in (*CATEGORIES, "extra")}])
BODY_KEYS = ("visitor_id", "action", "choices", "revision", "text_hash", "language", "gpc", "page")


@st.composite
def consent_bodies(draw) -> dict:  # type: ignore[no-untyped-def]
    """A body the banner could send: the choices agree with the action and the GPC signal."""
    gpc, action = draw(st.booleans()), draw(st.sampled_from(ACTIONS))
    choices = {name: False for name in CATEGORIES}
    if action == "accept_all":
        choices = {"analytics": True, "preferences": True, "marketing": not gpc, "sale_of_data": not gpc}
    elif action == "custom":
        choices = {name: draw(st.booleans()) for name in CATEGORIES}
        if gpc:
            choices.update(marketing=False, sale_of_data=False)
    body = {"visitor_id": draw(VISITOR_IDS), "action": action, "choices": choices,
            "revision": draw(st.integers(0, 2**31 - 1)), "text_hash": draw(st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
            "language": draw(st.sampled_from(["fr", "en"])), "gpc": gpc}
    if draw(st.booleans()):
        body["page"] = "/" + draw(TEXT)
    return body


@FUZZ
@given(body=consent_bodies(), changes=st.dictionaries(st.sampled_from([*BODY_KEYS, "customer_id", "Visitor_id"]),
                                                      NEAR_MISSES | JSONISH, max_size=2),
       drop=st.sets(st.sampled_from(BODY_KEYS), max_size=1), customer_id=CUSTOMER_IDS,
       signing=st.sampled_from(VALID_SIGNINGS), ascii_only=st.booleans(), headers=HEADERS)
def test_signed_consent_is_stored_once_or_refused_with_nothing_stored(client, db_session, storefront, body, changes,
                                                                       drop, customer_id, signing, ascii_only, headers):
    storefront()
    unchanged = not changes and not drop
    body.update(changes)
    for key in drop:
        body.pop(key, None)
    before = counts(db_session)
    response = client.post(f"/proxy/consent?{proxy_query(signing, DEMO_SHOP, customer_id)}",
                           content=json.dumps(body, ensure_ascii=ascii_only).encode(),
                           headers={**headers, "Content-Type": "application/json"})
    after = counts(db_session)
    event(f"status {response.status_code}")
    assert response.status_code in (204, 400, 429), response.text
    if unchanged:  # what the banner sends is stored: the fuzz does reach the INSERT
        assert response.status_code == 204, response.text
    if response.status_code == 204:
        assert after == {**before, "consent_records": before["consent_records"] + 1}
        stored = db_session.scalars(select(ConsentRecord).order_by(ConsentRecord.id.desc())).first()
        assert (stored.visitor_id, stored.action, stored.gpc) == (body["visitor_id"], body["action"], body["gpc"])
        assert stored.customer_id is None or 0 <= stored.customer_id < 2**63
    else:
        assert after == before


# Any text, around the 2,000-character limit, and the control characters no browser sends (PostgreSQL refuses NUL).
FREE_TEXT = (TEXT | st.tuples(TEXT, st.integers(1995, 2005)).map(lambda pair: ((pair[0] or "é") * 2005)[:pair[1]])
             | st.sampled_from(["\x00", "a\x00b", " \x00 ", "\r\n\x00\x1b[31m", "\ufeff\u202e", "{{ shop.name }}"]))


@st.composite
def request_forms(draw) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The storefront form as a shopper fills it in (any text in the free fields, NUL and all)."""
    right = draw(st.sampled_from([str(right) for right in RIGHTS]))
    form = {"right": right, "email": draw(st.emails(domains=st.just("example.org"))), "message": draw(FREE_TEXT)}
    if right == "rectification":
        form["correction"] = draw(FREE_TEXT.filter(str.strip))
    if right == "objection":
        form["channel"] = draw(st.sampled_from(["email", "sms"]))
    return form


FORM_KEYS = ("right", "email", "message", "correction", "channel")
ENCODINGS = st.sampled_from(["urlencoded", "multipart", "json", "latin-1"])


def encode_form(fields: dict[str, str], encoding: str) -> tuple[bytes, str]:
    if encoding == "urlencoded":
        return urlencode(fields).encode(), "application/x-www-form-urlencoded"
    if encoding == "latin-1":  # percent-encoded bytes that are not UTF-8
        pairs = "&".join(f"{quote_from_bytes(k.encode('latin-1', 'replace'))}="
                         f"{quote_from_bytes(v.encode('latin-1', 'replace'))}" for k, v in fields.items())
        return pairs.encode(), "application/x-www-form-urlencoded"
    if encoding == "json":
        return json.dumps(fields).encode(), "application/json"
    parts = b"".join(b"--xyz\r\nContent-Disposition: form-data; name=\"" + k.encode().replace(b'"', b"%22")
                     + b"\"\r\n\r\n" + v.encode() + b"\r\n" for k, v in fields.items())
    return parts + b"--xyz--\r\n", "multipart/form-data; boundary=xyz"


@FUZZ
@given(form=request_forms(), changes=st.dictionaries(st.sampled_from([*FORM_KEYS, "x", ""]), TEXT, max_size=2),
       drop=st.sets(st.sampled_from(FORM_KEYS), max_size=1), encoding=ENCODINGS,
       customer_id=st.sampled_from(["", "1001"]) | CUSTOMER_IDS, extra=EXTRA_PARAMS, ip=st.ip_addresses().map(str),
       headers=HEADERS)
def test_signed_request_forms_are_recorded_or_refused_with_nothing_stored(client, db_session, settings, storefront,
                                                                          form, changes, drop, encoding, customer_id,
                                                                          extra, ip, headers):
    mails_before = storefront()
    form.update(changes)
    for key in drop:
        form.pop(key, None)
    before = counts(db_session)
    body, content_type = encode_form(form, encoding)
    response = client.post(f"/proxy/requests?{proxy_query('valid', DEMO_SHOP, customer_id, extra)}", content=body,
                           headers={**headers, "Content-Type": content_type, "X-Forwarded-For": ip})
    after = counts(db_session)
    event(f"{encoding} {response.status_code}")
    assert response.status_code in (200, 422, 429), response.text
    assert response.headers["content-type"].startswith("application/liquid")
    if response.status_code != 200:
        assert after == before and mails(settings) == mails_before
        return
    assert after["storefront_requests"] == before["storefront_requests"] + 1
    stored = db_session.scalars(select(StorefrontRequest).order_by(StorefrontRequest.id.desc())).first()
    assert "\x00" not in (stored.message or "") + (stored.correction or "")
    if stored.status == "unconfirmed":  # a guest: nothing but the email with the confirmation link
        assert after == {**before, "storefront_requests": before["storefront_requests"] + 1}
        assert mails(settings) == mails_before + 1
    else:  # logged in: the request the merchant sees, at once
        assert after["privacy_requests"] == before["privacy_requests"] + 1


@FUZZ
@given(shop=SHOPS, extra=st.dictionaries(st.sampled_from(["v", "revision", "callback", "shop"]), TEXT, max_size=2),
       etag=st.sampled_from(["current", "weak", "star", "other"]) | HEADER_VALUE, headers=HEADERS)
def test_banner_script_is_200_304_400_or_404(client, db_session, storefront, shop, extra, etag, headers):
    storefront()
    current = client.get("/storefront/consent-banner.js", params={"shop": DEMO_SHOP}).headers["ETag"]
    if_none_match = {"current": current, "weak": f"W/{current}", "star": "*", "other": '"0"'}.get(etag, etag)
    before = counts(db_session)
    params = [("shop", shop)] if shop is not None else []
    response = client.get(f"/storefront/consent-banner.js?{urlencode([*params, *extra.items()])}",
                          headers={**headers, "If-None-Match": if_none_match})
    event(f"status {response.status_code}")
    assert response.status_code in (200, 304, 400, 404), response.text
    if response.status_code in (200, 304):
        assert is_demo_shop(shop if shop is not None else extra.get("shop"))
    if response.status_code == 200:
        assert response.headers["content-type"].startswith("application/javascript")
        assert response.text.startswith("window.PrivacyConsentConfig=")
    assert counts(db_session) == before


VALID_CONSENT = {"visitor_id": "visitor-0001", "action": "reject_all", "gpc": False, "revision": 1,
                 "choices": {name: False for name in CATEGORIES}, "text_hash": "5f" * 32, "language": "fr"}


@pytest.mark.parametrize("path", ["/proxy/consent", "/proxy/requests"])
def test_a_signed_oversized_body_is_refused_and_the_connection_still_serves(client, db_session, storefront, path):
    """Too large (for the endpoint, for MAX_CONTENT_LENGTH), chunked without a length, nested deeper than Python
    goes: a 4xx and nothing stored, and the next proof is stored as usual. (The test server closes each
    connection, as gunicorn's sync workers do, so a body left unread cannot spill into another request.)"""
    storefront()
    before = counts(db_session)
    for name, raw in {"just too large": b"email=" + b"a" * (4 * 1024), "over MAX_CONTENT_LENGTH": b"a" * (300 * 1024),
                      "chunked": b"a" * (300 * 1024), "deeply nested": b"[" * 4000}.items():
        content = (raw[i:i + 4096] for i in range(0, len(raw), 4096)) if name == "chunked" else raw
        response = client.post(f"{path}?{proxy_query('valid', DEMO_SHOP)}", content=content,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert response.status_code in (400, 413, 422), (name, response.status_code, response.text)
        assert counts(db_session) == before, name
        follow_up = client.post(f"/proxy/consent?{proxy_query('valid', DEMO_SHOP)}", json=VALID_CONSENT)
        assert follow_up.status_code == 204, (name, follow_up.text)
        before = {**before, "consent_records": before["consent_records"] + 1}
