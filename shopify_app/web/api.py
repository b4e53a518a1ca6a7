"""JSON API for the embedded admin. Every route: session token, and only ``g.shop``'s rows."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from shopify_app import db
from shopify_app.errors import MalformedPayloadError, NotFoundError
from shopify_app.models import PrivacyRequest, RequestKind, RequestStatus, ShopSettings, utcnow
from shopify_app.services import banner, consent, privacy_requests, report_downloads
from shopify_app.web.context import admin_client, settings, token_cipher
from shopify_app.web.guards import session_token_required
from shopify_app.web.params import page_args

bp = Blueprint("api", __name__, url_prefix="/api")



def _choice(name: str, allowed: type[RequestStatus] | type[RequestKind]) -> str | None:
    value = request.args.get(name) or None
    if value is not None and value not in {member.value for member in allowed}:
        raise MalformedPayloadError(f"Unknown {name}: {value!r}.")
    return value


def _request_json(r: PrivacyRequest) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": r.id, "kind": r.kind, "source": r.source, "status": r.status, "customer_email": r.customer_email,
        "received_at": r.received_at.isoformat(), "due_at": r.due_at.isoformat(),
        "completed_at": r.completed_at.isoformat() if r.completed_at else None,
        "closed_at": r.closed_at.isoformat() if r.closed_at else None,
        "overdue": r.due_at < now and r.status not in (RequestStatus.COMPLETED, RequestStatus.CLOSED),
        "failure_reason": r.failure_reason,
    }


@bp.get("/shop")
@session_token_required
def shop() -> Response:
    settings_row = db.session().get(ShopSettings, g.shop.id)
    return jsonify(domain=g.shop.domain, installed=g.shop.is_installed,
                   installed_at=g.shop.installed_at.isoformat() if g.shop.installed_at else None,
                   settings={"contact_email": settings_row.contact_email if settings_row else None,
                             "report_language": settings_row.report_language if settings_row else "auto"})


@bp.get("/privacy-requests")
@session_token_required
def list_privacy_requests() -> Response:
    limit, offset = page_args()
    rows = privacy_requests.list_requests(db.session(), g.shop.id, status=_choice("status", RequestStatus),
                                          kind=_choice("kind", RequestKind), limit=limit, offset=offset)
    return jsonify(requests=[_request_json(r) for r in rows], limit=limit, offset=offset)


@bp.get("/privacy-requests/<int:privacy_request_id>")
@session_token_required
def get_privacy_request(privacy_request_id: int) -> Response:
    return jsonify(_request_json(privacy_requests.get_request(db.session(), g.shop.id, privacy_request_id)))


@bp.get("/privacy-requests/<int:privacy_request_id>/report")
@session_token_required
def download_report(privacy_request_id: int) -> Response:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "html"):
        raise MalformedPayloadError("format must be json or html.")
    download = report_downloads.download_report(db.session(), g.shop.id, privacy_request_id, fmt,
                                                actor=f"merchant:{g.session_token.user_id}")
    if download is None:
        raise NotFoundError("No report for this request (not compiled yet, or purged after 30 days).")
    response = Response(download.body, mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- consent proofs and the storefront banner ------------------------------------------


@bp.get("/consent-records")
@session_token_required
def list_consent_records() -> Response:
    limit, offset = page_args()
    rows = consent.list_consent_records(db.session(), g.shop.id, **consent.parse_filters(request.args),
                                        limit=limit, offset=offset)
    return jsonify(records=[consent.record_json(r) for r in rows], limit=limit, offset=offset)


@bp.get("/banner")
@session_token_required
def get_banner() -> Response:
    return jsonify(banner.get_banner_config(db.session(), g.shop))


@bp.put("/banner")
@session_token_required
def put_banner() -> Response:
    config = banner.update_banner(db.session(), admin_client(), token_cipher(), g.shop, request.get_json(silent=True),
                                  actor=f"merchant:{g.session_token.user_id}")
    return jsonify(config)


@bp.get("/banner/embed-status")
@session_token_required
def banner_embed_status() -> Response:
    status = banner.banner_embed_status(db.session(), admin_client(), token_cipher(), g.shop,
                                        api_key=settings().api_key)
    return jsonify(dataclasses.asdict(status))
