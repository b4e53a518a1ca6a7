"""The embedded admin's write actions, as JSON: retry a failed request, close a request, save the settings.

Each route: ``Authorization: Bearer <session token>`` (:func:`session_token_required`),
only ``g.shop``'s rows, a JSON body (a non-simple request, so no other site can send
it from a browser), and answers in the admin's language (``?locale=``). A form that
does not validate gets 422 with a message per field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from shopify_app import db, i18n, queue
from shopify_app.errors import MalformedPayloadError
from shopify_app.services import fulfilment, request_actions, settings_service
from shopify_app.services.request_actions import InvalidFormError
from shopify_app.web.context import redis, settings
from shopify_app.web.guards import session_token_required

bp = Blueprint("admin_api", __name__, url_prefix="/api")


def _language() -> str:
    return i18n.language_from_locale(request.args.get("locale") or request.accept_languages.best)


def _actor() -> str:
    return f"merchant:{g.session_token.user_id}"


def _json_object() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise MalformedPayloadError(i18n.translate(_language(), "error.json"))
    return data


@bp.errorhandler(InvalidFormError)
def _invalid_form(exc: InvalidFormError) -> tuple[Response, int]:
    return jsonify(error=str(exc), fields=exc.fields), 422


@bp.post("/privacy-requests/<int:privacy_request_id>/retry")
@session_token_required
def retry_privacy_request(privacy_request_id: int) -> Response:
    """Back to ``received``, committed, then queued (if Redis is down, the sweeper queues it within a minute)."""
    language = _language()
    privacy_request = request_actions.retry_failed_request(db.session(), g.shop.id, privacy_request_id,
                                                           actor=_actor(), language=language)
    queued = queue.try_enqueue_privacy_request(redis(), settings(), privacy_request.id, privacy_request.kind)
    message = i18n.translate(language, "detail.retry.done" if queued else "detail.retry.later")
    return jsonify(id=privacy_request.id, status=privacy_request.status, queued=queued, message=message)


@bp.post("/privacy-requests/<int:privacy_request_id>/close")
@session_token_required
def close_privacy_request(privacy_request_id: int) -> Response:
    language = _language()
    privacy_request = fulfilment.close(db.session(), settings(), g.shop.id, privacy_request_id, _json_object(),
                                       actor=_actor(), language=language)
    return jsonify(id=privacy_request.id, status=privacy_request.status, outcome=privacy_request.outcome,
                   closed_at=privacy_request.closed_at.isoformat() if privacy_request.closed_at else None,
                   message=i18n.translate(language, "detail.close.done"))


@bp.put("/settings")
@session_token_required
def save_settings() -> Response | tuple[Response, int]:
    language = _language()
    form = settings_service.parse_settings(_json_object(), language)
    if form.cleaned is None:
        return jsonify(error=i18n.translate(language, "common.fix_errors"), fields=form.errors), 422
    changed = settings_service.save_settings(db.session(), g.shop.id, form.cleaned, actor=_actor())
    return jsonify(saved=True, changed=changed, message=i18n.translate(language, "common.saved"))
