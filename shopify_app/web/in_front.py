"""The hot POST endpoints, answered in front of Flask.

Two endpoints take most of the traffic: every storefront visitor's consent proof (``POST /proxy/consent``,
``web/storefront.py``) and Shopify's compliance webhooks, which come in bursts (``POST /webhooks/<topic>``,
``web/webhooks.py``). There Flask's request machinery (contexts, routing, hooks, the response object) costs
more than the endpoint's own work (bench/README.md). So :class:`InFront`, a WSGI middleware, answers them
itself and passes every other request to Flask.

Each endpoint checks its signature with its surface's guard (``web/guards.py``) and sends the same security
headers as Flask's answers; its Flask route answers through the same function (:func:`flask_response`), so the
URL map (405 for other methods) and the answers are the same whichever serves the request.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from flask import Flask, Response
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_content_length

from shopify_app.web.headers import security_headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

EXTENSION_KEY = "web.in_front"
RETRY_AFTER_SECONDS = 5
"""What every 503 asks for (also Flask's, ``web/__init__.py``): the database or the batch failed, and the
sender (Shopify, the banner) sends again."""

Answer = tuple[int, list[tuple[str, str]], bytes]
Endpoint = Callable[[Flask, "WSGIEnvironment"], Answer]


class InFront:
    """WSGI middleware: answers ``POST`` to its paths itself and passes everything else to Flask."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._paths: dict[str, Endpoint] = {}
        self._prefixes: list[tuple[str, Endpoint]] = []

    def add(self, path: str, endpoint: Endpoint) -> None:
        """Answer ``path``, or every path under it if it ends with ``/``, with ``endpoint``."""
        if path.endswith("/"):
            self._prefixes.append((path, endpoint))
        else:
            self._paths[path] = endpoint

    def endpoint_for(self, environ: WSGIEnvironment) -> Endpoint | None:
        if environ.get("REQUEST_METHOD") != "POST":
            return None
        path = environ.get("PATH_INFO", "")
        endpoint = self._paths.get(path)
        if endpoint is None:
            for prefix, candidate in self._prefixes:
                if path.startswith(prefix) and len(path) > len(prefix):
                    return candidate
        return endpoint

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        endpoint = self.endpoint_for(environ)
        if endpoint is None:
            return self.wsgi_app(environ, start_response)
        try:
            status, headers, body = endpoint(self.app, environ)
        except Exception:
            log.exception("Exception on %s [POST]", environ.get("PATH_INFO"))
            status, headers, body = plain(500, HTTP_STATUS_CODES[500], None)
        start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
        return [body]


def serve_in_front(app: Flask, path: str, endpoint: Endpoint) -> None:
    """Answer ``POST path`` (see :meth:`InFront.add`) with ``endpoint`` before Flask; once per app."""
    in_front = app.extensions.get(EXTENSION_KEY)
    if in_front is None:
        in_front = app.extensions[EXTENSION_KEY] = InFront(app, app.wsgi_app)
        app.wsgi_app = in_front  # type: ignore[method-assign]
    in_front.add(path, endpoint)


def flask_response(answer: Answer) -> Response:
    """The same answer from the endpoint's Flask route."""
    status, headers, body = answer
    return Response(body, status=status, headers=headers)


def plain(status: int, message: str, shop_domain: str | None, *, retry_after: int | None = None) -> Answer:
    body = message.encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
               *security_headers(shop_domain).items()]
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    return status, headers, body


def read_body(environ: WSGIEnvironment, max_bytes: int) -> bytes:
    """The body, or its first ``max_bytes + 1`` bytes: enough for the caller to refuse a larger one.

    Like werkzeug's input stream: without ``Content-Length`` the body is read only if the server
    terminates the stream (``wsgi.input_terminated``: chunked requests), else it is empty.
    """
    length = get_content_length(environ)
    if length is None and "wsgi.input_terminated" not in environ:
        return b""
    remaining = max_bytes + 1 if length is None else min(length, max_bytes + 1)
    stream, chunks = environ["wsgi.input"], []
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
