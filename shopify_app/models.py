"""ORM tables. Rows only: behaviour lives in ``services/``.

Every table that holds a shop's data carries ``shop_id``, and every query in
the services filters on it, so one shop can never read another's rows.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

MAX_CUSTOMER_ID = 2**63 - 1
"""Shopify's customer ids are 64-bit; the ``customer_id`` columns are BIGINT. A larger number is no customer."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class RequestKind(enum.StrEnum):
    DATA_REQUEST = "data_request"
    CUSTOMER_REDACT = "customer_redact"
    SHOP_REDACT = "shop_redact"
    # Rights a shopper asks for through the storefront form (web/proxy.py); the merchant fulfils them.
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    OBJECTION = "objection"
    POST_MORTEM_DIRECTIVE = "post_mortem_directive"


class RequestStatus(enum.StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CLOSED = "closed"


OPEN_STATUSES = (RequestStatus.RECEIVED, RequestStatus.PROCESSING)


class Shop(Base):
    __tablename__ = "shops"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    shopify_shop_id: Mapped[int | None] = mapped_column(BigInteger)
    installed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    uninstalled_at: Mapped[dt.datetime | None]
    # Tokens are Fernet ciphertext (see encryption.py); never plaintext.
    access_token_encrypted: Mapped[str | None] = mapped_column(Text)
    access_token_expires_at: Mapped[dt.datetime | None]
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    refresh_token_expires_at: Mapped[dt.datetime | None]
    granted_scopes: Mapped[str] = mapped_column(Text, default="")
    locale: Mapped[str | None] = mapped_column(String(16))

    @property
    def is_installed(self) -> bool:
        return self.uninstalled_at is None and self.access_token_encrypted is not None


class ShopSettings(Base):
    """What the merchant configures: contacts, policy facts for reports, retention."""

    __tablename__ = "shop_settings"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    contact_email: Mapped[str | None] = mapped_column(String(320))
    dpo_email: Mapped[str | None] = mapped_column(String(320))
    report_language: Mapped[str] = mapped_column(String(8), default="auto")
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # How long we keep what we store, in months (migration 0003; edited on the Settings page).
    consent_retention_months: Mapped[int] = mapped_column(Integer, default=13, server_default="13")
    request_retention_months: Mapped[int] = mapped_column(Integer, default=36, server_default="36")
    audit_retention_months: Mapped[int] = mapped_column(Integer, default=60, server_default="60")


class WebhookDelivery(Base):
    """One verified delivery from Shopify; the unique webhook id makes redelivery a no-op."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[str] = mapped_column(String(128), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    # SET NULL, not CASCADE: the delivery ids must outlive shop/redact so that a
    # redelivered shop/redact stays a no-op. They hold no personal data.
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shops.id", ondelete="SET NULL"), index=True)
    triggered_at: Mapped[dt.datetime | None]
    api_version: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Indexed for the foreign key: erasing a shop deletes its requests, each of which clears this column.
    privacy_request_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_requests.id", ondelete="SET NULL"),
                                                           index=True)


DATA_REQUEST_UNIQUE_INDEX = "uq_privacy_requests_shop_data_request"


class PrivacyRequest(Base):
    """A data-subject request with its legal deadline, from a webhook or the storefront."""

    __tablename__ = "privacy_requests"
    __table_args__ = (
        Index("ix_privacy_requests_shop_due", "shop_id", "due_at"),
        Index("ix_privacy_requests_shop_status_due", "shop_id", "status", "due_at"),
        Index("ix_privacy_requests_status_received", "status", "received_at"),
        Index("ix_privacy_requests_shop_customer", "shop_id", "customer_id"),
        Index("ix_privacy_requests_shop_shopify_request", "shop_id", "shopify_request_id"),
        # One request per Shopify data request, even when two processes receive it under two webhook ids at
        # once (the intake turns the loser's violation into a retry that finds the winner's request).
        Index(DATA_REQUEST_UNIQUE_INDEX, "shop_id", "shopify_request_id", unique=True,
              postgresql_where=text(f"kind = '{RequestKind.DATA_REQUEST}'"),
              sqlite_where=text(f"kind = '{RequestKind.DATA_REQUEST}'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), default="webhook")
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.RECEIVED)
    # Personal fields: blanked by erasure and by retention once the request is closed.
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_phone: Mapped[str | None] = mapped_column(String(64))
    orders_requested: Mapped[list[Any]] = mapped_column(default=list)
    orders_to_redact: Mapped[list[Any]] = mapped_column(default=list)
    shopify_request_id: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime]
    started_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def job_id(self) -> str:
        # RQ job ids allow only [A-Za-z0-9_-].
        return f"privacy-request-{self.id}"


class PrivacyReport(Base):
    """A compiled subject-access report, downloadable for a limited time, then purged."""

    __tablename__ = "privacy_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    privacy_request_id: Mapped[int] = mapped_column(
        ForeignKey("privacy_requests.id", ondelete="CASCADE"), unique=True
    )
    language: Mapped[str] = mapped_column(String(8))
    json_document: Mapped[str] = mapped_column(Text)
    html_document: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class ConsentRecord(Base):
    """Proof of one storefront consent choice. Append-only."""

    __tablename__ = "consent_records"
    __table_args__ = (
        Index("ix_consent_records_shop_recorded", "shop_id", "recorded_at"),
        Index("ix_consent_records_shop_visitor", "shop_id", "visitor_id"),
        Index("ix_consent_records_shop_customer", "shop_id", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    visitor_id: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(16))
    analytics: Mapped[bool] = mapped_column(Boolean)
    marketing: Mapped[bool] = mapped_column(Boolean)
    preferences: Mapped[bool] = mapped_column(Boolean)
    sale_of_data: Mapped[bool] = mapped_column(Boolean)
    gpc: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer)
    text_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    # Truncated on the way in: /24 for IPv4, /48 for IPv6, 200 chars of user agent.
    ip_truncated: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Who did what, when: merchant actions, job outcomes, erasure proofs. No identifiers in clear."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_shop_at", "shop_id", "at"),
        Index("ix_audit_entries_request", "privacy_request_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    privacy_request_id: Mapped[int | None] = mapped_column(ForeignKey("privacy_requests.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ShopTombstone(Base):
    """All that is left of a shop after ``shop/redact``: proof that the erasure happened."""

    __tablename__ = "shop_tombstones"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_domain_hash: Mapped[str] = mapped_column(String(64), index=True)
    redacted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OAuthState(Base):
    """A single-use ``state`` for the authorization-code grant."""

    __tablename__ = "oauth_states"
    __table_args__ = (UniqueConstraint("state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(64))
    shop_domain: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    used_at: Mapped[dt.datetime | None]


class BannerConfig(Base):
    """The merchant's storefront consent banner: texts, categories and cookies, policy link.

    ``config`` holds only what the merchant edits (see ``services/banner.py``); ``revision``
    goes up whenever the texts or categories shown change, which asks every visitor again.
    """

    __tablename__ = "banner_configs"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StorefrontRequest(Base):
    """What a shopper sent through the storefront form, and the request's fulfilment details.

    A guest's submission stays ``unconfirmed`` (no privacy request exists yet) until the
    single-use link emailed to them is opened; then ``privacy_request_id`` points at the
    request the merchant sees. Tokens are stored as SHA-256 only. Personal fields (email,
    message, correction) are blanked by erasure and by retention.
    """

    __tablename__ = "storefront_requests"
    __table_args__ = (
        Index("ix_storefront_requests_status_created", "status", "created_at"),
        Index("ix_storefront_requests_shop_customer_ref", "shop_id", "customer_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    privacy_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("privacy_requests.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[str] = mapped_column(String(16), default="unconfirmed")
    right: Mapped[str] = mapped_column(String(32))
    marketing_channel: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(8), default="en")
    email: Mapped[str | None] = mapped_column(String(320))
    message: Mapped[str | None] = mapped_column(Text)
    correction: Mapped[str | None] = mapped_column(Text)
    handling_note: Mapped[str | None] = mapped_column(Text)
    # Where the app proxy is mounted on this shop (merchants may rename it): links in emails use it.
    path_prefix: Mapped[str] = mapped_column(String(64), default="/apps/privacy")
    # SHA-256 of "<shop id>:<Shopify customer id>": matches Shopify's later customers/redact after our erasure.
    customer_ref: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    token_expires_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[dt.datetime | None]
    extended_months: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    report_delivery: Mapped[str | None] = mapped_column(String(16))
    report_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    report_token_expires_at: Mapped[dt.datetime | None]
    report_link_sent_at: Mapped[dt.datetime | None]
    report_downloads: Mapped[int] = mapped_column(Integer, default=0)


class RetentionScan(Base):
    """One run of the weekly search for customers past the retention period."""

    __tablename__ = "retention_scans"
    __table_args__ = (Index("ix_retention_scans_shop_started", "shop_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="running")
    cutoff: Mapped[dt.datetime]
    customers_due: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class RetentionErasureBatch(Base):
    """The merchant's "erase them all": progress of one batch job over retention-due customers."""

    __tablename__ = "retention_erasure_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="queued")
    actor: Mapped[str] = mapped_column(String(64))
    total: Mapped[int] = mapped_column(Integer, default=0)
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)


class RetentionDueCustomer(Base):
    """A Shopify customer with no order and no update for longer than the retention period.

    Only the id and Shopify's dates are kept (the merchant opens the customer in Shopify admin).
    """

    __tablename__ = "retention_due_customers"
    __table_args__ = (
        UniqueConstraint("shop_id", "customer_id"),
        Index("ix_retention_due_customers_batch", "batch_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    shopify_created_at: Mapped[dt.datetime | None]
    shopify_updated_at: Mapped[dt.datetime]
    found_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(24), default="due")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("retention_erasure_batches.id", ondelete="SET NULL"))
    erasure_requested_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
