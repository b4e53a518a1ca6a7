"""The embedded admin's pages: the merchant's privacy desk, server-rendered inside Shopify admin.

Every page is a document load that carries the session token as ``id_token`` (checked
by :func:`embedded_document_required`) and shows only the token's shop. Pages never
write: the forms and buttons call the JSON API (``web/admin_api.py``) with
``Authorization: Bearer <session token>``. No cookies are used anywhere, so there is
nothing for a cross-site request to ride on.

Where the page's script gets the token (``static/admin/admin.js``):

* inside Shopify admin, from App Bridge: ``await shopify.idToken()`` (a fresh token each
  time; App Bridge also adds it to ``fetch`` on its own);
* otherwise (tests, or App Bridge not loaded because the CDN is unreachable), the
  ``id_token`` of the page's own URL, which is valid for about a minute after the load.

Links between pages carry ``shop``, ``host``, ``embedded`` and ``locale``; the script
adds a fresh ``id_token`` when one is clicked. Without the script, the guard sends the
browser to the bounce page, where App Bridge fetches a token and reloads the page.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import Blueprint, Response, abort, g, render_template, request, stream_with_context, url_for

from shopify_app import db, i18n, queue
from shopify_app.models import RequestKind, RequestStatus, Shop, ShopSettings, utcnow
from shopify_app.services import admin_views, consent_export, dashboard, privacy_requests, request_actions, shops
from shopify_app.services.consent import CATEGORIES
from shopify_app.services.settings_service import RETENTION_FIELDS, form_values
from shopify_app.web.context import admin_client, redis, settings, token_cipher
from shopify_app.web.guards import embedded_document_required

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__)

NAV = (
    ("admin.index", "nav.overview"),
    ("admin.requests", "nav.requests"),
    ("admin.consent_log", "nav.consent"),
    ("admin.settings_page", "nav.settings"),
    ("admin.audit_log", "nav.audit"),
)
EMBEDDED_PARAMS = ("host", "embedded", "locale")
SHOPIFY_LEGAL_URL = "https://admin.shopify.com/store/{store}/settings/legal"  # where the merchant edits the policy


def publish_banner_later(shop: Shop) -> None:
    """A new install gets the default banner configuration written to its theme metafield, by a job."""
    queue.try_enqueue_banner_publication(redis(), settings(), shop.id)


def _current_shop() -> Shop:
    """The token's shop; the first load runs token exchange (Shopify managed install), later loads only read."""
    return shops.install_with_session_token(db.session(), admin_client(), token_cipher(), g.shop_domain,
                                            g.session_token.raw, on_installed=publish_banner_later)


def _language() -> str:
    return i18n.language_from_locale(request.args.get("locale"))


def _embedded_params() -> dict[str, str]:
    # The shop comes from the verified token only, never from the query.
    params = {"shop": g.shop_domain}
    params.update({name: request.args[name] for name in EMBEDDED_PARAMS if request.args.get(name)})
    return params


def page_url(endpoint: str, **params: Any) -> str:
    """A link to another page of the admin, keeping the embedded context (never the token)."""
    return url_for(endpoint, **_embedded_params(), **{k: v for k, v in params.items() if v not in (None, "")})


def fmt_date(value: dt.datetime | dt.date | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def fmt_datetime(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _render(template: str, active: str, **context: Any) -> str:
    language = _language()
    return render_template(
        template, api_key=settings().api_key, lang=language, t=i18n.translator(language), nav=NAV, active=active,
        page_url=page_url, embedded_params=_embedded_params(), fmt_date=fmt_date, fmt_datetime=fmt_datetime,
        now=utcnow(), **context,
    )


# -- overview -------------------------------------------------------------------------------


def _banner_state(shop: Shop) -> dashboard.BannerState | None:
    """The theme's app embed state, read from Shopify by the banner service (None if that service is absent)."""
    try:
        from shopify_app.services import banner as banner_service
    except ImportError:
        return None
    session = db.session()
    revision = dashboard.banner_revision(session, shop.id)
    try:
        status = banner_service.banner_embed_status(session, admin_client(), token_cipher(), shop,
                                                    api_key=settings().api_key)
    except Exception as exc:  # noqa: BLE001 - Shopify being down must not take the overview down
        session.rollback()
        log.warning("Banner embed status unavailable for shop %s: %s", shop.id, type(exc).__name__)
        return dashboard.BannerState(enabled=None, deep_link=banner_service.embed_deep_link(shop.domain,
                                                                                           settings().api_key),
                                     revision=revision, reason=type(exc).__name__)
    return dashboard.BannerState(enabled=status.enabled, deep_link=status.deep_link, revision=revision,
                                 theme_name=status.theme_name)


@bp.get("/")
@embedded_document_required
def index() -> str:
    shop = _current_shop()
    session, language = db.session(), _language()
    return _render(
        "admin/overview.html", "admin.index", shop=shop,
        counts=dashboard.request_counts(session, shop.id), chart=dashboard.consent_chart(session, shop.id),
        banner=_banner_state(shop), findings=dashboard.policy_findings(session, shop.id, language),
        shopify_legal_url=SHOPIFY_LEGAL_URL.format(store=shop.domain.removesuffix(".myshopify.com")),
    )


# -- privacy requests -----------------------------------------------------------------------


@bp.get("/requests")
@embedded_document_required
def requests() -> str:
    shop = _current_shop()
    status = request.args.get("status") or None
    kind = request.args.get("kind") or None
    status = status if status in admin_views.STATUS_FILTERS else None
    kind = kind if kind in admin_views.KIND_FILTERS else None
    page = admin_views.list_requests_page(db.session(), shop.id, status=status, kind=kind,
                                          offset=admin_views.parse_offset(request.args.get("offset")))
    return _render("admin/requests.html", "admin.requests", shop=shop, page=page, status=status, kind=kind,
                   status_filters=admin_views.STATUS_FILTERS, kind_filters=admin_views.KIND_FILTERS,
                   is_overdue=admin_views.is_overdue)


@bp.get("/requests/<int:privacy_request_id>")
@embedded_document_required
def request_detail(privacy_request_id: int) -> str:
    shop = _current_shop()
    session, language = db.session(), _language()
    privacy_request = privacy_requests.get_request(session, shop.id, privacy_request_id)  # 404 if not this shop's
    return _render(
        "admin/request_detail.html", "admin.requests", shop=shop, r=privacy_request,
        overdue=admin_views.is_overdue(privacy_request),
        timeline=admin_views.request_timeline(session, shop.id, privacy_request.id, language),
        report=admin_views.report_info(session, shop.id, privacy_request.id),
        has_report=privacy_request.kind in privacy_requests.REPORT_KINDS,
        outcomes=request_actions.OUTCOMES, RequestStatus=RequestStatus, RequestKind=RequestKind,
    )


# -- consent log ----------------------------------------------------------------------------


@bp.get("/consent-log")
@embedded_document_required
def consent_log() -> str:
    shop = _current_shop()
    filters = admin_views.parse_consent_filters(request.args, _language())
    page = admin_views.consent_page(db.session(), shop.id, filters,
                                    offset=admin_views.parse_offset(request.args.get("offset")))
    valid_values = {k: v for k, v in filters.values.items() if v and k not in filters.errors}
    return _render("admin/consent_log.html", "admin.consent_log", shop=shop, page=page, filters=filters,
                   valid_values=valid_values, categories=CATEGORIES)


@bp.get("/consent-log/export.csv")
@embedded_document_required
def consent_export_csv() -> Response:
    """The whole filtered log as CSV, streamed row batch by row batch (see services/consent_export.py)."""
    shop = _current_shop()
    filters = admin_views.parse_consent_filters(request.args, _language())
    if filters.errors:
        abort(400, "; ".join(filters.errors.values()))
    session = db.session()
    consent_export.record_export(session, shop.id, actor=f"merchant:{g.session_token.user_id}",
                                 filters=filters.query_kwargs())
    body = consent_export.iter_consent_csv(session, shop.id, **filters.query_kwargs())
    response = Response(stream_with_context(body), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{consent_export.export_filename(utcnow())}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Accel-Buffering"] = "no"  # let a reverse proxy pass the chunks on as they come
    return response


# -- settings and audit log -----------------------------------------------------------------


@bp.get("/settings")
@embedded_document_required
def settings_page() -> str:
    shop = _current_shop()
    values = form_values(db.session().get(ShopSettings, shop.id))
    return _render("admin/settings.html", "admin.settings_page", shop=shop, values=values,
                   retention_fields=RETENTION_FIELDS)


@bp.get("/audit-log")
@embedded_document_required
def audit_log() -> str:
    shop = _current_shop()
    language = _language()
    page = admin_views.audit_page(db.session(), shop.id, offset=admin_views.parse_offset(request.args.get("offset")))
    return _render("admin/audit_log.html", "admin.audit_log", shop=shop, page=page,
                   describe_action=lambda e: admin_views.describe_action(e.action, e.detail or {}, language),
                   describe_actor=lambda e: admin_views.describe_actor(e.actor, language),
                   summarize=admin_views.summarize_detail)
