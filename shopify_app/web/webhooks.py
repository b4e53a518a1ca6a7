"""``POST /webhooks/<topic>``: verify, store durably, answer 200, then queue the job.

Answered in front of Flask (``web/in_front.py``): Shopify sends compliance webhooks in bursts (a merchant's
bulk erasure, a backlog after an outage), and Flask's request machinery cost more than the rest of the
delivery once the deliveries of a process are stored together (bench/README.md, webhook intake).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import EnvironHeaders
from werkzeug.exceptions import RequestEntityTooLarge

from shopify_app import db, queue
from shopify_app.errors import AppError
from shopify_app.platform.webhooks import WebhookDelivery
from shopify_app.services.webhook_intake import WebhookIntake
from shopify_app.web.guards import WEBHOOK_UNAUTHORIZED, webhook_signed
from shopify_app.web.in_front import RETRY_AFTER_SECONDS, Answer, flask_response, plain, read_body, serve_in_front

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

bp = Blueprint("webhooks", __name__)

INTAKE_KEY = "webhooks.intake"
PREFIX = "/webhooks/"


def webhook_intake(app: Flask) -> WebhookIntake:
    """The app's intake (one per process: gunicorn builds the app in each worker)."""
    intake = app.extensions.get(INTAKE_KEY)
    if intake is None:
        settings = app.config["SETTINGS"]
        intake = app.extensions.setdefault(INTAKE_KEY, WebhookIntake(
            db.get_sessionmaker(settings.database_url), app.extensions[queue.EXTENSION_KEY], settings,
            autocommit_engine=db.autocommit_engine_for(settings.database_url)))
    return intake


def answer_webhook(app: Flask, environ: WSGIEnvironment) -> Answer:
    """The whole of ``POST /webhooks/<topic>``: 413 (too large), 401 (bad HMAC), 400 (malformed), 503 (not
    stored: Shopify delivers again) or 200 once the delivery is committed. Concurrent deliveries are committed
    together (``services/webhook_intake.py``); a redelivery is a no-op, and if Redis is down the sweeper queues
    the job later."""
    with webhook_intake(app).in_flight():
        return _answer_webhook(app, environ)


def _answer_webhook(app: Flask, environ: WSGIEnvironment) -> Answer:
    settings = app.config["SETTINGS"]
    raw_body = read_body(environ, settings.max_body_bytes)
    if len(raw_body) > settings.max_body_bytes:
        return plain(RequestEntityTooLarge.code, RequestEntityTooLarge.description, None)
    headers = EnvironHeaders(environ)
    if not webhook_signed(raw_body, headers, settings.api_secrets):
        return plain(401, WEBHOOK_UNAUTHORIZED, None)
    topic = environ["PATH_INFO"][len(PREFIX):]
    try:
        delivery = WebhookDelivery.from_request(topic, headers, raw_body)  # MalformedPayloadError: 400
        webhook_intake(app).submit(delivery)  # IntakeUnavailable: 503
    except AppError as exc:
        retry_after = RETRY_AFTER_SECONDS if exc.status_code == 503 else None
        return plain(exc.status_code, str(exc), None, retry_after=retry_after)
    return plain(200, "", None)


@bp.record_once
def _serve_webhooks_in_front(state: BlueprintSetupState) -> None:
    serve_in_front(state.app, PREFIX, answer_webhook)


@bp.post(f"{PREFIX}<path:topic>")
def receive(topic: str) -> Response:
    """Answered in front of Flask (``web/in_front.py``); this route gives the same answer without it."""
    return flask_response(answer_webhook(current_app._get_current_object(), request.environ))  # type: ignore[attr-defined]
