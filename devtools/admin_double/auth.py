"""OAuth endpoint of the double: ``POST /{shop}/admin/oauth/access_token``.

Grants (client_id/client_secret must match the app's api key/secret, else 401
``invalid_client``):

* token exchange: ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``,
  ``subject_token`` = session token (HS256 JWT signed with the api secret, ``aud`` = api
  key, not expired, ``dest`` host = shop in the URL), ``subject_token_type`` =
  ``urn:ietf:params:oauth:token-type:id_token``, ``requested_token_type`` =
  ``urn:shopify:params:oauth:token-type:offline-access-token``, optional ``expiring=1``;
* ``grant_type=refresh_token`` with ``refresh_token`` (single use; rotating it revokes the
  previous access token too);
* authorization code: ``code`` (from :meth:`TokenAuthority.issue_authorization_code`,
  single use), with no ``grant_type`` or ``grant_type=authorization_code``.

Expiring tokens answer ``expires_in``/``refresh_token``/``refresh_token_expires_in``;
non-expiring ones only ``access_token`` and ``scope``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

__all__ = ["TokenAuthority", "TokenRecord"]

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"
REFRESH_TOKEN_LIFETIME = 7_776_000  # 90 days, as Shopify

Answer = tuple[int, dict[str, Any]]


@dataclass
class TokenRecord:
    shop: str
    expires_at: float | None  # monotonic-free wall clock (time.time()); None = never
    refresh_token: str | None = None
    revoked: bool = False


class SessionTokenError(ValueError):
    pass


def _b64decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def verify_session_token(token: str, secret: str, audience: str,
                         leeway: float = 5.0) -> dict[str, Any]:
    """Verify an HS256 session token and return its claims.

    Implemented with :mod:`hmac` rather than PyJWT so short test secrets do not trigger
    PyJWT's ``InsecureKeyLengthWarning`` (an error under ``-W error``) in server threads.
    """
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_b64decode(header_b64))
        claims = json.loads(_b64decode(payload_b64))
        signature = _b64decode(signature_b64)
    except (ValueError, binascii.Error) as exc:
        raise SessionTokenError("malformed token") from exc
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise SessionTokenError("alg must be HS256")
    expected = hmac.new(secret.encode(), f"{header_b64}.{payload_b64}".encode(),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise SessionTokenError("signature verification failed")
    if not isinstance(claims, dict):
        raise SessionTokenError("claims must be an object")
    now = time.time()
    for claim in ("exp", "aud", "dest"):
        if claim not in claims:
            raise SessionTokenError(f"missing {claim!r} claim")
    if not isinstance(claims["exp"], (int, float)) or claims["exp"] <= now - leeway:
        raise SessionTokenError("token has expired")
    if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + leeway:
        raise SessionTokenError("token is not yet valid (nbf)")
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if audience not in audiences:
        raise SessionTokenError("audience doesn't match")
    return claims


def _error(status: int, error: str, description: str) -> Answer:
    return status, {"error": error, "error_description": description}


class TokenAuthority:
    """Issues and checks access tokens; thread-safe."""

    def __init__(self, api_key: str, api_secret: str,
                 scopes_for: Callable[[str], str]) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.scopes_for = scopes_for
        self.access_token_lifetime = 3600
        self.refresh_token_lifetime = REFRESH_TOKEN_LIFETIME
        self._lock = threading.Lock()
        self._access: dict[str, TokenRecord] = {}
        self._refresh: dict[str, tuple[str, float, str]] = {}  # rt -> (shop, expires, at)
        self._codes: dict[str, str] = {}
        #: one entry per successful grant: {"shop", "grant", "expiring"}
        self.grants: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- helpers
    def issue_authorization_code(self, shop: str) -> str:
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = shop
        return code

    def issue_access_token(self, shop: str, *, expiring: bool = False) -> dict[str, Any]:
        """Create a token directly (no HTTP); returns the same body as the endpoint."""
        with self._lock:
            return self._issue(shop, expiring, "direct")

    def expire_access_tokens(self, shop: str) -> None:
        """Make every current access token of ``shop`` expired (refresh tokens stay valid)."""
        with self._lock:
            for record in self._access.values():
                if record.shop == shop:
                    record.expires_at = time.time() - 1

    def revoke_access_tokens(self, shop: str) -> None:
        """What uninstalling the app does at once: every token of ``shop`` stops working."""
        with self._lock:
            for record in self._access.values():
                if record.shop == shop:
                    record.revoked = True

    def check(self, shop: str, token: str | None) -> bool:
        """Is ``token`` a valid, unexpired access token for ``shop``?"""
        if not token:
            return False
        with self._lock:
            record = self._access.get(token)
            return bool(record and record.shop == shop and not record.revoked and
                        (record.expires_at is None or record.expires_at > time.time()))

    def _issue(self, shop: str, expiring: bool, grant: str) -> dict[str, Any]:
        token = "shpat_" + secrets.token_hex(16)
        body: dict[str, Any] = {"access_token": token, "scope": self.scopes_for(shop)}
        record = TokenRecord(shop=shop, expires_at=None)
        if expiring:
            refresh = "shprt_" + secrets.token_hex(16)
            record.expires_at = time.time() + self.access_token_lifetime
            record.refresh_token = refresh
            self._refresh[refresh] = (shop, time.time() + self.refresh_token_lifetime, token)
            body.update(expires_in=self.access_token_lifetime, refresh_token=refresh,
                        refresh_token_expires_in=self.refresh_token_lifetime)
        self._access[token] = record
        self.grants.append({"shop": shop, "grant": grant, "expiring": expiring})
        return body

    # --------------------------------------------------------------- endpoint
    def handle(self, shop: str, params: Mapping[str, Any]) -> Answer:
        """Answer a token request; returns ``(http status, JSON body)``."""
        if params.get("client_id") != self.api_key:
            return _error(401, "invalid_client", "Client credentials are invalid: "
                                                 "unknown client_id.")
        if params.get("client_secret") != self.api_secret:
            return _error(401, "invalid_client", "Client credentials are invalid: "
                                                 "wrong client_secret.")
        grant = params.get("grant_type")
        expiring = str(params.get("expiring", "0")).lower() in ("1", "true")
        with self._lock:
            if grant == TOKEN_EXCHANGE:
                return self._token_exchange(shop, params, expiring)
            if grant == "refresh_token":
                return self._refresh_grant(shop, params)
            if grant in (None, "", "authorization_code"):
                code = params.get("code")
                if not code:
                    return _error(400, "invalid_request", "Missing parameter: code.")
                if self._codes.pop(str(code), None) != shop:
                    return _error(400, "invalid_grant", "The authorization code was not "
                                                        "found or was already used.")
                return 200, self._issue(shop, expiring, "authorization_code")
        return _error(400, "unsupported_grant_type", f"Unsupported grant_type {grant!r}.")

    def _token_exchange(self, shop: str, params: Mapping[str, Any], expiring: bool) -> Answer:
        if params.get("subject_token_type") != ID_TOKEN:
            return _error(400, "invalid_request", "subject_token_type must be " + ID_TOKEN)
        if params.get("requested_token_type") != OFFLINE_TOKEN:
            return _error(400, "invalid_request", "requested_token_type must be " + OFFLINE_TOKEN
                          + " (online tokens are not supported by the double)")
        try:
            claims = verify_session_token(str(params.get("subject_token", "")),
                                          self.api_secret, self.api_key)
        except SessionTokenError as exc:
            return _error(400, "invalid_subject_token", f"Invalid session token: {exc}")
        dest = str(claims.get("dest", ""))
        if (urlparse(dest).hostname or dest) != shop:
            return _error(400, "invalid_subject_token",
                          f"Session token dest {dest!r} does not match shop {shop!r}.")
        return 200, self._issue(shop, expiring, "token_exchange")

    def _refresh_grant(self, shop: str, params: Mapping[str, Any]) -> Answer:
        refresh = str(params.get("refresh_token", ""))
        entry = self._refresh.pop(refresh, None)
        if entry is None or entry[0] != shop or entry[1] < time.time():
            return _error(400, "invalid_grant", "Refresh token is invalid, expired or "
                                                "already used.")
        old = self._access.get(entry[2])
        if old is not None:
            old.revoked = True
        return 200, self._issue(shop, True, "refresh_token")
