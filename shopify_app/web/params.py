"""Query parameters shared by the JSON API routes, validated into clear 400s."""

from __future__ import annotations

from flask import request

from shopify_app.errors import MalformedPayloadError
from shopify_app.services.admin_views import MAX_OFFSET

MAX_PAGE_SIZE = 200


def page_args(default_limit: int = 50) -> tuple[int, int]:
    """``limit`` (1 to 200) and ``offset`` (0 to a million: past that no database is asked) from the query string."""
    try:
        limit = int(request.args.get("limit", default_limit))
        offset = int(request.args.get("offset", 0))
    except ValueError as exc:
        raise MalformedPayloadError("limit and offset must be whole numbers.") from exc
    if not 1 <= limit <= MAX_PAGE_SIZE or not 0 <= offset <= MAX_OFFSET:
        raise MalformedPayloadError(f"limit must be 1 to {MAX_PAGE_SIZE}; offset 0 to {MAX_OFFSET:,}.")
    return limit, offset
