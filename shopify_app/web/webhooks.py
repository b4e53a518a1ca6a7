"""``POST /webhooks/<topic>``: verify, store durably, answer 200, then queue the job."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, request

from shopify_app import db, queue
from shopify_app.platform.webhooks import WebhookDelivery
from shopify_app.services.webhook_intake import WebhookIntake
from shopify_app.web.guards import webhook_hmac_required

bp = Blueprint("webhooks", __name__)

INTAKE_KEY = "webhooks.intake"


def webhook_intake(app: Flask) -> WebhookIntake:
    """The app's intake (one per process: gunicorn builds the app in each worker)."""
    intake = app.extensions.get(INTAKE_KEY)
    if intake is None:
        settings = app.config["SETTINGS"]
        intake = app.extensions.setdefault(INTAKE_KEY, WebhookIntake(
            db.get_sessionmaker(settings.database_url), app.extensions[queue.EXTENSION_KEY], settings,
            autocommit_engine=db.autocommit_engine_for(settings.database_url)))
    return intake


@bp.post("/webhooks/<path:topic>")
@webhook_hmac_required
def receive(topic: str) -> tuple[str, int]:
    """Record a delivery and queue its job; Shopify only needs a fast 200 once it is committed.

    Concurrent deliveries are committed together (``services/webhook_intake.py``); a redelivery is a
    no-op, and if Redis is down the sweeper queues the job later.
    """
    delivery = WebhookDelivery.from_request(topic, request.headers, request.get_data())  # 400 if malformed
    webhook_intake(current_app).submit(delivery)  # 503 (IntakeUnavailable) if it could not be committed
    return "", 200
