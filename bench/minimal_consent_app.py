"""The smallest sensible consent endpoint, as a yardstick for ours: verify the app-proxy signature, answer 204.

``POST /proxy/consent``: the hex HMAC-SHA256 of the sorted, concatenated query, compared in constant time.
No database, no Redis. Served like the app: ``gunicorn "bench.minimal_consent_app:create_app()"``.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from flask import Flask, Response, request


def create_app(api_secret: str | None = None) -> Flask:
    secret = (api_secret or os.environ["SHOPIFY_API_SECRET"]).encode()
    app = Flask(__name__)

    @app.post("/proxy/consent")
    def consent() -> Response:
        pairs = sorted((k, v) for k, v in request.args.items(multi=True) if k != "signature")
        grouped: dict[str, list[str]] = {}
        for key, value in pairs:
            grouped.setdefault(key, []).append(value)
        message = "".join(f"{key}={','.join(values)}" for key, values in grouped.items())
        expected = hmac.new(secret, message.encode(), hashlib.sha256).hexdigest().encode()
        if not hmac.compare_digest(expected, (request.args.get("signature") or "").encode()):
            return Response("Unauthorized", status=401)
        request.get_data()
        return Response(status=204)

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok")

    return app
