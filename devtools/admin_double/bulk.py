"""Bulk query operations of the double: ``bulkOperationRunQuery``, ``bulkOperation(id:)`` and
``bulkOperationCancel``, run against the double's own data in a background thread.

Like Shopify (API 2026-10):

* the inner query is validated against the schema (deprecated fields rejected) and must
  select exactly one top-level field, a connection (not ``node``/``nodes``), with at most
  five connections and at most two levels of nested connections, and no variables (there is
  no way to pass them); otherwise the mutation answers a ``userErrors`` entry ``INVALID``;
* up to five bulk queries per shop and app run at a time (API 2026-01 and later; earlier
  versions allowed one): a sixth gets ``LIMIT_REACHED``;
* an operation is ``CREATED``, then ``RUNNING`` (``objectCount`` grows as objects are
  written), then ``COMPLETED`` with ``url`` pointing at a JSONL file, or ``FAILED`` with an
  ``errorCode`` (and ``partialDataUrl`` when part of the file was written), or ``CANCELING``
  then ``CANCELED``; a query that matches nothing completes with ``objectCount`` 0 and no
  ``url``;
* the JSONL file has one line per node; the nodes of a nested connection get lines of their
  own with ``__parentId`` (the parent's ``id``, which the double requires the query to
  select). With ``groupObjects: false`` (the default) Shopify promises no order: the double
  writes every top-level object first and the nested ones after, so a reader that assumes
  children follow their parent fails here too;
* the file is served over plain HTTP at ``/_bulk/<token>.jsonl`` with no access token, as
  Shopify's signed storage URLs are; :meth:`BulkOperations.expire_files` makes them answer
  403 as an expired URL does.

Timing: ``queued_seconds`` in ``CREATED``, then the objects are written at
``objects_per_second`` (``RUNNING`` lasts at least ``min_running_seconds``).

Failures (:meth:`BulkOperations.fail_next`, one per operation started):
``internal_server_error`` and ``timeout`` (``FAILED`` halfway, with partial data),
``access_denied`` (``FAILED`` at once, no data), ``canceled`` (``CANCELED`` halfway, as when
someone else cancels it) and ``stuck`` (``RUNNING`` until canceled). A query the shop's
scopes do not allow fails with ``ACCESS_DENIED`` by itself.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    execute,
    get_named_type,
    parse,
)

from . import connections
from .data import gid, iso, utcnow
from .resolvers import RequestContext, field_resolver, resolver
from .schema import load_admin_schema, validate_ast

__all__ = ["BULK_FAILURE_KINDS", "MAX_CONCURRENT_QUERIES", "BulkOperations", "restrictions"]

#: API 2026-01 and later: five bulk queries at a time per shop (one before 2026-01).
MAX_CONCURRENT_QUERIES = 5
MAX_CONNECTIONS = 5
MAX_CONNECTION_DEPTH = 2
BULK_FAILURE_KINDS = ("internal_server_error", "timeout", "access_denied", "canceled", "stuck")
_ACTIVE = ("CREATED", "RUNNING", "CANCELING")
_PROGRESS_STEP = 0.05  # seconds between objectCount updates while RUNNING


@dataclass
class _Operation:
    id: str
    shop: str
    query: str
    document: DocumentNode
    group_objects: bool
    created_at: str
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: str | None = None
    object_count: int = 0
    root_object_count: int = 0
    file_token: str | None = None
    file_size: int | None = None
    partial_token: str | None = None
    failure: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)


class BulkOperations:
    """Every bulk query of one double, with their JSONL files."""

    def __init__(self, store_lock: Any, make_context: Callable[[str], RequestContext],
                 base_url: Callable[[], str], record_rejection: Callable[[str, str, list[str]], None]) -> None:
        self._store_lock = store_lock
        self._make_context = make_context
        self._base_url = base_url
        self._record_rejection = record_rejection
        self._lock = threading.Lock()
        self._operations: dict[str, _Operation] = {}
        self._files: dict[str, bytes] = {}
        self._expired: set[str] = set()
        self._failures: deque[str] = deque()
        self._stopping = threading.Event()
        self._counter = 720000000
        #: Seconds an operation stays CREATED before it runs.
        self.queued_seconds = 0.5
        #: How fast a RUNNING operation writes objects (lines) to its file.
        self.objects_per_second = 1000.0
        #: Shortest time an operation stays RUNNING.
        self.min_running_seconds = 0.5

    # ------------------------------------------------------------------ controls
    def fail_next(self, kind: str, times: int = 1) -> None:
        if kind not in BULK_FAILURE_KINDS:
            raise ValueError(f"kind must be one of {BULK_FAILURE_KINDS}")
        with self._lock:
            self._failures.extend([kind] * times)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def expire_files(self, shop: str) -> None:
        """What seven days do: the shop's result URLs stop working, operations say EXPIRED."""
        with self._lock:
            for op in self._operations.values():
                if op.shop == shop and op.status == "COMPLETED":
                    op.status = "EXPIRED"
                    self._expired.update(t for t in (op.file_token, op.partial_token) if t)

    def stop(self) -> None:
        self._stopping.set()

    def operations(self, shop: str | None = None) -> list[dict[str, Any]]:
        """Every operation (of ``shop``) as ``bulkOperation`` would show it, oldest first."""
        with self._lock:
            return [self._view(op) for op in self._operations.values() if shop in (None, op.shop)]

    def file(self, token: str) -> tuple[int, bytes]:
        """``(HTTP status, body)`` for ``GET /_bulk/<token>.jsonl``."""
        with self._lock:
            if token in self._expired:
                return 403, b"<?xml version='1.0' encoding='UTF-8'?><Error><Code>AccessDenied</Code>" \
                            b"<Message>Request has expired</Message></Error>"
            body = self._files.get(token)
        return (200, body) if body is not None else (404, b"Not Found")

    # ---------------------------------------------------------------- GraphQL side
    def start(self, shop: str, query: str, group_objects: bool) -> tuple[dict[str, Any] | None, list[dict]]:
        """``bulkOperationRunQuery``: ``(operation, userErrors)``."""
        try:
            document = parse(query)
        except GraphQLError as exc:
            return self._invalid(shop, query, [exc.message])
        problems = [e.message for e in validate_ast(document)] or restrictions(document)
        if problems:
            return self._invalid(shop, query, problems)
        with self._lock:
            running = sum(1 for op in self._operations.values() if op.shop == shop and op.status in _ACTIVE)
            if running >= MAX_CONCURRENT_QUERIES:
                return None, [{"field": None, "code": "LIMIT_REACHED", "message":
                               "Bulk operations limit reached. Please try again later."}]
            self._counter += 1
            op = _Operation(id=gid("BulkOperation", self._counter), shop=shop, query=query, document=document,
                            group_objects=group_objects, created_at=iso(utcnow()) or "",
                            failure=self._failures.popleft() if self._failures else None)
            self._operations[op.id] = op
            view = self._view(op)
        threading.Thread(target=self._run, args=(op,), name=f"bulk-{op.id.rsplit('/', 1)[-1]}", daemon=True).start()
        return view, []

    def get(self, shop: str, operation_id: str) -> dict[str, Any] | None:
        with self._lock:
            op = self._operations.get(operation_id.split("?")[0])
            return self._view(op) if op is not None and op.shop == shop else None

    def cancel(self, shop: str, operation_id: str) -> tuple[dict[str, Any] | None, list[dict]]:
        with self._lock:
            op = self._operations.get(operation_id.split("?")[0])
            if op is None or op.shop != shop:
                return None, [{"field": ["id"], "message": "Bulk operation does not exist"}]
            if op.status not in ("CREATED", "RUNNING"):
                return self._view(op), [{"field": ["id"], "message": "A bulk operation cannot be canceled "
                                                                     f"when it is {op.status.lower()}"}]
            op.status = "CANCELING"
            op.cancel.set()
            return self._view(op), []

    def _invalid(self, shop: str, query: str, problems: list[str]) -> tuple[None, list[dict]]:
        self._record_rejection(shop, query, problems)
        return None, [{"field": ["query"], "code": "INVALID", "message": f"Invalid bulk query: {p}"}
                      for p in problems]

    def _view(self, op: _Operation) -> dict[str, Any]:
        base = self._base_url()
        return {
            "__typename": "BulkOperation", "id": op.id, "type": "QUERY", "query": op.query,
            "status": op.status, "errorCode": op.error_code, "createdAt": op.created_at,
            "completedAt": op.completed_at, "objectCount": str(op.object_count),
            "rootObjectCount": str(op.root_object_count),
            "fileSize": str(op.file_size) if op.file_size is not None else None,
            "url": f"{base}/_bulk/{op.file_token}.jsonl" if op.file_token and op.status == "COMPLETED" else None,
            "partialDataUrl": f"{base}/_bulk/{op.partial_token}.jsonl" if op.partial_token else None,
        }

    # ------------------------------------------------------------------- running
    def _wait(self, op: _Operation, seconds: float) -> bool:
        """Sleep; False if the operation was canceled (or the double stopped) meanwhile."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if op.cancel.wait(min(left, _PROGRESS_STEP)) or self._stopping.is_set():
                return False
        return not op.cancel.is_set()

    def _finish(self, op: _Operation, status: str, error_code: str | None = None) -> None:
        with self._lock:
            op.status, op.error_code = status, error_code
            if status == "COMPLETED":
                op.completed_at = iso(utcnow())

    def _run(self, op: _Operation) -> None:
        if not self._wait(op, self.queued_seconds):
            self._finish(op, "CANCELED")
            return
        with self._lock:
            op.status = "RUNNING"
        if op.failure == "access_denied":
            self._finish(op, "FAILED", "ACCESS_DENIED")
            return
        lines, roots, error_code = self._execute(op)
        if error_code is not None:
            self._finish(op, "FAILED", error_code)
            return
        total = len(lines)
        stop_at = total // 2 if op.failure else total  # an injected failure strikes halfway
        running = max(self.min_running_seconds, total / self.objects_per_second)
        started = time.monotonic()
        while True:
            elapsed = time.monotonic() - started
            done = min(stop_at, int(total * elapsed / running))
            with self._lock:
                op.object_count = done
                op.root_object_count = sum(1 for line in lines[:done] if "__parentId" not in line)
            if op.failure != "stuck" and elapsed >= running * (stop_at / total if total else 1.0):
                break
            if not self._wait(op, _PROGRESS_STEP):
                self._finish(op, "CANCELED")
                return
        if op.failure in ("internal_server_error", "timeout"):
            with self._lock:
                if stop_at:
                    op.partial_token = self._store(lines[:stop_at])
            self._finish(op, "FAILED", op.failure.upper())
            return
        if op.failure == "canceled":
            self._finish(op, "CANCELED")
            return
        with self._lock:
            if lines:
                op.file_token = self._store(lines)
                op.file_size = len(self._files[op.file_token])
            op.root_object_count = roots
        self._finish(op, "COMPLETED")

    def _store(self, lines: list[dict[str, Any]]) -> str:
        token = secrets.token_urlsafe(16)
        self._files[token] = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
        return token

    def _execute(self, op: _Operation) -> tuple[list[dict[str, Any]], int, str | None]:
        """Run the query against the store: ``(JSONL objects, top-level count, errorCode or None)``."""
        schema = load_admin_schema()
        with self._store_lock, connections.unbounded():  # the same resolvers as ordinary queries
            result = execute(schema, op.document, context_value=self._make_context(op.shop),
                             field_resolver=field_resolver)
        if result.errors:
            denied = any((e.extensions or {}).get("code") == "ACCESS_DENIED" for e in result.errors)
            return [], 0, "ACCESS_DENIED" if denied else "INTERNAL_SERVER_ERROR"
        roots: list[dict[str, Any]] = []
        children: list[dict[str, Any]] = []
        [(name, value)] = (result.data or {}).items()
        root_type = get_named_type(schema.query_type.fields[name].type)
        for node in _connection_nodes(value):
            _write(node, _node_type(root_type), None, roots, children, op.group_objects)
        return roots + children, len(roots), None


# ------------------------------------------------------------------- JSONL writing
def _connection_nodes(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, dict):
        return []
    return [*(value.get("nodes") or ()), *((e or {}).get("node") for e in value.get("edges") or ())]


def _node_type(connection_type: Any) -> Any:
    return get_named_type(connection_type.fields["nodes"].type)


def _is_connection(named: Any) -> bool:
    return isinstance(named, GraphQLObjectType) and named.name.endswith("Connection") and "pageInfo" in named.fields


def _write(node: dict[str, Any], node_type: Any, parent_id: str | None, roots: list[dict[str, Any]],
           children: list[dict[str, Any]], grouped: bool) -> None:
    """One line for ``node`` (nested connections removed), then one per node of those connections."""
    line: dict[str, Any] = {}
    nested: list[tuple[Any, Any]] = []
    fields = node_type.fields if isinstance(node_type, (GraphQLObjectType, GraphQLInterfaceType)) else {}
    for key, value in node.items():
        definition = fields.get(key)
        named = get_named_type(definition.type) if definition is not None else None
        if named is not None and _is_connection(named):
            nested.append((value, _node_type(named)))
        else:
            line[key] = value
    if parent_id is not None:
        line["__parentId"] = parent_id
    (roots if parent_id is None or grouped else children).append(line)
    for value, child_type in nested:
        for child in _connection_nodes(value):
            _write(child, child_type, node["id"], roots, children, grouped)


# ----------------------------------------------------------------- query restrictions
def restrictions(document: DocumentNode) -> list[str]:
    """What Shopify refuses in a bulk query beyond ordinary validation (empty: nothing)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return ["a bulk query must be one query operation"]
    operation = operations[0]
    if operation.variable_definitions:
        return ["bulk queries cannot use variables"]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    schema = load_admin_schema()
    top = [s for s in _fields(operation.selection_set, fragments) if s.name.value != "__typename"]
    if len(top) != 1:
        return ["a bulk query must select exactly one top-level field"]
    if top[0].name.value in ("node", "nodes"):
        return ["the top-level `node` and `nodes` fields can't be used in bulk queries"]
    found: list[int] = []
    problems: list[str] = []
    _walk(top[0], schema.query_type, 0, fragments, found, problems)
    if not found:
        problems.append("a bulk query must contain at least one connection")
    if len(found) > MAX_CONNECTIONS:
        problems.append(f"a bulk query can contain at most {MAX_CONNECTIONS} connections")
    if max(found, default=0) > MAX_CONNECTION_DEPTH:
        problems.append(f"connections can be nested at most {MAX_CONNECTION_DEPTH} levels deep")
    return problems


def _fields(selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]) -> list[FieldNode]:
    found: list[FieldNode] = []
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            found.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            found += _fields(sel.selection_set, fragments)
        elif isinstance(sel, FragmentSpreadNode) and sel.name.value in fragments:
            found += _fields(fragments[sel.name.value].selection_set, fragments)
    return found


def _walk(node: FieldNode, parent: Any, depth: int, fragments: dict[str, FragmentDefinitionNode],
          found: list[int], problems: list[str]) -> None:
    definition = parent.fields.get(node.name.value) if hasattr(parent, "fields") else None
    if definition is None:
        return
    named = get_named_type(definition.type)
    if _is_connection(named):
        depth += 1
        found.append(depth)
        items = [f for f in _fields(node.selection_set, fragments) if f.name.value in ("nodes", "edges")]
        for item in items:
            if item.name.value == "edges":
                item = next((f for f in _fields(item.selection_set, fragments) if f.name.value == "node"), item)
            node_type = _node_type(named)
            selected = _fields(item.selection_set, fragments)
            names = {f.name.value for f in selected}
            for child in selected:
                child_def = node_type.fields.get(child.name.value) if hasattr(node_type, "fields") else None
                if child_def is not None and _is_connection(get_named_type(child_def.type)) and "id" not in names:
                    problems.append(f"`{node.name.value}` nodes must select `id` to be the `__parentId` of "
                                    f"their `{child.name.value}`")
                _walk(child, node_type, depth, fragments, found, problems)
        return
    for child in _fields(node.selection_set, fragments):
        _walk(child, named, depth, fragments, found, problems)


# ------------------------------------------------------------------- resolvers
def _bulk(info: GraphQLResolveInfo) -> BulkOperations:
    bulk = info.context.bulk
    if bulk is None:  # a bulk query cannot start or read bulk operations itself
        raise GraphQLError("Bulk operations are not available here.", extensions={"code": "ACCESS_DENIED"})
    return bulk


@resolver("Mutation.bulkOperationRunQuery")
def _run_query(_: Any, info: GraphQLResolveInfo, query: str, groupObjects: bool = False) -> dict[str, Any]:
    ctx: RequestContext = info.context
    ctx.mutations.append(("bulkOperationRunQuery", {"query": query, "groupObjects": groupObjects}))
    operation, errors = _bulk(info).start(ctx.shop.domain, query, groupObjects)
    return {"bulkOperation": operation, "userErrors": errors}


@resolver("Mutation.bulkOperationCancel")
def _cancel(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    ctx: RequestContext = info.context
    ctx.mutations.append(("bulkOperationCancel", {"id": id}))
    operation, errors = _bulk(info).cancel(ctx.shop.domain, id)
    return {"bulkOperation": operation, "userErrors": errors}


@resolver("QueryRoot.bulkOperation")
def _operation(_: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
    return _bulk(info).get(info.context.shop.domain, id)
