"""Each signature scheme against Shopify's documented vectors, and property-based tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
import time

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shopify_app.platform.signatures import (
    app_proxy_message,
    is_fresh,
    oauth_query_message,
    verify_app_proxy_signature,
    verify_oauth_hmac,
    verify_webhook_hmac,
)
from shopify_app.settings import Settings

OAUTH_DOC_QUERY = {
    "code": "0907a61c0c8d55e99db179b68161bc00",
    "shop": "some-shop.myshopify.com",
    "state": "0.6784241404160823",
    "timestamp": "1337178173",
}
OAUTH_DOC_HMAC = "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
PROXY_DOC_QUERY = [("extra", "1"), ("extra", "2"), ("shop", "shop-name.myshopify.com"),
                   ("logged_in_customer_id", "1"), ("path_prefix", "/apps/awesome_reviews"), ("timestamp", "1317327555")]
PROXY_DOC_SIGNATURE = "4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"


def test_oauth_hmac_matches_shopify_documented_example():
    assert oauth_query_message(OAUTH_DOC_QUERY.items()) == (
        "code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823"
        "&timestamp=1337178173")
    assert verify_oauth_hmac({**OAUTH_DOC_QUERY, "hmac": OAUTH_DOC_HMAC}, ["hush"])


def test_oauth_hmac_rejects_a_changed_parameter_or_secret():
    assert not verify_oauth_hmac({**OAUTH_DOC_QUERY, "shop": "evil.myshopify.com", "hmac": OAUTH_DOC_HMAC}, ["hush"])
    assert not verify_oauth_hmac({**OAUTH_DOC_QUERY, "hmac": OAUTH_DOC_HMAC}, ["not-hush"])
    assert not verify_oauth_hmac(OAUTH_DOC_QUERY, ["hush"])


def test_app_proxy_signature_matches_shopify_documented_example():
    assert app_proxy_message(PROXY_DOC_QUERY) == (
        "extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviewsshop=shop-name.myshopify.comtimestamp=1317327555")
    assert verify_app_proxy_signature([*PROXY_DOC_QUERY, ("signature", PROXY_DOC_SIGNATURE)], ["hush"])
    assert not verify_app_proxy_signature([*PROXY_DOC_QUERY[1:], ("signature", PROXY_DOC_SIGNATURE)], ["hush"])


def test_rotation_accepts_the_previous_secret():
    body = b'{"shop_id": 1}'
    old = base64.b64encode(hmac.new(b"old", body, hashlib.sha256).digest()).decode()
    assert verify_webhook_hmac(body, old, ["new", "old"])
    assert not verify_webhook_hmac(body, old, ["new"])


def test_freshness_window():
    now = time.time()
    assert is_fresh(str(int(now)), now=now)
    assert not is_fresh(str(int(now) - 3600), now=now)
    assert not is_fresh("yesterday", now=now)
    assert not is_fresh(None, now=now)


def _sign(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _hmac_key(secret: str) -> bytes:
    """The key HMAC-SHA256 really uses (RFC 2104): one longer than the 64-byte block is hashed first, and then
    every key is padded with zero bytes to the block, so "k" and "k\\x00" are one key and give one MAC."""
    key = secret.encode()
    if len(key) > hashlib.sha256().block_size:
        key = hashlib.sha256(key).digest()
    return key.ljust(hashlib.sha256().block_size, b"\x00")


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=512), flip=st.integers(min_value=0), secret=st.text(min_size=1, max_size=40))
def test_any_change_to_the_body_is_rejected(body: bytes, flip: int, secret: str):
    header = _sign(body, secret)
    assert verify_webhook_hmac(body, header, [secret])
    tampered = body + b"x" if not body else body[: flip % len(body)] + bytes([body[flip % len(body)] ^ 1]) + body[flip % len(body) + 1:]
    assert not verify_webhook_hmac(tampered, header, [secret])


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=256), header=st.text(max_size=60))
def test_any_other_header_is_rejected(body: bytes, header: str):
    real = _sign(body, "secret")
    if header.strip() != real:
        assert not verify_webhook_hmac(body, header, ["secret"])


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=256), position=st.integers(min_value=0, max_value=43),
       replacement=st.sampled_from(string.ascii_letters + string.digits + "+/="))
def test_the_real_header_with_one_character_changed_is_rejected(body: bytes, position: int, replacement: str):
    # Random strings (above) almost never come near the real header; these differ from it in one character only.
    real = _sign(body, "secret")
    assume(real[position] != replacement)
    assert verify_webhook_hmac(body, real, ["secret"])
    assert not verify_webhook_hmac(body, real[:position] + replacement + real[position + 1:], ["secret"])


def test_the_real_header_shortened_lengthened_or_recased_is_rejected():
    body = b'{"shop_id": 1}'
    real = _sign(body, "secret")
    assert verify_webhook_hmac(body, real, ["secret"])
    for near in (real[:-1], real.rstrip("="), real + "=", real + "A", real.swapcase(), real.encode().hex()):
        assert not verify_webhook_hmac(body, near, ["secret"]), near


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), secret=st.text(min_size=1, max_size=40), other=st.text(min_size=1, max_size=40))
def test_any_other_secret_is_rejected(body: bytes, secret: str, other: str):
    # Not merely `secret != other`: st.text generates "k" and "k\x00", which HMAC treats as one key.
    assume(_hmac_key(secret) != _hmac_key(other))
    assert not verify_webhook_hmac(body, _sign(body, other), [secret])


@st.composite
def changed_bodies(draw: st.DrawFn) -> tuple[bytes, bytes]:
    """A body and the same body changed: bytes inserted, deleted, replaced, prepended or appended, or cut short."""
    change = draw(st.sampled_from(["insert", "prepend", "append", "delete", "replace", "truncate"]))
    grows = change in ("insert", "prepend", "append")
    body = draw(st.binary(min_size=0 if grows else 1, max_size=512))
    extra = draw(st.binary(min_size=1 if grows else 0, max_size=64))
    if change == "insert":
        at = draw(st.integers(min_value=0, max_value=len(body)))
        return body, body[:at] + extra + body[at:]
    if change == "prepend":
        return body, extra + body
    if change == "append":
        return body, body + extra
    if change == "truncate":
        return body, body[:draw(st.integers(min_value=0, max_value=len(body) - 1))]
    start = draw(st.integers(min_value=0, max_value=len(body) - 1))
    end = draw(st.integers(min_value=start + 1, max_value=len(body)))
    changed = body[:start] + (extra if change == "replace" else b"") + body[end:]
    assume(changed != body)  # a replacement by the same bytes is no change
    return body, changed


SECRETS = st.text(min_size=1, max_size=40)


def rotating_settings(current: str, previous: str | None) -> Settings:
    return Settings(api_key="key", api_secret=current, api_secret_previous=previous, token_encryption_key="unused")


@settings(max_examples=200, deadline=None)
@given(change=changed_bodies(), current=SECRETS, previous=SECRETS)
def test_any_insertion_deletion_replacement_truncation_or_appended_bytes_are_rejected(
        change: tuple[bytes, bytes], current: str, previous: str):
    body, changed = change
    secrets = rotating_settings(current, previous).api_secrets
    for signer in (current, previous):
        header = _sign(body, signer)
        assert verify_webhook_hmac(body, header, secrets)
        assert not verify_webhook_hmac(changed, header, secrets)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=256), current=SECRETS, previous=SECRETS, other=SECRETS)
def test_while_rotating_the_current_and_previous_secrets_are_accepted_and_any_other_is_rejected(
        body: bytes, current: str, previous: str, other: str):
    assume(_hmac_key(other) not in (_hmac_key(current), _hmac_key(previous)))
    secrets = rotating_settings(current, previous).api_secrets
    assert verify_webhook_hmac(body, _sign(body, current), secrets)
    assert verify_webhook_hmac(body, _sign(body, previous), secrets)
    assert not verify_webhook_hmac(body, _sign(body, other), secrets)


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=256), current=SECRETS, previous=SECRETS, unset=st.sampled_from([None, ""]))
def test_without_a_previous_secret_configured_the_previous_one_is_rejected(
        body: bytes, current: str, previous: str, unset: str | None):
    assume(_hmac_key(previous) != _hmac_key(current))
    secrets = rotating_settings(current, unset).api_secrets
    assert verify_webhook_hmac(body, _sign(body, current), secrets)
    assert not verify_webhook_hmac(body, _sign(body, previous), secrets)
