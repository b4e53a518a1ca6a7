"""The smallest sensible webhook intake, as a yardstick for ours.

``POST /webhooks/<topic>``: verify the base64 HMAC-SHA256 of the raw body in
constant time, then enqueue one RQ job (JSON serializer, unique job id from
``X-Shopify-Webhook-Id``) carrying the body's ``shop_id``. No database.

Served exactly like the app: ``gunicorn "bench.minimal_app:create_app()"``.
Reads ``SHOPIFY_API_SECRET`` and ``REDIS_URL`` from the environment.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os

from flask import Flask, Response, request
from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.serializers import JSONSerializer

QUEUE_NAME = "minimal"


def handle_delivery(shop_id: int) -> None:
    """The job; never run by the benchmark (jobs just accumulate)."""


def create_app(api_secret: str | None = None, redis_url: str | None = None) -> Flask:
    """Build the minimal app; by default from ``SHOPIFY_API_SECRET`` and ``REDIS_URL``."""
    secret = (api_secret or os.environ["SHOPIFY_API_SECRET"]).encode()
    redis = Redis.from_url(redis_url or os.environ["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)
    queue = Queue(QUEUE_NAME, connection=redis, serializer=JSONSerializer)
    app = Flask(__name__)

    @app.post("/webhooks/<path:topic>")
    def receive(topic: str) -> Response:
        raw = request.get_data()
        expected = base64.b64encode(hmac.new(secret, raw, hashlib.sha256).digest())
        given = (request.headers.get("X-Shopify-Hmac-Sha256") or "").strip().encode()
        webhook_id = request.headers.get("X-Shopify-Webhook-Id") or ""
        if not hmac.compare_digest(expected, given) or not webhook_id:
            return Response("Unauthorized", status=401)
        shop_id = json.loads(raw)["shop_id"]
        with contextlib.suppress(DuplicateJobError):  # a redelivery: already queued
            queue.enqueue(f"{__name__}.handle_delivery", shop_id, job_id=f"webhook-{webhook_id}", unique=True)
        return Response("", status=200)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", status=200)

    return app
