"""Proof of consent: every storefront choice, stored append-only; and the merchant's view of them.

This is the hottest path of the app (every storefront visitor who makes a choice). A record is
parsed and validated here, in the request; ``services/consent_writer.py`` then writes the
records of concurrent requests together (group commit: one Redis round trip for the rate
limits, one statement that finds each shop by its domain and inserts every row, one COMMIT),
with no cache of shops to go stale and no job.

The body is the one the banner sends (``extensions/consent-banner/README.md``, "Proof").
The customer id comes only from the signed app-proxy query, never from the body; the IP
address and the user agent are truncated before they are stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shopify_app.errors import MalformedPayloadError
from shopify_app.models import MAX_CUSTOMER_ID, ConsentRecord
from shopify_app.services.rate_limits import Limit

MAX_BODY_BYTES = 4 * 1024
ACTIONS = ("accept_all", "reject_all", "custom", "close")
CATEGORIES = ("analytics", "marketing", "preferences", "sale_of_data")
LANGUAGES = ("fr", "en")
BODY_KEYS = frozenset({"visitor_id", "action", "choices", "revision", "text_hash", "language", "gpc", "page"})
OPTIONAL_BODY_KEYS = frozenset({"page"})
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
TEXT_HASH = re.compile(r"[0-9a-f]{64}")
MAX_REVISION = 2**31 - 1
MAX_PAGE_CHARS = 2048
USER_AGENT_CHARS = 200
IPV4_PREFIX = 24
IPV6_PREFIX = 48
_IPV4_NETWORK_MASK = (2**32 - 1) ^ (2 ** (32 - IPV4_PREFIX) - 1)
_IPV6_NETWORK_MASK = (2**128 - 1) ^ (2 ** (128 - IPV6_PREFIX) - 1)
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc, exactly

VISITOR_LIMIT = Limit("consent-visitor", max_events=20, window_seconds=60)
SHOP_LIMIT = Limit("consent-shop", max_events=2000, window_seconds=60)


@dataclasses.dataclass(frozen=True)
class Choices:
    analytics: bool
    marketing: bool
    preferences: bool
    sale_of_data: bool


@dataclasses.dataclass(frozen=True)
class ConsentInput:
    """One verified consent event: the banner's body, plus what the app proxy and the request say."""

    visitor_id: str
    action: str
    choices: Choices
    revision: int
    text_hash: str
    language: str
    gpc: bool
    page: str | None = None
    customer_id: int | None = None  # from the signed proxy query only
    ip_truncated: str | None = None
    user_agent: str | None = None

    @classmethod
    def from_body(cls, raw: bytes, *, customer_id: int | None = None, client_ip: str | None = None,
                  user_agent: str | None = None) -> ConsentInput:
        """Parse and validate the POST body; raise :class:`MalformedPayloadError` on anything unexpected."""
        if len(raw) > MAX_BODY_BYTES:
            raise MalformedPayloadError(f"The body is larger than {MAX_BODY_BYTES} bytes.")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # 4 KB of "[" nests deeper than Python
            raise MalformedPayloadError("The body is not valid JSON.") from exc
        if not isinstance(body, dict):
            raise MalformedPayloadError("The body must be a JSON object.")
        missing = BODY_KEYS - OPTIONAL_BODY_KEYS - body.keys()
        unknown = body.keys() - BODY_KEYS
        if missing or unknown:
            raise MalformedPayloadError(f"Missing fields {sorted(missing)}, unknown fields {sorted(unknown)}.")

        visitor_id = body["visitor_id"]
        if not isinstance(visitor_id, str) or not VISITOR_ID.fullmatch(visitor_id):
            raise MalformedPayloadError("visitor_id must be 8 to 64 characters of A-Z, a-z, 0-9, '-' and '_'.")
        action = body["action"]
        if action not in ACTIONS:  # also rejects non-strings (unhashable values included)
            raise MalformedPayloadError(f"action must be one of {', '.join(ACTIONS)}.")
        choices = _choices(body["choices"])
        revision = body["revision"]
        if type(revision) is not int or not 0 <= revision <= MAX_REVISION:
            raise MalformedPayloadError("revision must be a non-negative whole number.")
        text_hash = body["text_hash"]
        if not isinstance(text_hash, str) or not TEXT_HASH.fullmatch(text_hash):
            raise MalformedPayloadError("text_hash must be 64 lower-case hexadecimal characters.")
        language = body["language"]
        if language not in LANGUAGES:
            raise MalformedPayloadError("language must be fr or en.")
        gpc = body["gpc"]
        if type(gpc) is not bool:
            raise MalformedPayloadError("gpc must be true or false.")
        page = body.get("page")
        if page is not None and (not isinstance(page, str) or not page.startswith("/") or len(page) > MAX_PAGE_CHARS):
            raise MalformedPayloadError("page must be a path starting with '/'.")
        _check_consistency(action, choices, gpc)
        if customer_id is not None and not 0 <= customer_id <= MAX_CUSTOMER_ID:
            # Signed by Shopify, so never expected; but a value the column cannot hold would fail the
            # whole batch this record is written with (consent_writer), not only this record.
            raise MalformedPayloadError("logged_in_customer_id is out of range.")
        return cls(visitor_id=visitor_id, action=action, choices=choices, revision=revision, text_hash=text_hash,
                   language=language, gpc=gpc, page=page, customer_id=customer_id,
                   ip_truncated=truncate_ip(client_ip), user_agent=truncate_user_agent(user_agent))


def _choices(value: Any) -> Choices:
    if not isinstance(value, dict) or set(value) != set(CATEGORIES):
        raise MalformedPayloadError(f"choices must have exactly {', '.join(CATEGORIES)}.")
    if any(type(value[k]) is not bool for k in CATEGORIES):
        raise MalformedPayloadError("Every choice must be true or false.")
    return Choices(**{k: value[k] for k in CATEGORIES})


def _check_consistency(action: str, c: Choices, gpc: bool) -> None:
    """A proof must not contradict itself: what the banner can send, and nothing else."""
    if gpc and (c.marketing or c.sale_of_data):
        raise MalformedPayloadError("With Global Privacy Control, marketing and sale_of_data must be false.")
    if action in ("reject_all", "close") and (c.analytics or c.marketing or c.preferences or c.sale_of_data):
        raise MalformedPayloadError(f"{action} must refuse every category.")
    if action == "accept_all" and not (c.analytics and c.preferences and c.marketing == (not gpc)
                                       and c.sale_of_data == c.marketing):
        raise MalformedPayloadError("accept_all must grant every category that the visitor's signals allow.")


def client_ip(forwarded_for: str | None, remote_addr: str | None) -> str | None:
    """The visitor's address: the first hop of ``X-Forwarded-For`` (Shopify's proxy sets it), else the peer."""
    first = (forwarded_for or "").split(",")[0].strip()
    for candidate in (first, remote_addr or ""):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def truncate_ip(value: str | None) -> str | None:
    """The network an address belongs to: /24 for IPv4 ("203.0.113.0"), /48 for IPv6 ("2001:db8:85a3::")."""
    try:
        address = ipaddress.ip_address((value or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv4Address):
        return str(ipaddress.IPv4Address(int(address) & _IPV4_NETWORK_MASK))
    return str(ipaddress.IPv6Address(int(address) & _IPV6_NETWORK_MASK))  # the scope id (%eth0) goes too


def truncate_user_agent(value: str | None) -> str | None:
    text = _CONTROL_CHARACTERS.sub("", value or "").strip()
    return text[:USER_AGENT_CHARS] or None


def visitor_key(shop_domain: str, visitor_id: str) -> str:
    """The visitor's rate-limit key: Redis only ever sees a hash (visitor ids are pseudonymous identifiers)."""
    return hashlib.sha256(f"{shop_domain}\0{visitor_id}".encode()).hexdigest()[:32]


def consent_filters(
    shop_id: int,
    *,
    visitor_id: str | None = None,
    customer_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The consent log's filters as SQL conditions, always scoped to one shop; ``until`` is exclusive."""
    conditions: list[ColumnElement[bool]] = [ConsentRecord.shop_id == shop_id]
    if visitor_id is not None:
        conditions.append(ConsentRecord.visitor_id == visitor_id)
    if customer_id is not None:
        conditions.append(ConsentRecord.customer_id == customer_id)
    if since is not None:
        conditions.append(ConsentRecord.recorded_at >= since)
    if until is not None:
        conditions.append(ConsentRecord.recorded_at < until)
    return conditions


def list_consent_records(
    session: Session,
    shop_id: int,
    *,
    visitor_id: str | None = None,
    customer_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[ConsentRecord]:
    """One shop's proofs, newest first; ``since`` inclusive, ``until`` exclusive."""
    query = select(ConsentRecord).where(*consent_filters(shop_id, visitor_id=visitor_id, customer_id=customer_id,
                                                         since=since, until=until))
    query = query.order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc()).limit(limit).offset(offset)
    return session.scalars(query).all()


def record_json(record: ConsentRecord) -> dict[str, Any]:
    """What the merchant sees of one proof."""
    return {
        "id": record.id,
        "visitor_id": record.visitor_id,
        "customer_id": record.customer_id,
        "action": record.action,
        "choices": {k: getattr(record, k) for k in CATEGORIES},
        "gpc": record.gpc,
        "revision": record.revision,
        "text_hash": record.text_hash,
        "language": record.language,
        "ip_truncated": record.ip_truncated,
        "user_agent": record.user_agent,
        "recorded_at": record.recorded_at.isoformat(),
    }


def parse_filters(args: Mapping[str, str]) -> dict[str, Any]:
    """``visitor_id``, ``customer_id``, ``since``, ``until`` from query parameters; 400 on bad input.

    Dates are ISO 8601: a date (``2026-11-28``) covers that whole day in UTC, so ``until=2026-11-28``
    includes the 28th; a date-time without an offset is taken as UTC.
    """
    filters: dict[str, Any] = {}
    visitor_id = args.get("visitor_id") or None
    if visitor_id is not None:
        if not VISITOR_ID.fullmatch(visitor_id):
            raise MalformedPayloadError("visitor_id must be 8 to 64 characters of A-Z, a-z, 0-9, '-' and '_'.")
        filters["visitor_id"] = visitor_id
    customer_id = args.get("customer_id") or None
    if customer_id is not None:
        if (not customer_id.isascii() or not customer_id.isdigit() or len(customer_id) > 19
                or int(customer_id) > MAX_CUSTOMER_ID):
            raise MalformedPayloadError("customer_id must be a Shopify customer id (a whole number).")
        filters["customer_id"] = int(customer_id)
    for name, end_of_day in (("since", False), ("until", True)):
        value = args.get(name) or None
        if value is not None:
            filters[name] = _parse_instant(name, value, end_of_day=end_of_day)
    if "since" in filters and "until" in filters and filters["since"] >= filters["until"]:
        raise MalformedPayloadError("since must be before until.")
    return filters


def _parse_instant(name: str, value: str, *, end_of_day: bool) -> dt.datetime:
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            return start + dt.timedelta(days=1) if end_of_day else start
        instant = dt.datetime.fromisoformat(value)
        return instant.replace(tzinfo=dt.UTC) if instant.tzinfo is None else instant.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:  # OverflowError: 9999-12-31 plus a day, or an offset past year 1
        raise MalformedPayloadError(f"{name} must be an ISO 8601 date or date-time (years 1 to 9999).") from exc
