"""The HTTP layer: one blueprint per trust boundary, and the error answers shared by all."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from shopify_app.errors import AppError
from shopify_app.web import admin, admin_api, api, auth, fulfilment_api, headers, health, proxy, storefront, webhooks

log = logging.getLogger(__name__)


def _error(status: int, message: str) -> Response:
    if request.path.startswith("/api/"):
        response = jsonify(error=message)
    else:
        response = Response(message, mimetype="text/plain")
    response.status_code = status
    return response


def _handle_app_error(exc: AppError) -> Response:
    return _error(exc.status_code, str(exc))


def _handle_http_error(exc: HTTPException) -> Response:
    return _error(exc.code or 500, exc.description or exc.name)


def _handle_database_unavailable(exc: OperationalError) -> Response:
    # Nothing was committed: a 503 makes Shopify deliver again later.
    log.error("Database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
    response = _error(503, "Temporarily unavailable.")
    response.headers["Retry-After"] = "5"
    return response


def init_app(app: Flask) -> None:
    for module in (webhooks, admin, admin_api, api, auth, health, storefront, proxy, fulfilment_api):
        app.register_blueprint(module.bp)
    headers.init_app(app)
    app.register_error_handler(AppError, _handle_app_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(OperationalError, _handle_database_unavailable)
