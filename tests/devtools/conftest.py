"""Fixtures for the Admin API double's own tests (one fresh double per test, real HTTP)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # allow running this directory on its own
    sys.path.insert(0, str(ROOT))

from devtools.admin_double import AdminApiDouble  # noqa: E402

KEY = "double-test-key"
SECRET = "double-test-secret"
DEMO = "demo-shop.myshopify.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def session_token(shop: str, *, key: str = KEY, secret: str = SECRET, **overrides: Any) -> str:
    """A Shopify-style session token (HS256 JWT), signed with hmac directly (PyJWT warns
    about short test secrets, and warnings are errors in this repo)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": key, "sub": "42",
        "exp": now + 60, "nbf": now, "iat": now, "jti": str(uuid.uuid4()), "sid": "s-1"}
    claims.update(overrides)
    signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + "." + \
        _b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


class Api:
    """Tiny GraphQL client for one shop of the double."""

    def __init__(self, double: AdminApiDouble, http: httpx.Client, shop: str = DEMO) -> None:
        self.double, self.http, self.shop = double, http, shop
        self.token = double.issue_access_token(shop)

    @property
    def base(self) -> str:
        return self.double.shop_url_template.format(shop=self.shop)

    def post(self, query: str, variables: dict[str, Any] | None = None, *,
             token: str | None = None, version: str = "2026-10",
             timeout: float = 5.0) -> httpx.Response:
        return self.http.post(f"{self.base}/admin/api/{version}/graphql.json",
                              json={"query": query, "variables": variables or {}},
                              headers={"X-Shopify-Access-Token": token or self.token},
                              timeout=timeout)

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST, expect HTTP 200 and no GraphQL errors; return ``data``."""
        response = self.post(query, variables)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    def for_shop(self, shop: str) -> Api:
        return Api(self.double, self.http, shop)


@pytest.fixture
def double() -> Iterator[AdminApiDouble]:
    with AdminApiDouble(KEY, SECRET) as instance:
        yield instance


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as client:
        yield client


@pytest.fixture
def api(double: AdminApiDouble, http: httpx.Client) -> Api:
    return Api(double, http)


@pytest.fixture
def make_session_token() -> Any:
    """The :func:`session_token` factory (test modules must not import conftest)."""
    return session_token
