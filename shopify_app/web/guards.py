"""One guard per trust boundary; routes never check authentication themselves.

- webhooks: :func:`webhook_signed` (base64 HMAC of the raw body; ``web/webhooks.py`` answers in front of
  Flask);
- admin: :func:`session_token_required` for ``/api`` (Bearer token) and
  :func:`embedded_document_required` for pages (``id_token`` query parameter);
- OAuth redirects: :func:`oauth_hmac_required`;
- storefront via the app proxy: :func:`app_proxy_signature_required`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from flask import Response, g, jsonify, redirect, request

from shopify_app import db
from shopify_app.errors import InvalidSessionTokenError
from shopify_app.models import MAX_CUSTOMER_ID
from shopify_app.platform.domains import is_shop_domain, normalize_shop_domain
from shopify_app.platform.session_tokens import decode_session_token
from shopify_app.platform.signatures import (
    is_fresh,
    verify_app_proxy_signature,
    verify_oauth_hmac,
    verify_webhook_hmac,
)
from shopify_app.platform.webhooks import HMAC_HEADER
from shopify_app.services import shops
from shopify_app.web.context import settings

View = Callable[..., Any]
RETRY_INVALID_SESSION_HEADER = "X-Shopify-Retry-Invalid-Session-Request"
MAX_CUSTOMER_ID_DIGITS = len(str(MAX_CUSTOMER_ID))


WEBHOOK_UNAUTHORIZED = "Unauthorized"


def webhook_signed(raw_body: bytes, headers: Mapping[str, str], secrets: Sequence[str]) -> bool:
    """The webhook surface's guard, checked before anything of the delivery is parsed: the raw body carries a
    valid HMAC under the current or the previous secret. Otherwise the answer is 401 and nothing is stored."""
    return verify_webhook_hmac(raw_body, headers.get(HMAC_HEADER), secrets)


def _verified_session_token(token: str | None) -> None:
    session_token = decode_session_token(token, api_key=settings().api_key, secrets=settings().api_secrets)
    g.session_token = session_token
    g.shop_domain = session_token.shop


def session_token_required(view: View) -> View:
    """For ``fetch`` calls from the embedded admin: ``Authorization: Bearer <session token>``.

    Sets ``g.shop`` (the only shop the route may touch). A bad token gets 401 with
    the header that tells App Bridge to fetch a new token and retry.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        token = header[len("Bearer "):] if header.startswith("Bearer ") else None
        try:
            _verified_session_token(token)
        except InvalidSessionTokenError:
            response = jsonify(error="Invalid or expired session token.")
            response.status_code = 401
            response.headers[RETRY_INVALID_SESSION_HEADER] = "1"
            return response
        g.shop = shops.find_shop(db.session(), g.shop_domain)
        if g.shop is None:
            db.begin_write(db.session())
            g.shop = shops.get_or_create_shop(db.session(), g.shop_domain)
            db.session().commit()
        return view(*args, **kwargs)

    return wrapped


def embedded_document_required(view: View) -> View:
    """For page loads inside Shopify admin, which carry ``id_token`` in the query.

    Without a valid one, send the browser to the bounce page, where App Bridge
    gets a fresh token and reloads the page (Shopify's ``shopify-reload`` pattern).
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            _verified_session_token(request.args.get("id_token"))
        except InvalidSessionTokenError:
            shop = request.args.get("shop")
            if not is_shop_domain(shop):
                return Response("Open this app from your Shopify admin.", status=400, mimetype="text/plain")
            reload_query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != "id_token"])
            bounce_query = urlencode({"shop": normalize_shop_domain(shop), "host": request.args.get("host", ""),
                                      "shopify-reload": f"{request.path}?{reload_query}"})
            return redirect(f"/auth/session-token?{bounce_query}", code=302)
        return view(*args, **kwargs)

    return wrapped


def oauth_hmac_required(view: View) -> View:
    """OAuth redirects: a hex HMAC over the sorted query, and a fresh timestamp."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        pairs = list(request.args.items(multi=True))
        if not verify_oauth_hmac(pairs, settings().api_secrets) or not is_fresh(request.args.get("timestamp")):
            return Response("Invalid OAuth signature.", status=401, mimetype="text/plain")
        return view(*args, **kwargs)

    return wrapped


APP_PROXY_UNAUTHORIZED = "Invalid app proxy signature."


def app_proxy_identity(pairs: Sequence[tuple[str, str]], secrets: Sequence[str]) -> tuple[str, int | None] | None:
    """The shop and logged-in customer (None for a guest) of a signed, fresh app-proxy query; None if it is not.

    ``pairs``: the query's parameters in order, repeated keys included. Also used by the consent
    endpoint, which is served in front of Flask (``web/storefront.py``).
    """
    values = dict(reversed(pairs))  # the first value of each key, as MultiDict.get gives it
    shop = values.get("shop")
    if (not verify_app_proxy_signature(pairs, secrets) or not is_fresh(values.get("timestamp"))
            or not is_shop_domain(shop)):
        return None
    customer_id = values.get("logged_in_customer_id") or ""
    # ASCII digits only ("²".isdigit() is true) and within BIGINT; anything else is a guest.
    is_id = customer_id.isascii() and customer_id.isdigit() and len(customer_id) <= MAX_CUSTOMER_ID_DIGITS
    return normalize_shop_domain(shop), int(customer_id) if is_id and int(customer_id) <= MAX_CUSTOMER_ID else None


def app_proxy_signature_required(view: View) -> View:
    """App-proxy requests: a hex signature over the concatenated sorted query, and a fresh timestamp.

    Sets ``g.shop_domain`` and ``g.logged_in_customer_id`` (None for guests) from the signed query.
    """

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        identity = app_proxy_identity(list(request.args.items(multi=True)), settings().api_secrets)
        if identity is None:
            return Response(APP_PROXY_UNAUTHORIZED, status=401, mimetype="text/plain")
        g.shop_domain, g.logged_in_customer_id = identity
        return view(*args, **kwargs)

    return wrapped
