"""Shopify bulk query operations: start one, wait for it, read its JSONL result.

A bulk operation has no cost budget: Shopify runs the query in the background and
writes one JSON object per line to a file. The nodes of a nested connection get lines
of their own, with ``__parentId`` set to their parent's ``id``; with ``groupObjects``
false (the default, and the cheaper for Shopify) lines come in no promised order, so a
child may come before its parent. This module knows that format; callers get dicts.

The flow: ``bulkOperationRunQuery``, then ``bulkOperation(id:)`` polled with growing
pauses until the operation ends; ``COMPLETED`` gives a ``url`` to download (none when
nothing matched), whose line count must equal ``objectCount``. Anything else raises
:class:`BulkOperationFailed`, which says why, and callers fall back to paged queries.

A ``FAILED`` operation may offer a ``partialDataUrl``; it is not used: without grouping,
nothing in a partial file says whether an order's line items are all there, and a report
must not look complete when it is not. An operation still running at the deadline is
canceled, so that it does not keep one of the shop's five bulk-query slots (API 2026-01
and later; one before) for nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from shopify_app.errors import ShopifyApiError
from shopify_app.platform import queries
from shopify_app.platform.admin_client import ShopifyAdminClient

log = logging.getLogger(__name__)

UNFINISHED = frozenset({"CREATED", "RUNNING", "CANCELING"})


class BulkOperationFailed(ShopifyApiError):
    """A bulk query could not give a complete result; the message says why (no personal data)."""


@dataclasses.dataclass(frozen=True)
class BulkPolling:
    """How long to wait between polls (growing) and in all.

    A poll costs 1 point and one round trip, so pauses stay short (a second at most):
    the operation's end is noticed within a second.
    """

    first_pause: float = 0.25
    growth: float = 1.5
    max_pause: float = 1.0
    deadline: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


@dataclasses.dataclass(frozen=True)
class BulkResult:
    operation_id: str
    objects: list[dict[str, Any]]  # every line of the file, in file order
    polls: int


def run_bulk_query(admin: ShopifyAdminClient, shop: str, token: str, query: str,
                   polling: BulkPolling | None = None) -> BulkResult:
    """Run ``query`` as a bulk operation and return its objects; raise :class:`BulkOperationFailed`.

    Errors of the API calls themselves (:class:`ShopifyApiError` once retries are spent)
    propagate as they are.
    """
    polling = polling or BulkPolling()
    started = admin.graphql(shop, token, queries.BULK_OPERATION_RUN_QUERY_MUTATION, {"query": query})
    payload = started.data.get("bulkOperationRunQuery") or {}
    if payload.get("userErrors") or not payload.get("bulkOperation"):
        reasons = "; ".join(f"{e.get('code') or 'ERROR'}: {e.get('message')}" for e in payload.get("userErrors") or ())
        raise BulkOperationFailed(f"Shopify refused the bulk query ({reasons or 'no operation returned'}).")
    operation_id = str(payload["bulkOperation"]["id"])
    operation, polls = _wait(admin, shop, token, operation_id, polling)
    status = operation.get("status")
    if status != "COMPLETED":
        partial = " (partial data offered, not used)" if operation.get("partialDataUrl") else ""
        raise BulkOperationFailed(f"Bulk operation {operation_id} ended {status}"
                                  f"{' with ' + str(operation['errorCode']) if operation.get('errorCode') else ''}"
                                  f"{partial}.")
    expected = int(operation.get("objectCount") or 0)
    if not operation.get("url"):  # Shopify writes no file when the query matched nothing
        if expected:
            raise BulkOperationFailed(f"Bulk operation {operation_id} counted {expected} objects but gave no file.")
        return BulkResult(operation_id, [], polls)
    objects = parse_jsonl(admin.download(str(operation["url"])))
    if len(objects) != expected:
        raise BulkOperationFailed(f"Bulk operation {operation_id}: the file holds {len(objects)} objects, "
                                  f"Shopify counted {expected}.")
    return BulkResult(operation_id, objects, polls)


def _wait(admin: ShopifyAdminClient, shop: str, token: str, operation_id: str,
          polling: BulkPolling) -> tuple[dict[str, Any], int]:
    deadline = polling.clock() + polling.deadline
    pause, polls = polling.first_pause, 0
    while True:
        polling.sleep(pause)  # a new operation is never done at once: the first poll waits too
        result = admin.graphql(shop, token, queries.BULK_OPERATION_QUERY, {"id": operation_id})
        polls += 1
        operation = result.data.get("bulkOperation")
        if not operation:
            raise BulkOperationFailed(f"Shopify does not know bulk operation {operation_id}.")
        if operation.get("status") not in UNFINISHED:
            return operation, polls
        if polling.clock() >= deadline:
            _cancel(admin, shop, token, operation_id)
            raise BulkOperationFailed(f"Bulk operation {operation_id} was still {operation.get('status')} after "
                                      f"{polling.deadline:g} s; canceled.")
        pause = min(pause * polling.growth, polling.max_pause)


def _cancel(admin: ShopifyAdminClient, shop: str, token: str, operation_id: str) -> None:
    """Best effort: a failed cancel only means the slot frees itself later."""
    try:
        result = admin.graphql(shop, token, queries.BULK_OPERATION_CANCEL_MUTATION, {"id": operation_id})
    except ShopifyApiError as exc:
        log.warning("Could not cancel bulk operation %s: %s", operation_id, exc)
        return
    for error in (result.data.get("bulkOperationCancel") or {}).get("userErrors") or ():
        log.warning("Could not cancel bulk operation %s: %s", operation_id, error.get("message"))


def parse_jsonl(text: str) -> list[dict[str, Any]]:
    """One object per non-empty line; anything else means a damaged file."""
    objects: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise BulkOperationFailed(f"Line {number} of the bulk result is not JSON.") from exc
        if not isinstance(value, dict):
            raise BulkOperationFailed(f"Line {number} of the bulk result is not an object.")
        objects.append(value)
    return objects


def nest(objects: list[dict[str, Any]], child_key: str) -> list[dict[str, Any]]:
    """The top-level objects, each with the lines naming it as ``__parentId`` in a list at ``child_key``.

    For a query with one nested connection. Children may come before or after their parent;
    each keeps the order of its lines. A child whose parent is not in the file means the
    file is damaged.
    """
    roots = [obj for obj in objects if "__parentId" not in obj]
    children: dict[str, list[dict[str, Any]]] = {str(obj["id"]): [] for obj in roots if "id" in obj}
    for obj in objects:
        parent = obj.get("__parentId")
        if parent is None:
            continue
        if str(parent) not in children:
            raise BulkOperationFailed("A line of the bulk result names a parent the file does not hold.")
        children[str(parent)].append({key: value for key, value in obj.items() if key != "__parentId"})
    return [{**root, child_key: children.get(str(root.get("id")), [])} for root in roots]
