"""JSON API to fulfil storefront requests and to erase customers past retention.

Every route: ``Authorization: Bearer <session token>`` (:func:`session_token_required`), only
``g.shop``'s rows, a JSON body for writes. Jobs are queued after the service has committed;
if Redis is down the sweeper (or the hourly report-link check) queues them later.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from redis.exceptions import RedisError

from shopify_app import db, i18n, queue
from shopify_app.errors import MalformedPayloadError
from shopify_app.services import access_reports, fulfilment, retention_due
from shopify_app.services.request_actions import InvalidFormError
from shopify_app.services.shopify_customers import ShopifyRefusedError
from shopify_app.web.context import admin_client, redis, settings, token_cipher
from shopify_app.web.guards import session_token_required
from shopify_app.web.params import page_args

bp = Blueprint("fulfilment_api", __name__, url_prefix="/api")



def _actor() -> str:
    return f"merchant:{g.session_token.user_id}"


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise MalformedPayloadError("The body must be a JSON object.")
    return data


def _request_state(privacy_request: Any) -> dict[str, Any]:
    return {"id": privacy_request.id, "status": privacy_request.status, "due_at": privacy_request.due_at.isoformat(),
            "outcome": privacy_request.outcome}


@bp.errorhandler(InvalidFormError)
def _invalid_form(exc: InvalidFormError) -> tuple[Response, int]:
    return jsonify(error=str(exc), fields=exc.fields), 422


@bp.errorhandler(ShopifyRefusedError)
def _shopify_refused(exc: ShopifyRefusedError) -> tuple[Response, int]:
    return jsonify(error=str(exc), user_errors=exc.user_errors), 422


@bp.get("/privacy-requests/<int:privacy_request_id>/fulfilment")
@session_token_required
def details(privacy_request_id: int) -> Response:
    return jsonify(fulfilment.details(db.session(), g.shop, privacy_request_id))


@bp.post("/privacy-requests/<int:privacy_request_id>/fulfilment/extend")
@session_token_required
def extend(privacy_request_id: int) -> Response:
    """``{"months": 1|2, "reason": "…"}``: the reason is recorded and emailed to the shopper."""
    privacy_request = fulfilment.extend_deadline(db.session(), settings(), g.shop.id, privacy_request_id, _body(),
                                                 actor=_actor())
    return jsonify(_request_state(privacy_request))


@bp.post("/privacy-requests/<int:privacy_request_id>/fulfilment/access")
@session_token_required
def access(privacy_request_id: int) -> tuple[Response, int]:
    """``{"delivery": "email"|"merchant"}``: compile the report, then email the link (or the merchant downloads it)."""
    privacy_request, delivery = access_reports.start_access(db.session(), admin_client(), token_cipher(), g.shop.id,
                                                            privacy_request_id, _body(), actor=_actor())
    try:
        queue.enqueue_access_fulfilment(redis(), settings(), privacy_request.id, email_link=delivery == "email")
        queued = True
    except RedisError:
        queued = False  # committed as processing: the sweeper queues it
    return jsonify({**_request_state(privacy_request), "delivery": delivery, "queued": queued}), 202


@bp.post("/privacy-requests/<int:privacy_request_id>/fulfilment/erase")
@session_token_required
def erase(privacy_request_id: int) -> Response:
    """Shopify's ``customerRequestDataErasure`` and our own erasure, at once; the proof says what is kept and why."""
    proof = fulfilment.erase(db.session(), admin_client(), token_cipher(), settings(), g.shop.id, privacy_request_id,
                             actor=_actor())
    return jsonify(id=privacy_request_id, status="completed", proof=proof)


@bp.post("/privacy-requests/<int:privacy_request_id>/fulfilment/objection")
@session_token_required
def objection(privacy_request_id: int) -> Response:
    """``{"channels": ["email", "sms"]}`` (default: what the shopper chose): unsubscribed in Shopify."""
    states = fulfilment.apply_objection(db.session(), admin_client(), token_cipher(), settings(), g.shop.id,
                                        privacy_request_id, _body(), actor=_actor())
    return jsonify(id=privacy_request_id, status="completed", marketing_states=states)


@bp.post("/privacy-requests/<int:privacy_request_id>/fulfilment/record")
@session_token_required
def record(privacy_request_id: int) -> Response:
    """``{"note": "…"}``: a rectification or post-mortem directive handled in Shopify admin."""
    privacy_request = fulfilment.record_handling(db.session(), admin_client(), token_cipher(), settings(), g.shop.id,
                                                 privacy_request_id, _body(), actor=_actor())
    return jsonify(_request_state(privacy_request))


@bp.post("/privacy-requests/<int:privacy_request_id>/fulfilment/close")
@session_token_required
def close(privacy_request_id: int) -> Response:
    """``{"outcome": …, "note": …}`` (the admin's outcomes); the shopper is told the outcome."""
    language = i18n.language_from_locale(request.args.get("locale"))
    privacy_request = fulfilment.close(db.session(), settings(), g.shop.id, privacy_request_id, _body(),
                                       actor=_actor(), language=language)
    return jsonify(_request_state(privacy_request))


# -- customers past retention -------------------------------------------------------------


@bp.get("/retention-due")
@session_token_required
def retention_due_list() -> Response:
    limit, offset = page_args()
    return jsonify(retention_due.list_due(db.session(), g.shop, limit=limit, offset=offset))


@bp.post("/retention-due/scan")
@session_token_required
def retention_due_scan() -> tuple[Response, int]:
    """Search Shopify now rather than wait for the weekly run."""
    queued = queue.enqueue_retention_scan(redis(), settings(), g.shop.id)
    return jsonify(queued=queued), 202


@bp.post("/retention-due/erase")
@session_token_required
def retention_due_erase() -> tuple[Response, int]:
    """``{"all": true}`` or ``{"customer_ids": [...]}``: one batch job; its progress is at ``/batches/<id>``."""
    batch = retention_due.start_erasure(db.session(), g.shop.id, _body(), actor=_actor())
    queued = queue.enqueue_retention_erasure(redis(), settings(), batch.id)
    return jsonify({**retention_due.batch_json(batch), "queued": queued}), 202


@bp.get("/retention-due/batches/<int:batch_id>")
@session_token_required
def retention_due_batch(batch_id: int) -> Response:
    return jsonify(retention_due.batch_json(retention_due.get_batch(db.session(), g.shop.id, batch_id)))
