"""The consent log as CSV, streamed: a shop may hold millions of proofs, and none of them sit in memory.

:func:`iter_consent_csv` is a generator. It reads the log in keyset-paginated batches
(``(recorded_at, id)`` after the last row seen, on the ``(shop_id, recorded_at)`` index),
each batch fetched with ``yield_per`` (a server-side cursor on PostgreSQL), and yields
CSV text every few hundred rows. Between batches the read transaction ends, so a long
export never holds one snapshot open. Memory stays at one batch whatever the size.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from sqlalchemy import DateTime, and_, or_, select, type_coerce
from sqlalchemy.orm import Session

from shopify_app.models import ConsentRecord
from shopify_app.services import audit
from shopify_app.services.consent import consent_filters

BATCH_ROWS = 5000
FETCH_ROWS = 2500
FLUSH_ROWS = 500

COLUMNS = (
    ("recorded_at", type_coerce(ConsentRecord.recorded_at, DateTime())),  # naive UTC, formatted below
    ("visitor_id", ConsentRecord.visitor_id),
    ("customer_id", ConsentRecord.customer_id),
    ("action", ConsentRecord.action),
    ("analytics", ConsentRecord.analytics),
    ("marketing", ConsentRecord.marketing),
    ("preferences", ConsentRecord.preferences),
    ("sale_of_data", ConsentRecord.sale_of_data),
    ("gpc", ConsentRecord.gpc),
    ("banner_revision", ConsentRecord.revision),
    ("text_hash", ConsentRecord.text_hash),
    ("language", ConsentRecord.language),
    ("ip_truncated", ConsentRecord.ip_truncated),
    ("user_agent", ConsentRecord.user_agent),
)
HEADER = tuple(name for name, _ in COLUMNS)
_FORMULA_STARTS = frozenset("=+-@\t\r")
_BOOL = {True: "true", False: "false", None: ""}


def _text(value: str | None) -> str | None:
    # A spreadsheet would run "=…" as a formula (CSV injection): the user agent is free text from visitors.
    return "'" + value if value and value[0] in _FORMULA_STARTS else value


def _csv_row(row: Any) -> tuple[Any, ...]:
    """One record as CSV cells; written for speed (a million rows go through here). ``None`` becomes ""."""
    at, visitor, customer, action, analytics, marketing, preferences, sale, gpc, revision, text_hash, language, \
        ip, user_agent = row[:14]
    return (at.isoformat(timespec="microseconds") + "Z", _text(visitor), customer, action, _BOOL[analytics],
            _BOOL[marketing], _BOOL[preferences], _BOOL[sale], _BOOL[gpc], revision, text_hash, language, ip,
            _text(user_agent))


def export_filename(now: dt.datetime) -> str:
    return f"consent-log-{now:%Y%m%d-%H%M%S}.csv"


def record_export(session: Session, shop_id: int, *, actor: str, filters: dict[str, Any]) -> None:
    """Audit that the merchant exported the log (with which filters, never the values found). Commits."""
    detail = {key: (value.isoformat() if isinstance(value, dt.datetime) else True)
              for key, value in filters.items() if value is not None}
    audit.record(session, shop_id, actor=actor, action="consent_log.exported", detail={"filters": sorted(detail)})
    session.commit()


def iter_consent_csv(
    session: Session,
    shop_id: int,
    *,
    visitor_id: str | None = None,
    customer_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[str]:
    """Yield the CSV (header first) of one shop's consent records, oldest first, filtered like the consent log."""
    conditions = consent_filters(shop_id, visitor_id=visitor_id, customer_id=customer_id, since=since, until=until)
    columns = [column for _, column in COLUMNS]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    yield _drain(buffer)

    last: tuple[dt.datetime, int] | None = None  # (recorded_at, id) of the last row written
    while True:
        keyset = [] if last is None else [
            ConsentRecord.recorded_at >= last[0],  # lets the (shop_id, recorded_at) index bound the scan
            or_(ConsentRecord.recorded_at > last[0],
                and_(ConsentRecord.recorded_at == last[0], ConsentRecord.id > last[1])),
        ]
        query = (select(*columns, ConsentRecord.id).where(*conditions, *keyset)
                 .order_by(ConsentRecord.recorded_at, ConsentRecord.id).limit(batch_rows)
                 .execution_options(yield_per=FETCH_ROWS))
        rows = 0
        pending: list[tuple[Any, ...]] = []
        for row in session.connection().execute(query):  # Core rows: no ORM overhead per row
            pending.append(_csv_row(row))
            rows += 1
            if len(pending) == FLUSH_ROWS:
                writer.writerows(pending)
                pending.clear()
                yield _drain(buffer)
        if rows:
            last = (row[0].replace(tzinfo=dt.UTC), row[-1])
        session.rollback()  # end the read transaction between batches (nothing was written)
        if pending:
            writer.writerows(pending)
            yield _drain(buffer)
        if rows < batch_rows:
            return


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
