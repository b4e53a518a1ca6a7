"""HTTP server of the Shopify Admin API double (werkzeug, threaded, in a daemon thread).

Routes (``{shop}`` is e.g. ``demo-shop.myshopify.com``):

* ``POST /{shop}/admin/oauth/access_token`` -- see :mod:`.auth`;
* ``POST /{shop}/admin/api/{version}/graphql.json`` -- 404 for a version other than
  ``api_version``; needs ``X-Shopify-Access-Token``;
* ``GET /_bulk/{token}.jsonl`` -- a bulk operation's result file (no token needed, like
  Shopify's signed storage URLs), see :mod:`.bulk`;
* ``/_double/...`` -- test controls, see :mod:`.control`.

GraphQL answers follow Shopify: HTTP 200 with ``errors`` for invalid documents
(``GRAPHQL_VALIDATION_FAILED``, deprecated fields included), throttling (``THROTTLED``) and
over-expensive queries (``MAX_COST_EXCEEDED``); ``extensions.cost`` on every executed query.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from graphql import GraphQLError, execute, parse
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import bulk, mutations, object_resolvers
from .auth import TokenAuthority
from .bulk import BulkOperations
from .cost import CostBucket, actual_cost, estimate_cost, is_mutation
from .data import Store
from .resolvers import RequestContext, field_resolver
from .schema import API_VERSION, load_admin_schema, protected_fields, validate_ast
from .seed import DEMO_SHOP
from .shop_api import ShopApiMixin

__all__ = ["AdminApiDouble", "FAILURE_KINDS", "MutationRecord"]

#: Importing these modules registers their resolvers.
_RESOLVER_MODULES = (bulk, mutations, object_resolvers)

FAILURE_KINDS = ("429", "throttled", "500", "502", "503", "slow")
_HTML_ERROR = "<!DOCTYPE html><html><head><title>{code}</title></head><body><h1>{code} " \
              "{reason}</h1><p>There was a problem loading this website.</p></body></html>"
_MAX_COST_MESSAGE = (
    "Query cost is {cost}, which exceeds the single query max cost limit ({limit}).\n\n"
    "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
    "cost of a query is calculated.\n\nTo query larger amounts of data with fewer limits, "
    "bulk operations should be used instead.\n")


class MutationRecord(NamedTuple):
    """One executed mutation root field."""

    shop: str
    field: str
    variables: dict[str, Any]


@dataclass
class _Failure:
    kind: str
    remaining: int
    retry_after: float
    delay: float


@dataclass
class Hold:
    """GraphQL requests wait here until released: a test then does something while the app is mid-way through
    its reads (an erasure while a report job fetches, say). In-process only, like the object itself."""

    matching: Callable[[Any], bool] = lambda body: True
    """Which requests wait (it sees each GraphQL request's JSON body, in the order they come)."""
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)
    timeout: float = 30.0
    """How long a request waits at most, so that a test that forgets to release cannot hang."""

    def release(self) -> None:
        self.released.set()


def _error_codes(response: Response) -> list[str]:
    if response.mimetype != "application/json":
        return []
    try:
        errors = json.loads(response.get_data()).get("errors")
    except (ValueError, AttributeError):
        return []
    return [str((e.get("extensions") or {}).get("code")) for e in errors
            if isinstance(e, dict)] if isinstance(errors, list) else []


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, headers=headers,
                    mimetype="application/json")


def _parse_body(request: Request) -> tuple[Any, dict[str, str] | None]:
    """``(JSON body or None, form dict or None)``; ``application/graphql`` is a raw query."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return None, dict(request.form)
    if request.mimetype == "application/graphql":
        return {"query": request.get_data(as_text=True)}, None
    return request.get_json(silent=True, force=True), None


class AdminApiDouble(ShopApiMixin):
    """A fake Shopify Admin API (OAuth token endpoint + GraphQL) over real HTTP.

    The demo shop (``demo-shop.myshopify.com``) is seeded on construction.  Use as a context
    manager (``with AdminApiDouble(key, secret).start() as double:``) or call
    :meth:`start`/:meth:`stop`.
    """

    def __init__(self, api_key: str, api_secret: str, *, api_version: str = API_VERSION,
                 app_handle: str = "privacy-app", seed_demo: bool = True) -> None:
        if api_version != API_VERSION:
            raise ValueError(f"only the bundled schema version {API_VERSION} is available")
        self.api_key = api_key
        self.api_secret = api_secret
        self.api_version = api_version
        self.app_handle = app_handle
        self.store = Store()
        self.tokens = TokenAuthority(api_key, api_secret, self._scope_string)
        self.bucket = CostBucket()
        #: Single-query cost limit (Shopify: 1000); None disables the check.
        self.max_query_cost: int | None = 1000
        #: Seconds added before answering every API request.
        self.latency = 0.0
        self._hold: Hold | None = None
        self._records_lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._mutations: list[MutationRecord] = []
        self._validation_errors: list[dict[str, Any]] = []
        self._failures: dict[str, deque[_Failure]] = {"graphql": deque(), "token": deque(),
                                                      "download": deque()}
        #: Bulk query operations and their result files (timing and failures: see :mod:`.bulk`).
        self.bulk = BulkOperations(self.store.lock, lambda shop: self._context(shop, bulk=None),
                                   lambda: self.url, self._record_bulk_rejection)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = Map([
            Rule("/<shop>/admin/oauth/access_token", endpoint="token", methods=["POST"]),
            Rule("/<shop>/admin/api/<version>/graphql.json", endpoint="graphql",
                 methods=["POST"]),
            Rule("/_double/<action>", endpoint="control", methods=["GET", "POST"]),
            Rule("/_bulk/<token>.jsonl", endpoint="bulk_file", methods=["GET"]),
        ])
        load_admin_schema()
        if seed_demo:
            self.seed_demo_shop(DEMO_SHOP)

    # ------------------------------------------------------------------ lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> AdminApiDouble:
        if self._server is not None:
            raise RuntimeError("already started")
        self._server = make_server(host, port, self.wsgi_app, threaded=True,
                                   request_handler=_QuietHandler)
        server = self._server
        # A short poll interval keeps stop() fast (tests start one double per test).
        self._thread = threading.Thread(target=lambda: server.serve_forever(poll_interval=0.05),
                                        name="admin-api-double", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.bulk.stop()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> AdminApiDouble:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("AdminApiDouble is not started")
        host = self._server.server_address[0]
        return f"http://{host}:{self._server.server_port}"

    @property
    def shop_url_template(self) -> str:
        return self.url + "/{shop}"

    # ------------------------------------------------------------------ records
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every API request (method, path, shop, endpoint, headers, json, form, time, and once
        answered status and error_codes; bulk result downloads have endpoint "bulk_file"); a copy."""
        with self._records_lock:
            return list(self._requests)

    @property
    def mutations(self) -> list[MutationRecord]:
        with self._records_lock:
            return list(self._mutations)

    @property
    def validation_errors(self) -> list[dict[str, Any]]:
        """Documents rejected by validation: {shop, query, operationName, errors}."""
        with self._records_lock:
            return list(self._validation_errors)

    def reset_records(self) -> None:
        with self._records_lock:
            self._requests.clear()
            self._mutations.clear()
            self._validation_errors.clear()
            self.tokens.grants.clear()

    # ------------------------------------------------------------ failure injection
    def fail_next(self, kind: str, times: int = 1, *, retry_after: float = 1.0,
                  delay: float = 0.0, endpoint: str = "graphql") -> None:
        """Make the next ``times`` requests to ``endpoint`` ("graphql", "token" or "download",
        the bulk operations' result files) fail.

        ``kind``: "429" (HTTP 429 + ``Retry-After``), "throttled" (200 + THROTTLED error),
        "500", "502", "503" (HTML body for 502/503, like Shopify's edge), or "slow" (sleep
        ``delay`` seconds, then answer normally).
        """
        if kind not in FAILURE_KINDS:
            raise ValueError(f"kind must be one of {FAILURE_KINDS}")
        if endpoint not in self._failures:
            raise ValueError(f"endpoint must be one of {tuple(self._failures)}")
        with self._records_lock:
            self._failures[endpoint].append(_Failure(kind, times, retry_after, delay))

    def clear_failures(self) -> None:
        """Drop every failure still queued by :meth:`fail_next` and
        :meth:`fail_next_bulk_operation` (Shopify has recovered)."""
        with self._records_lock:
            for queue in self._failures.values():
                queue.clear()
        self.bulk.clear_failures()

    def fail_next_bulk_operation(self, kind: str, times: int = 1) -> None:
        """Make the next ``times`` bulk operations end badly; ``kind`` is one of
        :data:`.bulk.BULK_FAILURE_KINDS` (see :mod:`.bulk`)."""
        self.bulk.fail_next(kind, times)

    def hold_graphql(self, matching: Callable[[Any], bool] | None = None) -> Hold:
        """Make GraphQL requests (those ``matching`` their JSON body, if given) wait until the returned hold is
        released; then they are answered as usual."""
        self._hold = Hold(matching) if matching is not None else Hold()
        return self._hold

    def _record_bulk_rejection(self, shop: str, query: str, problems: list[str]) -> None:
        """An invalid bulk query is the client's fault, like an invalid document."""
        with self._records_lock:
            self._validation_errors.append({"shop": shop, "query": query,
                                            "operationName": "bulkOperationRunQuery", "errors": problems})

    def _take_failure(self, endpoint: str) -> _Failure | None:
        with self._records_lock:
            queue = self._failures[endpoint]
            if not queue:
                return None
            failure = queue[0]
            failure.remaining -= 1
            if failure.remaining <= 0:
                queue.popleft()
            return failure

    def _failure_response(self, failure: _Failure, shop: str, cost: int) -> Response | None:
        if failure.kind == "slow":
            time.sleep(failure.delay)
            return None
        if failure.kind == "429":
            return _json({"errors": "Exceeded 2 calls per second for api client. Reduce "
                                    "request rates to resume uninterrupted service."},
                         429, {"Retry-After": f"{failure.retry_after:.1f}"})
        if failure.kind == "throttled":
            available = max(0.0, cost - self.bucket.restore_rate * failure.retry_after)
            return self._throttled(cost, available)
        status = int(failure.kind)
        if status == 500:
            return _json({"errors": "Internal Server Error"}, 500)
        reason = {502: "Bad Gateway", 503: "Service Unavailable"}[status]
        return Response(_HTML_ERROR.format(code=status, reason=reason), status=status,
                        mimetype="text/html")

    def _throttled(self, cost: int, available: float) -> Response:
        return _json({"errors": [{"message": "Throttled", "extensions": {
            "code": "THROTTLED",
            "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
            "extensions": {"cost": self.bucket.status(cost, None, available)}})

    # --------------------------------------------------------------------- WSGI
    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, values = self._routes.bind_to_environ(environ).match()
            if endpoint == "control":
                from .control import handle_control

                response = handle_control(self, values["action"], request)
            elif endpoint == "bulk_file":
                response = self._bulk_file(request, values["token"])
            else:
                response = self._api(request, endpoint, values)
        except HTTPException as exc:
            response = _json({"errors": exc.name}, exc.code or 500)
        return response(environ, start_response)

    def _api(self, request: Request, endpoint: str, values: dict[str, str]) -> Response:
        shop = values["shop"]
        body, form = _parse_body(request)
        record = {"method": request.method, "path": request.path, "shop": shop,
                  "endpoint": endpoint, "headers": dict(request.headers), "json": body,
                  "form": form, "time": time.time()}
        with self._records_lock:
            self._requests.append(record)
        response = self._answer(request, endpoint, values, shop, body, form)
        with self._records_lock:  # how it was answered: the status and GraphQL error codes
            record["status"] = response.status_code
            record["error_codes"] = _error_codes(response)
        return response

    def _answer(self, request: Request, endpoint: str, values: dict[str, str], shop: str,
                body: Any, form: dict[str, str] | None) -> Response:
        if self.latency:
            time.sleep(self.latency)
        if endpoint == "token":
            return self._token(shop, body if isinstance(body, dict) else form or {})
        if values["version"] != self.api_version:
            return _json({"errors": "Not Found"}, 404)
        hold = self._hold
        if hold is not None and hold.matching(body):
            hold.arrived.set()
            hold.released.wait(hold.timeout)
        failure = self._take_failure("graphql")
        if failure is not None:
            response = self._failure_response(failure, shop, self._quick_cost(body))
            if response is not None:
                return response
        return self._graphql(request, shop, body)

    def _bulk_file(self, request: Request, token: str) -> Response:
        with self._records_lock:
            self._requests.append({
                "method": request.method, "path": request.path, "shop": None,
                "endpoint": "bulk_file", "headers": dict(request.headers), "json": None,
                "form": None, "time": time.time()})
        if self.latency:
            time.sleep(self.latency)
        failure = self._take_failure("download")
        if failure is not None:
            if failure.kind == "throttled":  # storage has no cost bucket: answer like a 429
                failure = _Failure("429", 1, failure.retry_after, 0.0)
            response = self._failure_response(failure, "", 1)
            if response is not None:
                return response
        status, body = self.bulk.file(token)
        mimetype = "application/jsonl" if status == 200 else "application/xml"
        return Response(body, status=status, mimetype=mimetype)

    def _context(self, shop: str, *, bulk: BulkOperations | None) -> RequestContext:
        return RequestContext(shop=self.store.shop(shop), protected=protected_fields(),
                              api_key=self.api_key, app_handle=self.app_handle, bulk=bulk)

    def _token(self, shop: str, params: dict[str, Any]) -> Response:
        failure = self._take_failure("token")
        if failure is not None:
            if failure.kind == "throttled":  # no cost bucket here: answer like a 429
                failure = _Failure("429", 1, failure.retry_after, 0.0)
            response = self._failure_response(failure, shop, 1)
            if response is not None:
                return response
        status, answer = self.tokens.handle(shop, params)
        return _json(answer, status)

    @staticmethod
    def _quick_cost(body: Any) -> int:
        """Cost estimate for injected THROTTLED answers (1 if the body is not usable)."""
        try:
            return estimate_cost(load_admin_schema(), parse(body["query"]),
                                 body.get("operationName"), body.get("variables") or {})
        except (GraphQLError, KeyError, TypeError, AttributeError):
            return 1

    def _reject(self, shop: str, body: dict[str, Any], errors: list[GraphQLError],
                code: str) -> Response:
        """Record a document/variables error of the client and answer it like Shopify."""
        with self._records_lock:
            self._validation_errors.append({
                "shop": shop, "query": body["query"], "operationName": body.get("operationName"),
                "errors": [e.message for e in errors]})
        return _json({"errors": [
            {"message": e.message, "locations": [loc._asdict() for loc in e.locations or ()],
             "extensions": {"code": code}} for e in errors]})

    def _graphql(self, request: Request, shop: str, body: Any) -> Response:
        if not self.tokens.check(shop, request.headers.get("X-Shopify-Access-Token")):
            return _json({"errors": "[API] Invalid API key or access token (unrecognized "
                                    "login or wrong password)"}, 401)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _json({"errors": {"query": "Required parameter missing or invalid"}}, 400)
        operation_name = body.get("operationName")
        variables = body.get("variables") or {}
        schema = load_admin_schema()
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            return self._reject(shop, body, [exc], "GRAPHQL_VALIDATION_FAILED")
        errors = validate_ast(document)
        if errors:
            return self._reject(shop, body, errors, "GRAPHQL_VALIDATION_FAILED")
        cost = estimate_cost(schema, document, operation_name, variables)
        if self.max_query_cost is not None and cost > self.max_query_cost:
            return _json({"errors": [{"message": _MAX_COST_MESSAGE.format(
                cost=cost, limit=self.max_query_cost), "extensions": {
                "code": "MAX_COST_EXCEEDED", "cost": cost, "maxCost": self.max_query_cost}}],
                "extensions": {"cost": self.bucket.status(cost, None,
                                                          self.bucket.available(shop))}})
        ok, available = self.bucket.take(shop, cost)
        if not ok:
            return self._throttled(cost, available)
        with self.store.lock:
            ctx = self._context(shop, bulk=self.bulk)
            result = execute(schema, document, context_value=ctx, variable_values=variables,
                             operation_name=operation_name, field_resolver=field_resolver)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            # Bad variables or operation name: rejected before execution, the client's fault.
            return self._reject(shop, body, list(result.errors), "INVALID_VARIABLE")
        with self._records_lock:
            self._mutations.extend(MutationRecord(shop, name, variables)
                                   for name, _ in ctx.mutations)
        answer: dict[str, Any] = {}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        answer["data"] = result.data
        actual = min(cost, max(1, actual_cost(result.data,
                                              mutation=is_mutation(document, operation_name))))
        available = self.bucket.refund(shop, cost - actual)
        extensions: dict[str, Any] = {"cost": self.bucket.status(cost, actual, available)}
        if ctx.search_warnings:
            extensions["search"] = ctx.search_warnings
        answer["extensions"] = extensions
        return _json(answer, headers={"X-Shopify-API-Version": self.api_version})
