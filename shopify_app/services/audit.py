"""The audit log: who did what and when. Entries never hold identifiers in clear."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shopify_app.models import AuditEntry


def record(
    session: Session,
    shop_id: int,
    *,
    actor: str,
    action: str,
    privacy_request_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the caller's transaction (it is committed with the change it describes)."""
    entry = AuditEntry(shop_id=shop_id, actor=actor, action=action, privacy_request_id=privacy_request_id,
                       detail=detail or {})
    session.add(entry)
    return entry
