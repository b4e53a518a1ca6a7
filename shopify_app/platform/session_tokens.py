"""Session tokens (App Bridge ``id_token``): HS256 JWTs signed with the app secret.

Decoding is delegated to the ShopifyAPI package (``shopify.session_token``),
which pins HS256, checks ``aud``, ``exp``/``nbf`` with a 10 s leeway and that
``iss`` and ``dest`` are the same myshopify host. We add what it leaves out:
rotation across secrets, ``exp``/``nbf`` being present at all, and a typed result.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from urllib.parse import urlsplit

import jwt
import shopify.session_token as shopify_session_token

from shopify_app.errors import InvalidSessionTokenError, InvalidShopDomainError
from shopify_app.platform.domains import normalize_shop_domain

JWT_LEEWAY_SECONDS = shopify_session_token.LEEWAY_SECONDS
assert JWT_LEEWAY_SECONDS <= 10, "Shopify allows at most 10 s of clock skew"


@dataclasses.dataclass(frozen=True)
class SessionToken:
    """The verified claims we use. ``shop`` comes only from here, never from a query parameter."""

    shop: str
    user_id: str
    session_id: str
    expires_at: int
    raw: str


def decode_session_token(token: str | None, *, api_key: str, secrets: Sequence[str]) -> SessionToken:
    """Verify a session token against the current and previous secrets, or raise :class:`InvalidSessionTokenError`."""
    if not token:
        raise InvalidSessionTokenError("Missing session token.")
    _reject_unexpected_algorithm(token)
    first_error: Exception | None = None
    for secret in secrets:
        try:
            claims = shopify_session_token.decode_from_header(f"Bearer {token}", api_key, secret)
            break
        except shopify_session_token.SessionTokenError as exc:
            first_error = first_error or exc
    else:
        raise InvalidSessionTokenError(f"Invalid session token: {first_error}") from first_error

    if "exp" not in claims or "nbf" not in claims:
        raise InvalidSessionTokenError("Session token lacks exp or nbf.")
    try:
        shop = normalize_shop_domain(urlsplit(claims["dest"]).hostname)
    except InvalidShopDomainError as exc:
        raise InvalidSessionTokenError("Session token dest is not a shop.") from exc
    return SessionToken(
        shop=shop,
        user_id=str(claims.get("sub", "")),
        session_id=str(claims.get("sid", "")),
        expires_at=int(claims["exp"]),
        raw=token,
    )


def _reject_unexpected_algorithm(token: str) -> None:
    # PyJWT already refuses anything but HS256 here; checking the header first
    # gives a clear message for "none" and RS256 tokens.
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidSessionTokenError("Malformed session token.") from exc
    if header.get("alg") != shopify_session_token.ALGORITHM:
        raise InvalidSessionTokenError("Session token must be HS256.")
