"""Test-side signers: real HMACs and real JWTs, made the way Shopify makes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt

API_KEY = "test-api-key"
API_SECRET = "test-api-secret-0123456789abcdef0123456789"
PREVIOUS_SECRET = "test-previous-secret-0123456789abcdef01234"


def sign_webhook(body: bytes, secret: str = API_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def webhook_headers(topic: str, body: bytes, *, shop: str, webhook_id: str | None = None,
                    secret: str = API_SECRET, event_id: str | None = None,
                    triggered_at: str = "2026-11-27T10:00:00.000Z") -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign_webhook(body, secret),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at,
        "X-Shopify-API-Version": "2026-10",
    }


def json_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def make_session_token(shop: str, *, api_key: str = API_KEY, secret: str = API_SECRET, algorithm: str = "HS256",
                       now: float | None = None, **overrides: Any) -> str:
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": api_key, "sub": "42",
        "exp": issued + 60, "nbf": issued, "iat": issued, "jti": str(uuid.uuid4()), "sid": "session-1",
    }
    claims.update(overrides)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, secret, algorithm=algorithm)


def sign_oauth_query(params: dict[str, str], secret: str = API_SECRET) -> dict[str, str]:
    # Written independently of the app's verifier, as Shopify's docs describe it.
    message = "&".join(f"{key}={params[key]}" for key in sorted(params))
    return {**params, "hmac": hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()}


def sign_proxy_query(params: list[tuple[str, str]], secret: str = API_SECRET) -> str:
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    message = "".join(f"{key}={','.join(grouped[key])}" for key in sorted(grouped))
    signature = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode([*params, ("signature", signature)])
