"""Query parameters shared by the JSON API routes, validated into clear 400s."""

from __future__ import annotations

from flask import request

from shopify_app.errors import MalformedPayloadError

MAX_PAGE_SIZE = 200


def page_args(default_limit: int = 50) -> tuple[int, int]:
    """``limit`` (1 to 200) and ``offset`` (0 or more) from the query string."""
    try:
        limit = int(request.args.get("limit", default_limit))
        offset = int(request.args.get("offset", 0))
    except ValueError as exc:
        raise MalformedPayloadError("limit and offset must be whole numbers.") from exc
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise MalformedPayloadError(f"limit must be 1 to {MAX_PAGE_SIZE}; offset at least 0.")
    return limit, offset
