"""The admin overview: request counts, consent decisions per day, and what needs the merchant's action."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from shopify_app.models import BannerConfig, ConsentRecord, PrivacyRequest, ShopSettings, utcnow
from shopify_app.services import policy_review
from shopify_app.services.admin_views import ACTIVE_STATUSES
from shopify_app.services.settings_service import policy_text_of

DUE_SOON = dt.timedelta(days=7)
CHART_DAYS = 30
CHOICE_GROUPS = ("accept_all", "custom", "reject_all")
"""Chart series. ``close`` (the banner closed without a choice) refuses everything, so it counts as reject all."""


@dataclasses.dataclass(frozen=True)
class RequestCounts:
    open: int
    due_soon: int
    overdue: int
    failed: int
    completed_this_month: int


def request_counts(session: Session, shop_id: int, *, now: dt.datetime | None = None) -> RequestCounts:
    """The four overview figures (and failures), in one query."""
    now = now or utcnow()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    active = PrivacyRequest.status.in_(ACTIVE_STATUSES)
    done_at = func.coalesce(PrivacyRequest.completed_at, PrivacyRequest.closed_at)

    def count_where(*conditions: Any) -> Any:
        return func.count(case((and_(*conditions), 1)))

    row = session.execute(
        select(
            count_where(active),
            count_where(active, PrivacyRequest.due_at >= now, PrivacyRequest.due_at < now + DUE_SOON),
            count_where(active, PrivacyRequest.due_at < now),
            count_where(PrivacyRequest.status == "failed"),
            count_where(done_at >= month_start),
        ).where(PrivacyRequest.shop_id == shop_id)
    ).one()
    return RequestCounts(*(int(v or 0) for v in row))


@dataclasses.dataclass(frozen=True)
class DayDecisions:
    day: dt.date
    accept_all: int
    reject_all: int
    custom: int

    @property
    def total(self) -> int:
        return self.accept_all + self.reject_all + self.custom


@dataclasses.dataclass(frozen=True)
class ConsentChart:
    days: list[DayDecisions]

    @property
    def peak(self) -> int:
        return max((d.total for d in self.days), default=0)

    def total(self, group: str) -> int:
        return sum(getattr(d, group) for d in self.days)


def consent_chart(session: Session, shop_id: int, *, now: dt.datetime | None = None,
                  days: int = CHART_DAYS) -> ConsentChart:
    """Decisions per UTC day over the last ``days`` days (today included), split into the chart's three groups."""
    now = now or utcnow()
    first_day = now.date() - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first_day, dt.time(), tzinfo=dt.UTC)
    day = func.date(ConsentRecord.recorded_at)
    group = case((ConsentRecord.action == "accept_all", "accept_all"),
                 (or_(ConsentRecord.action == "reject_all", ConsentRecord.action == "close"), "reject_all"),
                 else_="custom")
    rows = session.execute(
        select(day, group, func.count())
        .where(ConsentRecord.shop_id == shop_id, ConsentRecord.recorded_at >= since)
        .group_by(day, group)
    ).all()
    counts: dict[tuple[str, str], int] = {}
    for day_value, group_value, count in rows:
        key = (str(day_value)[:10], group_value)  # SQLite gives text, PostgreSQL a date
        counts[key] = counts.get(key, 0) + int(count)
    series = []
    for offset in range(days):
        current = first_day + dt.timedelta(days=offset)
        iso = current.isoformat()
        series.append(DayDecisions(current, counts.get((iso, "accept_all"), 0), counts.get((iso, "reject_all"), 0),
                                   counts.get((iso, "custom"), 0)))
    return ConsentChart(series)


@dataclasses.dataclass(frozen=True)
class BannerState:
    """Whether the app embed is on in the live theme; ``enabled`` is None when it could not be read."""

    enabled: bool | None
    deep_link: str | None = None
    revision: int | None = None
    theme_name: str | None = None
    reason: str | None = None


def banner_revision(session: Session, shop_id: int) -> int | None:
    """The revision of the shop's saved banner configuration (None if it never saved one)."""
    return session.scalar(select(BannerConfig.revision).where(BannerConfig.shop_id == shop_id))


def policy_findings(session: Session, shop_id: int, language: str) -> list[policy_review.Finding]:
    """Outdated cookie wording in the privacy policy text kept in Settings."""
    settings_row = session.get(ShopSettings, shop_id)
    return policy_review.review_policy(policy_text_of(settings_row), language)
