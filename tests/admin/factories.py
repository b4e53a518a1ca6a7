"""Rows for the admin tests, written straight to the database (the app's own paths are tested elsewhere)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import AuditEntry, ConsentRecord, PrivacyRequest, Shop, utcnow
from tests.signing import make_session_token


def shop_id(db_session: Session, domain: str) -> int:
    db_session.rollback()
    return db_session.scalars(select(Shop.id).where(Shop.domain == domain)).one()


def add_request(db_session: Session, shop: int, *, kind: str = "data_request", status: str = "received",
                due_in_days: float = 20, customer_id: int | None = 1001,
                email: str | None = "camille.dubois@example.fr",
                failure_reason: str | None = None, completed_days_ago: float | None = None, **fields: Any) -> int:
    db_session.rollback()  # no stale read snapshot: SQLite would refuse to upgrade it to a write
    now = utcnow()
    request = PrivacyRequest(
        shop_id=shop, kind=kind, source="webhook", status=status, customer_id=customer_id, customer_email=email,
        received_at=now + dt.timedelta(days=due_in_days - 30), due_at=now + dt.timedelta(days=due_in_days),
        failure_reason=failure_reason, attempts=fields.pop("attempts", 0),
        completed_at=now - dt.timedelta(days=completed_days_ago) if completed_days_ago is not None else None,
        **fields,
    )
    db_session.add(request)
    db_session.flush()
    db_session.add(AuditEntry(shop_id=shop, privacy_request_id=request.id, actor="shopify", action="webhook.received",
                              at=request.received_at, detail={"topic": kind}))
    db_session.commit()
    return request.id


TEXT_HASH = hashlib.sha256(b"banner texts").hexdigest()


def consent_row(shop: int, *, visitor_id: str = "visitor-0001", action: str = "accept_all",
                recorded_at: dt.datetime | None = None, customer_id: int | None = None, **fields: Any) -> ConsentRecord:
    granted = action == "accept_all"
    values = {"analytics": granted, "marketing": granted, "preferences": granted, "sale_of_data": granted}
    if action == "custom":
        values = {"analytics": True, "marketing": False, "preferences": True, "sale_of_data": False}
    values.update({k: fields.pop(k) for k in list(fields) if k in values})
    return ConsentRecord(
        shop_id=shop, visitor_id=visitor_id, customer_id=customer_id, action=action, gpc=fields.pop("gpc", False),
        revision=fields.pop("revision", 3), text_hash=TEXT_HASH, language=fields.pop("language", "fr"),
        ip_truncated=fields.pop("ip_truncated", "203.0.113.0"), user_agent=fields.pop("user_agent", "Mozilla/5.0"),
        recorded_at=recorded_at or utcnow(), **values, **fields,
    )


def add_consents(db_session: Session, rows: list[ConsentRecord]) -> None:
    db_session.rollback()
    db_session.add_all(rows)
    db_session.commit()


def bearer(shop: str, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(shop, **claims)}"}


def page_params(shop: str, locale: str | None = None, **extra: str) -> dict[str, str]:
    params = {"shop": shop, "host": "YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvZGVtbw", "embedded": "1",
              "id_token": make_session_token(shop)}
    if locale:
        params["locale"] = locale
    return {**params, **extra}
