"""``POST /webhooks/<topic>``: verify, store durably, answer 200, then queue the job."""

from __future__ import annotations

from flask import Blueprint, request

from shopify_app import db, queue
from shopify_app.platform.webhooks import WebhookDelivery
from shopify_app.services import privacy_requests
from shopify_app.web.context import redis, settings
from shopify_app.web.guards import webhook_hmac_required

bp = Blueprint("webhooks", __name__)


@bp.post("/webhooks/<path:topic>")
@webhook_hmac_required
def receive(topic: str) -> tuple[str, int]:
    """Record a delivery and queue its job; Shopify only needs a fast 200 once it is committed."""
    delivery = WebhookDelivery.from_request(topic, request.headers, request.get_data())  # 400 if malformed
    accepted = privacy_requests.accept_delivery(db.session(), delivery)  # commits; a redelivery is a no-op
    if accepted.privacy_request_id is not None and accepted.kind and not accepted.duplicate:
        # After the commit. If Redis is down this only logs: the sweeper queues it later.
        queue.try_enqueue_privacy_request(redis(), settings(), accepted.privacy_request_id, accepted.kind,
                                          new=accepted.created)
    return "", 200
