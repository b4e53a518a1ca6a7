"""The audit log: who did what and when. Entries never hold identifiers in clear."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
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


@dataclasses.dataclass(frozen=True)
class Entry:
    shop_id: int
    actor: str
    action: str
    privacy_request_id: int | None = None
    detail: dict[str, Any] = dataclasses.field(default_factory=dict)


def record_many(session: Session, entries: Sequence[Entry]) -> None:
    """Add many entries to the caller's transaction in one statement (the webhook intake's batches)."""
    if entries:
        session.execute(insert(AuditEntry.__table__), [dataclasses.asdict(entry) for entry in entries])
