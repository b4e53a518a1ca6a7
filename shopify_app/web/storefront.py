"""The storefront surface: consent proofs through the app proxy, and the banner script for headless shops.

- ``POST /proxy/consent``: Shopify's app proxy forwards the banner's ``POST /apps/privacy/consent``
  here with ``shop``, ``logged_in_customer_id``, ``path_prefix``, ``timestamp`` and ``signature``
  in the query (cookies stripped). Signed and fresh, or 401; then 400 (malformed), 404 (unknown
  shop), 429 (rate limited), 503 (not stored: send it again) or 204 once the record is committed.
  It is same-origin for the storefront (the shop's own domain), so no CORS.
- ``GET /storefront/consent-banner.js?shop=…``: public. ``window.PrivacyConsentConfig={…};``, the
  stylesheet injector and the banner. Cached for 5 minutes and served stale for a day while it
  revalidates; the strong ETag makes revalidation a 304. (No revision in the URL: the policy URL
  can change without a new revision, and five minutes is short enough for a merchant's edit.)

Every visitor of every shop posts consent proofs, so ``POST /proxy/consent`` is answered in front of
Flask (``web/in_front.py``), with the signature check of the other proxy routes' guard
(:func:`guards.app_proxy_identity`). The records of concurrent requests are written together
(``services/consent_writer.py``).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import werkzeug.urls  # noqa: F401  (registers the "werkzeug.url_quote" codec error handler used below)
from flask import Blueprint, Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState

from shopify_app import db, queue
from shopify_app.errors import AppError, NotFoundError
from shopify_app.platform.domains import normalize_shop_domain
from shopify_app.services import banner, consent
from shopify_app.services.consent_writer import ConsentWriteFailed, ConsentWriter
from shopify_app.services.rate_limits import FixedWindowLimiter, RateLimitExceeded
from shopify_app.web.guards import APP_PROXY_UNAUTHORIZED, app_proxy_identity
from shopify_app.web.headers import security_headers
from shopify_app.web.in_front import RETRY_AFTER_SECONDS, Answer, flask_response, plain, read_body, serve_in_front

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

bp = Blueprint("storefront", __name__)

SCRIPT_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"
CONSENT_PATH = "/proxy/consent"
WRITER_KEY = "storefront.consent_writer"


def consent_writer(app: Flask) -> ConsentWriter:
    """The app's writer of consent records (one per process: gunicorn builds the app in each worker)."""
    writer = app.extensions.get(WRITER_KEY)
    if writer is None:
        url = app.config["SETTINGS"].database_url
        limiter = FixedWindowLimiter(app.extensions[queue.EXTENSION_KEY])
        writer = app.extensions.setdefault(WRITER_KEY, ConsentWriter(
            db.get_engine(url), limiter, autocommit_engine=db.autocommit_engine_for(url)))
    return writer


def answer_consent(app: Flask, environ: WSGIEnvironment) -> Answer:
    """The whole of ``POST /proxy/consent``: status, headers and body."""
    try:  # as werkzeug parses request.args
        query = environ.get("QUERY_STRING", "").encode("latin-1").decode()
    except UnicodeError:
        return plain(401, APP_PROXY_UNAUTHORIZED, None)
    pairs = parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote")
    identity = app_proxy_identity(pairs, app.config["SETTINGS"].api_secrets)
    if identity is None:
        return plain(401, APP_PROXY_UNAUTHORIZED, None)
    shop_domain, customer_id = identity
    try:
        event = consent.ConsentInput.from_body(
            read_body(environ, consent.MAX_BODY_BYTES),
            customer_id=customer_id,
            client_ip=consent.client_ip(environ.get("HTTP_X_FORWARDED_FOR"), environ.get("REMOTE_ADDR")),
            user_agent=environ.get("HTTP_USER_AGENT"),
        )
        consent_writer(app).submit(shop_domain, event)  # returns once committed
    except RateLimitExceeded as exc:
        return plain(429, str(exc), shop_domain, retry_after=exc.retry_after)
    except ConsentWriteFailed as exc:
        return plain(503, str(exc), shop_domain, retry_after=RETRY_AFTER_SECONDS)
    except AppError as exc:  # 400 malformed, 404 unknown shop
        return plain(exc.status_code, str(exc), shop_domain)
    return 204, list(security_headers(shop_domain).items()), b""


@bp.record_once
def _serve_consent_in_front(state: BlueprintSetupState) -> None:
    serve_in_front(state.app, CONSENT_PATH, answer_consent)


@bp.post(CONSENT_PATH)
def record_consent() -> Response:
    """Answered in front of Flask (``web/in_front.py``); this route gives the same answer without it."""
    return flask_response(answer_consent(current_app._get_current_object(), request.environ))  # type: ignore[attr-defined]


@bp.get("/storefront/consent-banner.js")
def banner_script() -> Response:
    shop_domain = normalize_shop_domain(request.args.get("shop"))  # 400 if not *.myshopify.com
    config = banner.find_storefront_config(db.session(), shop_domain)
    if config is None:
        raise NotFoundError("Unknown shop.")
    body = banner.storefront_script(config)
    response = Response(body, content_type="application/javascript; charset=utf-8")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.headers["Cache-Control"] = SCRIPT_CACHE_CONTROL
    return response.make_conditional(request)
