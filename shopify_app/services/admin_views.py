"""What the embedded admin's pages show: lists, a request's timeline, the audit log, the consent log.

Read-only, and every query is scoped to one shop. Lists are paged with ``limit + 1``
rows, so a page knows whether there is a next one without counting the whole table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.i18n import translate
from shopify_app.models import AuditEntry, PrivacyReport, PrivacyRequest, RequestKind, RequestStatus, utcnow
from shopify_app.services import consent

T = TypeVar("T")

PAGE_SIZE = 50
ACTIVE_STATUSES = (RequestStatus.RECEIVED, RequestStatus.PROCESSING, RequestStatus.FAILED)
"""Not done yet: the request still needs the app's work or the merchant's."""

STATUS_FILTERS = ("open", "overdue", *(s.value for s in RequestStatus))
KIND_FILTERS = tuple(k.value for k in RequestKind)
MAX_OFFSET = 1_000_000


@dataclasses.dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    offset: int
    limit: int
    has_more: bool

    @property
    def number(self) -> int:
        return self.offset // self.limit + 1

    @property
    def previous_offset(self) -> int | None:
        return max(0, self.offset - self.limit) if self.offset > 0 else None

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None


def _page(rows: Sequence[T], offset: int, limit: int) -> Page[T]:
    return Page(items=rows[:limit], offset=offset, limit=limit, has_more=len(rows) > limit)


def parse_offset(value: str | None) -> int:
    """A page offset from the query string; anything odd means the first page."""
    if value and value.isascii() and value.isdigit():
        return min(int(value), MAX_OFFSET)
    return 0


def is_overdue(privacy_request: PrivacyRequest, now: dt.datetime | None = None) -> bool:
    return privacy_request.status in ACTIVE_STATUSES and privacy_request.due_at < (now or utcnow())


# -- privacy requests ---------------------------------------------------------------------


def list_requests_page(
    session: Session,
    shop_id: int,
    *,
    status: str | None = None,
    kind: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    now: dt.datetime | None = None,
) -> Page[PrivacyRequest]:
    """One shop's requests, soonest due first. ``status`` may also be ``open`` or ``overdue``."""
    now = now or utcnow()
    query = select(PrivacyRequest).where(PrivacyRequest.shop_id == shop_id)
    if status == "open":
        query = query.where(PrivacyRequest.status.in_(ACTIVE_STATUSES))
    elif status == "overdue":
        query = query.where(PrivacyRequest.status.in_(ACTIVE_STATUSES), PrivacyRequest.due_at < now)
    elif status:
        query = query.where(PrivacyRequest.status == status)
    if kind:
        query = query.where(PrivacyRequest.kind == kind)
    query = query.order_by(PrivacyRequest.due_at, PrivacyRequest.id).limit(limit + 1).offset(offset)
    return _page(session.scalars(query).all(), offset, limit)


@dataclasses.dataclass(frozen=True)
class ReportInfo:
    created_at: dt.datetime
    expires_at: dt.datetime
    size_bytes: int
    sha256: str
    language: str


def report_info(session: Session, shop_id: int, privacy_request_id: int) -> ReportInfo | None:
    """The compiled report's metadata if it exists and has not expired (never its content)."""
    row = session.execute(
        select(PrivacyReport.created_at, PrivacyReport.expires_at, PrivacyReport.size_bytes, PrivacyReport.sha256,
               PrivacyReport.language)
        .where(PrivacyReport.shop_id == shop_id, PrivacyReport.privacy_request_id == privacy_request_id)
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return ReportInfo(row.created_at, row.expires_at, row.size_bytes, row.sha256, row.language)


@dataclasses.dataclass(frozen=True)
class TimelineEvent:
    at: dt.datetime
    actor: str
    action: str
    label: str
    detail: dict[str, Any]


def describe_action(action: str, detail: Mapping[str, Any], language: str) -> str:
    """A sentence for an audit action, in the admin's language (the raw action if we have no words for it)."""
    key = f"action.{action}"
    params: dict[str, object] = {}
    if action == "job.started":
        params["attempt"] = detail.get("attempt", "?")
    elif action == "report.downloaded":
        params["format"] = str(detail.get("format", "?")).upper()
    elif action == "request.closed":
        outcome = str(detail.get("outcome", ""))
        params["outcome"] = translate(language, f"outcome.{outcome}") if outcome else "?"
    text = translate(language, key, **params)
    return action if text == key else text


def describe_actor(actor: str, language: str) -> str:
    if actor.startswith("merchant:"):
        return translate(language, "actor.merchant", id=actor.removeprefix("merchant:") or "?")
    text = translate(language, f"actor.{actor}")
    return actor if text == f"actor.{actor}" else text


def request_timeline(session: Session, shop_id: int, privacy_request_id: int, language: str) -> list[TimelineEvent]:
    """The request's history from the audit log, oldest first."""
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.shop_id == shop_id, AuditEntry.privacy_request_id == privacy_request_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    return [TimelineEvent(e.at, describe_actor(e.actor, language), e.action,
                          describe_action(e.action, e.detail or {}, language), e.detail or {}) for e in entries]


# -- audit log ------------------------------------------------------------------------------


def audit_page(session: Session, shop_id: int, *, offset: int = 0, limit: int = PAGE_SIZE) -> Page[AuditEntry]:
    """One shop's audit entries, newest first."""
    rows = session.scalars(
        select(AuditEntry).where(AuditEntry.shop_id == shop_id)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit + 1).offset(offset)
    ).all()
    return _page(rows, offset, limit)


def summarize_detail(detail: Mapping[str, Any]) -> str:
    """A short, flat view of an entry's detail for the audit table (no nested salts and hashes)."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, dict):
            if key == "counts":
                parts.extend(f"{k}={v}" for k, v in value.items())
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    text = "; ".join(parts)
    return text if len(text) <= 240 else text[:239] + "…"


# -- consent log ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ConsentFilters:
    """Validated search fields of the consent log; ``values`` echo what was typed, ``errors`` say what is wrong."""

    visitor_id: str | None = None
    customer_id: int | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None  # exclusive: the day after the last day asked for
    values: dict[str, str] = dataclasses.field(default_factory=dict)
    errors: dict[str, str] = dataclasses.field(default_factory=dict)

    def query_kwargs(self) -> dict[str, Any]:
        return {"visitor_id": self.visitor_id, "customer_id": self.customer_id, "since": self.since,
                "until": self.until}


CONSENT_FILTER_FIELDS = ("visitor_id", "customer_id", "since", "until")


def parse_consent_filters(args: Mapping[str, str], language: str) -> ConsentFilters:
    """Read the consent log's search fields; a bad field gets a message and is left out of the search."""
    values = {name: (args.get(name) or "").strip() for name in CONSENT_FILTER_FIELDS}
    errors: dict[str, str] = {}
    visitor_id = values["visitor_id"] or None
    if visitor_id is not None and not consent.VISITOR_ID.fullmatch(visitor_id):
        errors["visitor_id"], visitor_id = translate(language, "consent.error.visitor_id"), None
    customer_id: int | None = None
    if values["customer_id"]:
        raw = values["customer_id"]
        if raw.isascii() and raw.isdigit() and len(raw) <= 19:
            customer_id = int(raw)
        else:
            errors["customer_id"] = translate(language, "consent.error.customer_id")
    days: dict[str, dt.date] = {}
    for name in ("since", "until"):
        if values[name]:
            try:
                days[name] = dt.date.fromisoformat(values[name])
            except ValueError:
                errors[name] = translate(language, "consent.error.date")
    if "since" in days and "until" in days and days["since"] > days["until"]:
        errors["until"] = translate(language, "consent.error.range")
        del days["until"]
    since = dt.datetime.combine(days["since"], dt.time(), tzinfo=dt.UTC) if "since" in days else None
    until = (dt.datetime.combine(days["until"], dt.time(), tzinfo=dt.UTC) + dt.timedelta(days=1)
             if "until" in days else None)
    return ConsentFilters(visitor_id, customer_id, since, until, values, errors)


def consent_page(session: Session, shop_id: int, filters: ConsentFilters, *, offset: int = 0,
                 limit: int = PAGE_SIZE) -> Page[Any]:
    """A page of the consent log, newest first (through the consent service's own query)."""
    rows = consent.list_consent_records(session, shop_id, **filters.query_kwargs(), limit=limit + 1, offset=offset)
    return _page(rows, offset, limit)
