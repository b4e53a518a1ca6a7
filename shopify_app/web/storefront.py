"""The storefront surface: consent proofs through the app proxy, and the banner script for headless shops.

- ``POST /proxy/consent``: Shopify's app proxy forwards the banner's ``POST /apps/privacy/consent``
  here with ``shop``, ``logged_in_customer_id``, ``path_prefix``, ``timestamp`` and ``signature``
  in the query (cookies stripped). Signed and fresh, or 401; then 400 (malformed), 429 (rate
  limited) or 204. It is same-origin for the storefront (the shop's own domain), so no CORS.
- ``GET /storefront/consent-banner.js?shop=…``: public. ``window.PrivacyConsentConfig={…};``, the
  stylesheet injector and the banner. Cached for 5 minutes and served stale for a day while it
  revalidates; the strong ETag makes revalidation a 304. (No revision in the URL: the policy URL
  can change without a new revision, and five minutes is short enough for a merchant's edit.)
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Response, current_app, g, request

from shopify_app import db
from shopify_app.errors import NotFoundError
from shopify_app.platform.domains import normalize_shop_domain
from shopify_app.services import banner, consent
from shopify_app.services.rate_limits import FixedWindowLimiter, RateLimitExceeded
from shopify_app.web.context import redis
from shopify_app.web.guards import app_proxy_signature_required

bp = Blueprint("storefront", __name__)

SCRIPT_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=86400"
LIMITER_KEY = "storefront.consent_limiter"


def _limiter() -> FixedWindowLimiter:
    limiter = current_app.extensions.get(LIMITER_KEY)
    if limiter is None:
        limiter = current_app.extensions.setdefault(LIMITER_KEY, FixedWindowLimiter(redis()))
    return limiter


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded) -> Response:
    return Response(str(exc), status=429, mimetype="text/plain", headers={"Retry-After": str(exc.retry_after)})


@bp.post("/proxy/consent")
@app_proxy_signature_required
def record_consent() -> Response:
    event = consent.ConsentInput.from_body(
        request.get_data(cache=False),
        customer_id=g.logged_in_customer_id,
        client_ip=consent.client_ip(request.headers.get("X-Forwarded-For"), request.remote_addr),
        user_agent=request.headers.get("User-Agent"),
    )
    consent.record_consent(db.session(), g.shop_domain, event, limiter=_limiter())
    return Response(status=204)


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
