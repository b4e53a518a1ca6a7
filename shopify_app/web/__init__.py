"""The HTTP layer: one blueprint per trust boundary, and the error answers shared by all."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter, ValidationError

from shopify_app.errors import AppError
from shopify_app.web import (
    admin,
    admin_api,
    api,
    auth,
    fulfilment_api,
    headers,
    health,
    in_front,
    proxy,
    storefront,
    webhooks,
)

log = logging.getLogger(__name__)

MAX_ROW_ID = 2**31 - 1  # the id columns are PostgreSQL ``integer``


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in our URLs is always a row id: past what an id column holds, no route matches (404).

    Without the bound, ``/api/privacy-requests/2147483648`` was a 500 on PostgreSQL (integer out of
    range) and ``…/9223372036854775808`` one on SQLite (too large for its INTEGER).
    """

    def to_python(self, value: str) -> int:
        number: int = super().to_python(value)
        if number > MAX_ROW_ID:
            raise ValidationError()
        return number


def _error(status: int, message: str) -> Response:
    if request.path.startswith("/api/"):
        response = jsonify(error=message)
    else:
        response = Response(message, mimetype="text/plain")
    response.status_code = status
    return response


def _handle_app_error(exc: AppError) -> Response:
    if exc.status_code == 503:
        return _unavailable()
    return _error(exc.status_code, str(exc))


def _handle_http_error(exc: HTTPException) -> Response:
    return _error(exc.code or 500, exc.description or exc.name)


def _handle_database_unavailable(exc: OperationalError) -> Response:
    # Nothing was committed: a 503 makes Shopify deliver again later.
    log.error("Database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
    return _unavailable()


def _unavailable() -> Response:
    response = _error(503, "Temporarily unavailable.")
    response.headers["Retry-After"] = str(in_front.RETRY_AFTER_SECONDS)
    return response


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = RowIdConverter  # before any rule is added
    for module in (webhooks, admin, admin_api, api, auth, health, storefront, proxy, fulfilment_api):
        app.register_blueprint(module.bp)
    headers.init_app(app)
    app.register_error_handler(AppError, _handle_app_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(OperationalError, _handle_database_unavailable)
