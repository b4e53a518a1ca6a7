"""What the merchant does to a privacy request: retry a failed job, close it with an outcome and a note.

Both write in one short transaction with an audit entry naming the staff member
(``merchant:<sub>`` from the session token). Queueing the retried job is the web
layer's part, after the commit (durable first, like the webhook intake).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.errors import AppError
from shopify_app.i18n import translate
from shopify_app.models import PrivacyRequest, RequestStatus, utcnow
from shopify_app.services import audit, privacy_requests

OUTCOMES = ("answered", "erased", "handled_outside", "identity_not_verified", "duplicate", "withdrawn", "other")
"""How a request ended; the merchant picks one when closing. ``other`` needs a note."""

MAX_NOTE_CHARS = 2000


class RequestStateError(AppError):
    """The request is not in a state that allows this action (409)."""

    status_code = 409


class InvalidFormError(AppError):
    """The form does not validate (422); ``fields`` maps each bad field to its message."""

    status_code = 422

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


def retry_failed_request(session: Session, shop_id: int, privacy_request_id: int, *, actor: str,
                         language: str = "en") -> PrivacyRequest:
    """Put a failed request back to ``received`` so that a job runs again. Commits; the caller queues the job."""
    db.begin_write(session)
    privacy_request = privacy_requests.get_request(session, shop_id, privacy_request_id)  # 404 if not this shop's
    if privacy_request.status != RequestStatus.FAILED:
        session.rollback()
        raise RequestStateError(translate(language, "error.not_failed"))
    privacy_request.status = RequestStatus.RECEIVED
    privacy_request.failure_reason = None  # the reasons stay in the audit log (job.failed entries)
    audit.record(session, shop_id, actor=actor, action="request.retried", privacy_request_id=privacy_request.id,
                 detail={"attempts_so_far": privacy_request.attempts})
    session.commit()
    return privacy_request


def validate_close(data: Mapping[str, Any], language: str) -> tuple[str, str | None]:
    """``(outcome, note)`` from the Close form, or :class:`InvalidFormError` with a message per field."""
    outcome = data.get("outcome")
    note_value = data.get("note")
    note = note_value.strip() if isinstance(note_value, str) else ""
    fields: dict[str, str] = {}
    if outcome not in OUTCOMES:
        fields["outcome"] = translate(language, "error.outcome")
    if note_value is not None and not isinstance(note_value, str):
        fields["note"] = translate(language, "error.json")
    elif len(note) > MAX_NOTE_CHARS:
        fields["note"] = translate(language, "error.note_long", max=MAX_NOTE_CHARS)
    elif outcome == "other" and not note:
        fields["note"] = translate(language, "error.note_required")
    if fields:
        raise InvalidFormError(translate(language, "common.fix_errors"), fields)
    return str(outcome), note or None


def close_request(session: Session, shop_id: int, privacy_request_id: int, *, outcome: str, note: str | None,
                  actor: str, language: str = "en") -> PrivacyRequest:
    """Close a request with its outcome and the merchant's note. Commits.

    A running job would overwrite the status when it finishes, so a request that is
    ``processing`` cannot be closed until its job is done. The note is not copied into
    the audit log (it may name the customer); the outcome is.
    """
    if outcome not in OUTCOMES:
        raise InvalidFormError(translate(language, "common.fix_errors"),
                               {"outcome": translate(language, "error.outcome")})
    db.begin_write(session)
    privacy_request = privacy_requests.get_request(session, shop_id, privacy_request_id)
    previous = privacy_request.status
    if previous == RequestStatus.CLOSED:
        session.rollback()
        raise RequestStateError(translate(language, "error.already_closed"))
    if previous == RequestStatus.PROCESSING:
        session.rollback()
        raise RequestStateError(translate(language, "error.running"))
    privacy_request.status = RequestStatus.CLOSED
    privacy_request.closed_at = utcnow()
    privacy_request.outcome = outcome
    privacy_request.note = note
    audit.record(session, shop_id, actor=actor, action="request.closed", privacy_request_id=privacy_request.id,
                 detail={"outcome": outcome, "previous_status": previous, "with_note": note is not None})
    session.commit()
    return privacy_request
