"""Relay-style connections with Shopify's rules.

* exactly like Shopify, one of ``first``/``last`` is required ("you must provide one of
  first or last") and at most 250 items may be requested;
* ``last`` without ``before`` is allowed (Shopify used to reject it; it no longer does);
* cursors are opaque base64 JSON ``{"last_id": <number>, "last_value": <sort value>}``
  (the same shape as Shopify's), so a cursor stays valid when other items are added;
* ``reverse: true`` reverses the sort order; ``hasNextPage``/``hasPreviousPage`` tell whether
  items exist after/before the returned window in the whole (filtered) list;
* inside :func:`unbounded` (a bulk operation runs its query there) connections need no
  ``first``/``last`` and return every item, as Shopify's bulk queries do.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from graphql import GraphQLError

from .data import gid_number

__all__ = ["MAX_PAGE_SIZE", "decode_cursor", "encode_cursor", "paginate", "unbounded"]

MAX_PAGE_SIZE = 250
SortKey = Callable[[dict[str, Any]], tuple[Any, int]]
_UNBOUNDED: contextvars.ContextVar[bool] = contextvars.ContextVar("unbounded_pages", default=False)


@contextmanager
def unbounded() -> Iterator[None]:
    """Within this block (one thread's execution of a bulk query), pages have no size limit."""
    token = _UNBOUNDED.set(True)
    try:
        yield
    finally:
        _UNBOUNDED.reset(token)


def encode_cursor(key: tuple[Any, int]) -> str:
    raw = json.dumps({"last_id": key[1], "last_value": key[0]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
        return (data["last_value"], int(data["last_id"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise GraphQLError(f"Invalid cursor for current pagination sort: {cursor!r}",
                           extensions={"code": "BAD_REQUEST"}) from exc


def _number(item: dict[str, Any]) -> int:
    return gid_number(item["id"].split("?")[0]) or 0


def id_key(item: dict[str, Any]) -> tuple[Any, int]:
    """Sort by numeric id (the default ``sortKey: ID``)."""
    number = _number(item)
    return (number, number)


def field_key(name: str) -> SortKey:
    """Sort by ``item[name]`` then by numeric id."""

    def key(item: dict[str, Any]) -> tuple[Any, int]:
        return (item.get(name) or "", _number(item))

    return key


def _check_size(name: str, value: int | None) -> None:
    if value is None:
        return
    if value < 0:
        raise GraphQLError(f"`{name}` must be a non-negative integer",
                           extensions={"code": "BAD_REQUEST"})
    if value > MAX_PAGE_SIZE:
        raise GraphQLError(
            f"The `{name}` argument must be less than or equal to {MAX_PAGE_SIZE} "
            f"(requested {value}).",
            extensions={"code": "MAX_PAGE_SIZE_EXCEEDED", "maxPageSize": MAX_PAGE_SIZE})


def paginate(
    items: Sequence[dict[str, Any]],
    *,
    first: int | None = None,
    last: int | None = None,
    after: str | None = None,
    before: str | None = None,
    reverse: bool = False,
    key: SortKey = id_key,
    require_size: bool = True,
    default_size: int = 50,
) -> dict[str, Any]:
    """Return ``{"edges", "nodes", "pageInfo"}`` for ``items`` (already filtered)."""
    if _UNBOUNDED.get():  # a bulk query: Shopify ignores page sizes and returns everything
        first = last = None
    elif first is None and last is None:
        if require_size:
            raise GraphQLError("you must provide one of first or last",
                               extensions={"code": "BAD_REQUEST"})
        first = default_size
    _check_size("first", first)
    _check_size("last", last)
    keyed = sorted(((key(item), item) for item in items), key=lambda pair: pair[0],
                   reverse=reverse)
    keys = [pair[0] for pair in keyed]
    start, end = 0, len(keyed)
    if after is not None:
        ck = decode_cursor(after)
        start = next((i for i, k in enumerate(keys) if (k < ck if reverse else k > ck)), end)
    if before is not None:
        ck = decode_cursor(before)
        end = next((i for i, k in enumerate(keys) if (k <= ck if reverse else k >= ck)), end)
        end = max(end, start)
    if first is not None:
        end = min(end, start + first)
    if last is not None:
        start = max(start, end - last)
    window = keyed[start:end]
    edges = [{"cursor": encode_cursor(k), "node": node} for k, node in window]
    return {
        "edges": edges,
        "nodes": [node for _, node in window],
        "pageInfo": {
            "hasNextPage": end < len(keyed),
            "hasPreviousPage": start > 0,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }
