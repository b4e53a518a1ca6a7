"""Retention: delete what we store once its retention period is over, and count it in the audit log."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shopify_app.models import PrivacyReport, utcnow
from shopify_app.services import audit


def purge_expired_reports(session: Session, *, now: dt.datetime | None = None) -> dict[int, int]:
    """Delete compiled reports past their 30 days; one audit entry per shop with the count. Does not commit."""
    now = now or utcnow()
    expired = session.execute(
        select(PrivacyReport.id, PrivacyReport.shop_id).where(PrivacyReport.expires_at <= now)
    ).all()
    per_shop = Counter(shop_id for _, shop_id in expired)
    if expired:
        session.execute(delete(PrivacyReport).where(PrivacyReport.id.in_([report_id for report_id, _ in expired])))
    for shop_id, count in per_shop.items():
        audit.record(session, shop_id, actor="system", action="retention.purged",
                     detail={"privacy_reports": count})
    return dict(per_shop)
