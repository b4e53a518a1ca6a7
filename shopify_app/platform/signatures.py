"""Shopify's three HMAC flavours, each verified in one place, in constant time.

- webhooks: base64 HMAC-SHA256 of the raw body (``X-Shopify-Hmac-Sha256``);
- OAuth redirects: hex HMAC-SHA256 of the ``&``-joined, sorted query (``hmac``);
- app proxy: hex HMAC-SHA256 of the concatenated, sorted query (``signature``).

Every function takes a sequence of secrets so that a secret can be rotated
(``SHOPIFY_API_SECRET_PREVIOUS``) without dropping requests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping, Sequence

QUERY_SIGNATURE_MAX_AGE_SECONDS = 5 * 60
"""How old an OAuth redirect or app-proxy request may be (and how far in the future)."""


def _hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def verify_webhook_hmac(raw_body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """True if ``header`` is the base64 HMAC-SHA256 of ``raw_body`` under one of ``secrets``."""
    if not header:
        return False
    given = header.strip().encode()
    # Compare against every secret (no early exit) so timing says nothing about which one matched.
    matches = [hmac.compare_digest(base64.b64encode(_hmac_sha256(s, raw_body)), given) for s in secrets if s]
    return any(matches)


def oauth_query_message(pairs: Iterable[tuple[str, str]]) -> str:
    """The message Shopify signs on OAuth redirects: sorted ``key=value`` joined by ``&``, without ``hmac``.

    Keys and values are escaped as the ShopifyAPI package does (``%``, ``&`` and ``=``),
    and a repeated key is joined into a JSON-like list, as Shopify's libraries do.
    """
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key in ("hmac", "signature"):
            continue
        grouped.setdefault(key, []).append(value)

    def escape(text: str, *, is_key: bool) -> str:
        text = text.replace("%", "%25").replace("&", "%26")
        return text.replace("=", "%3D") if is_key else text

    parts = []
    for key in sorted(grouped):
        values = grouped[key]
        value = values[0] if len(values) == 1 else "[" + ", ".join(f'"{v}"' for v in values) + "]"
        parts.append(f"{escape(key, is_key=True)}={escape(value, is_key=False)}")
    return "&".join(parts)


def app_proxy_message(pairs: Iterable[tuple[str, str]]) -> str:
    """The message Shopify signs on app-proxy requests: sorted ``key=v1,v2`` concatenated, without ``signature``."""
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        if key == "signature":
            continue
        grouped.setdefault(key, []).append(value)
    return "".join(f"{key}={','.join(grouped[key])}" for key in sorted(grouped))


def sign_hex(message: str, secret: str) -> str:
    return _hmac_sha256(secret, message.encode()).hex()


def _verify_hex(message: str, given: str | None, secrets: Sequence[str]) -> bool:
    if not given:
        return False
    given_bytes = given.strip().lower().encode()
    matches = [hmac.compare_digest(sign_hex(message, s).encode(), given_bytes) for s in secrets if s]
    return any(matches)


def is_fresh(timestamp: str | None, *, now: float | None = None, max_age: int = QUERY_SIGNATURE_MAX_AGE_SECONDS) -> bool:
    """True if a signed ``timestamp`` parameter is within ``max_age`` seconds of now."""
    try:
        value = int(timestamp or "")
    except ValueError:
        return False
    current = time.time() if now is None else now
    return abs(current - value) <= max_age


def verify_oauth_hmac(query: Mapping[str, str] | Iterable[tuple[str, str]], secrets: Sequence[str]) -> bool:
    """True if the ``hmac`` parameter of an OAuth redirect verifies (the timestamp is checked separately)."""
    pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
    given = next((v for k, v in pairs if k == "hmac"), None)
    return _verify_hex(oauth_query_message(pairs), given, secrets)


def verify_app_proxy_signature(query: Iterable[tuple[str, str]], secrets: Sequence[str]) -> bool:
    """True if the ``signature`` parameter of an app-proxy request verifies (freshness is checked separately)."""
    pairs = list(query)
    given = next((v for k, v in pairs if k == "signature"), None)
    return _verify_hex(app_proxy_message(pairs), given, secrets)
