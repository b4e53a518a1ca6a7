"""The storefront's privacy request page, served through the app proxy (``/apps/privacy`` → ``/proxy``).

Every route is behind :func:`app_proxy_signature_required`: only Shopify can call it, and the
shop and the logged-in customer come from the signed query. Pages answer
``application/liquid`` so Shopify renders them inside the shop's theme. Shopify strips cookies
both ways, so there is no session and no CSRF token: the signature and rate limits protect the form.

Shopify sends no language with proxy requests; the page follows a ``locale`` query parameter
(the theme may link to ``/apps/privacy?locale={{ request.locale.iso_code }}``), else the
browser's ``Accept-Language``, and offers a FR/EN switch.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, request
from markupsafe import Markup, escape

from shopify_app import db, i18n, mail
from shopify_app.errors import MalformedPayloadError, NotFoundError
from shopify_app.services import access_reports, consent, notifications, storefront_requests
from shopify_app.services.rate_limits import FixedWindowLimiter, RateLimitExceeded
from shopify_app.services.storefront_requests import InvalidLinkError, InvalidSubmissionError, Submission
from shopify_app.web.context import redis, settings
from shopify_app.web.guards import app_proxy_signature_required
from shopify_app.web.proxy_texts import TEXTS

bp = Blueprint("proxy", __name__)

LIQUID = "application/liquid"
LIMITER_KEY = "proxy.rate_limiter"
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _liquid_safe(value: Any) -> Markup:
    """HTML-escape, and write ``{`` ``}`` as entities so no value can open a Liquid tag."""
    if isinstance(value, Markup):
        return value
    text = "" if value is None else str(escape(value))
    return Markup(text.replace("{", "&#123;").replace("}", "&#125;"))


def _limiter() -> FixedWindowLimiter:
    limiter = current_app.extensions.get(LIMITER_KEY)
    if limiter is None:
        limiter = current_app.extensions.setdefault(LIMITER_KEY, FixedWindowLimiter(redis()))
    return limiter


def _language() -> str:
    return i18n.language_from_locale(request.args.get("locale") or request.accept_languages.best_match(i18n.LANGUAGES))


def _prefix() -> str:
    return storefront_requests.path_prefix(request.args.get("path_prefix"))


def _ip() -> str:
    # Only a rate-limit key (hashed before Redis sees it); Shopify's proxy puts the shopper first in X-Forwarded-For.
    return consent.client_ip(request.headers.get("X-Forwarded-For"), request.remote_addr) or "unknown"


def _page(status: int = 200, **context: Any) -> Response:
    language = context.pop("lang", None) or _language()
    environment = current_app.jinja_env.overlay(finalize=_liquid_safe)
    variables = {"lang": language, "t": TEXTS[language], "prefix": _prefix(), "values": {}, "errors": {}, **context}
    body = environment.get_template("proxy/page.liquid.html").render(**variables)
    response = Response(body, status=status, mimetype=LIQUID)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _message(key: str, status: int, **values: str) -> Response:
    t = TEXTS[_language()]
    heading = t.get(f"{key}_title") or t["link_title"]
    return _page(status, view="message", heading=heading, message=str(t[key]).format(**values))


@bp.errorhandler(RateLimitExceeded)
def _too_many(exc: RateLimitExceeded) -> Response:
    response = _message("too_many", 429)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.errorhandler(InvalidLinkError)
def _invalid_link(exc: InvalidLinkError) -> Response:
    return _message(f"link_{exc.reason}", 410)


@bp.errorhandler(mail.MailError)
def _mail_down(_exc: mail.MailError) -> Response:
    response = _message("unavailable", 503)
    response.headers["Retry-After"] = "300"
    return response


@bp.errorhandler(NotFoundError)
def _unknown_shop(_exc: NotFoundError) -> Response:
    return _page(404, view="message", heading=TEXTS[_language()]["link_title"],
                 message=TEXTS[_language()]["unknown_shop"])


@bp.get("/proxy")
@app_proxy_signature_required
def form() -> Response:
    """The request form, in the shop's theme."""
    return _page(view="form")


@bp.post("/proxy/requests")
@app_proxy_signature_required
def submit() -> Response:
    """A shopper's request: recorded at once when logged in, else a confirmation email. Same answer for any email."""
    language = _language()
    try:
        submission = Submission.from_form(request.form, language)
    except InvalidSubmissionError as exc:
        return _page(422, view="form", errors=exc.fields, values=request.form.to_dict())
    intake = storefront_requests.submit(db.session(), settings(), _limiter(), shop_domain=g.shop_domain,
                                        submission=submission, customer_id=g.logged_in_customer_id, ip=_ip(),
                                        link_prefix=_prefix())
    if intake.outcome == "received" and intake.due_at is not None:
        return _message("received", 200, due=notifications.format_date(intake.due_at, language))
    return _message("check_inbox", 200)


@bp.get("/proxy/confirm")
@app_proxy_signature_required
def confirmation_page() -> Response:
    """The link from the confirmation email: a button that confirms. Opening the link alone changes nothing."""
    token = request.args.get("token", "")
    right = storefront_requests.check_confirmation_link(db.session(), _limiter(), shop_domain=g.shop_domain,
                                                        token=token, ip=_ip())
    t = TEXTS[_language()]
    label = next(str(name).lower() for value, name, _ in t["rights"] if value == right)  # type: ignore[attr-defined]
    return _page(view="confirm", token=token, message=str(t["confirm_intro"]).format(right=label))


@bp.post("/proxy/confirm")
@app_proxy_signature_required
def confirm() -> Response:
    """The confirmation page's button: the request now exists, due one month from now."""
    privacy_request = storefront_requests.confirm(db.session(), _limiter(), shop_domain=g.shop_domain,
                                                  token=request.form.get("token", ""), ip=_ip())
    return _message("confirmed", 200, due=notifications.format_date(privacy_request.due_at, _language()))


@bp.get("/proxy/report")
@app_proxy_signature_required
def report_page() -> Response:
    """The link from the report email: download buttons. Opening the link alone downloads nothing."""
    token = request.args.get("token", "")
    access_reports.check_download_link(db.session(), _limiter(), shop_domain=g.shop_domain, token=token, ip=_ip())
    message = str(TEXTS[_language()]["download_intro"]).format(max=access_reports.MAX_REPORT_DOWNLOADS)
    return _page(view="download", token=token, message=message)


@bp.post("/proxy/report")
@app_proxy_signature_required
def report() -> Response:
    """A download button: the compiled report, a few times within 7 days."""
    fmt = request.form.get("format", "html")
    if fmt not in ("html", "json"):
        raise MalformedPayloadError("format must be html or json.")
    download = access_reports.download_by_token(db.session(), _limiter(), shop_domain=g.shop_domain,
                                                token=request.form.get("token", ""), fmt=fmt, ip=_ip())
    response = Response(download.body, mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response.headers["Content-Security-Policy"] = REPORT_CSP
    response.headers["Cache-Control"] = "private, no-store"
    return response
