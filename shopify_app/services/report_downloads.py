"""Serving a compiled report to the merchant, and recording that it was downloaded."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app.models import PrivacyReport, utcnow
from shopify_app.services import audit, privacy_requests


@dataclasses.dataclass(frozen=True)
class ReportDownload:
    body: str
    mimetype: str
    filename: str


def download_report(session: Session, shop_id: int, privacy_request_id: int, fmt: str, *, actor: str) -> ReportDownload | None:
    """The report in ``fmt`` if it exists and has not expired; the download is audited. Commits."""
    privacy_request = privacy_requests.get_request(session, shop_id, privacy_request_id)  # scoped: 404 otherwise
    report = session.scalars(select(PrivacyReport).where(PrivacyReport.shop_id == shop_id,
                                                         PrivacyReport.privacy_request_id == privacy_request.id)).first()
    if report is None or report.expires_at <= utcnow():
        return None
    audit.record(session, shop_id, actor=actor, action="report.downloaded", privacy_request_id=privacy_request.id,
                 detail={"format": fmt, "sha256": report.sha256})
    session.commit()
    name = f"privacy-report-{privacy_request.id}.{fmt}"
    if fmt == "html":
        return ReportDownload(report.html_document, "text/html", name)
    return ReportDownload(report.json_document, "application/json", name)
