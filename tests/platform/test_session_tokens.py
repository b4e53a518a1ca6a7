"""Session tokens: what Shopify signs is accepted, anything else is not."""

from __future__ import annotations

import time

import jwt
import pytest

from shopify_app.errors import InvalidSessionTokenError
from shopify_app.platform.session_tokens import decode_session_token
from tests.signing import API_KEY, API_SECRET, PREVIOUS_SECRET, make_session_token

SHOP = "demo-shop.myshopify.com"
SECRETS = (API_SECRET, PREVIOUS_SECRET)


def decode(token: str):
    return decode_session_token(token, api_key=API_KEY, secrets=SECRETS)


def test_valid_token_gives_the_shop_from_dest():
    token = decode(make_session_token(SHOP))
    assert token.shop == SHOP and token.user_id == "42"


def test_previous_secret_is_accepted_during_rotation():
    assert decode(make_session_token(SHOP, secret=PREVIOUS_SECRET)).shop == SHOP


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(make_session_token(SHOP, secret="wrong-secret-0123456789abcdef0123456789"), id="bad-signature"),
        pytest.param(make_session_token(SHOP, aud="another-app"), id="wrong-aud"),
        pytest.param(make_session_token(SHOP, now=time.time() - 120), id="expired"),
        # Built at collection time: far enough ahead that a long suite cannot reach nbf before this test runs.
        pytest.param(make_session_token(SHOP, nbf=int(time.time()) + 3600, exp=int(time.time()) + 7200),
                     id="not-yet-valid"),
        pytest.param(make_session_token(SHOP, iss="https://evil-shop.myshopify.com/admin"), id="iss-dest-mismatch"),
        pytest.param(make_session_token("evil.example.com"), id="not-a-shop"),
        pytest.param(make_session_token(SHOP, exp=None), id="no-exp"),
        pytest.param(make_session_token(SHOP, nbf=None), id="no-nbf"),
        pytest.param(jwt.encode({"iss": f"https://{SHOP}/admin", "dest": f"https://{SHOP}", "aud": API_KEY},
                                key=None, algorithm="none"), id="alg-none"),
        pytest.param("not.a.jwt", id="garbage"),
        pytest.param("", id="empty"),
    ],
)
def test_invalid_tokens_are_rejected(token: str):
    with pytest.raises(InvalidSessionTokenError):
        decode(token)


def test_rs256_token_is_rejected():
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = make_session_token(SHOP, secret=key, algorithm="RS256")  # type: ignore[arg-type]
    with pytest.raises(InvalidSessionTokenError, match="HS256"):
        decode(token)


def test_clock_skew_within_ten_seconds_is_tolerated():
    assert decode(make_session_token(SHOP, nbf=int(time.time()) + 5)).shop == SHOP
    with pytest.raises(InvalidSessionTokenError):
        decode(make_session_token(SHOP, exp=int(time.time()) - 15))
