"""Privacy requests a shopper makes on the storefront, through the app proxy.

Identity: a request made while logged in carries ``logged_in_customer_id`` in the signed proxy
query, so it is tied to that customer and verified at once. A guest's request is only a
submission (``unconfirmed``) until the shopper opens the single-use link emailed to the address
they typed (24 hours); only then does the merchant see a request, due one month later.

Abuse: the app proxy strips cookies, so there is no session or CSRF token. What protects the
form is the proxy signature (only Shopify can send it), rate limits per shop, per IP and per
email address (hashed before it reaches Redis), and answers that are the same whether or not
the address belongs to a customer (nothing is looked up in Shopify before confirmation).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import re
import secrets
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app import db, mail
from shopify_app.errors import AppError, MalformedPayloadError, NotFoundError
from shopify_app.models import PrivacyRequest, RequestKind, RequestStatus, Shop, StorefrontRequest, utcnow
from shopify_app.services import audit, notifications, shops
from shopify_app.services.identifiers import customer_ref
from shopify_app.services.months import add_months
from shopify_app.services.privacy_requests import STOREFRONT_SOURCE
from shopify_app.services.rate_limits import FixedWindowLimiter, Limit, RateLimitExceeded
from shopify_app.settings import Settings

log = logging.getLogger(__name__)

RIGHTS = (RequestKind.ACCESS, RequestKind.RECTIFICATION, RequestKind.ERASURE, RequestKind.OBJECTION,
          RequestKind.POST_MORTEM_DIRECTIVE)
MARKETING_CHANNELS = ("email", "sms")  # "sms" covers SMS and WhatsApp: one phone consent in Shopify
MAX_TEXT_CHARS = 2000
CONFIRMATION_LINK_LIFETIME = dt.timedelta(hours=24)
RESPONSE_MONTHS = 1  # GDPR art. 12(3): one month from the (verified) request
PATH_PREFIX = re.compile(r"/(?:apps|a|community|tools)/[A-Za-z0-9_-]{1,40}")
DEFAULT_PATH_PREFIX = "/apps/privacy"

FORM_IP_LIMIT = Limit("privacy-form-ip", max_events=5, window_seconds=3600)
FORM_SHOP_LIMIT = Limit("privacy-form-shop", max_events=200, window_seconds=3600)
FORM_EMAIL_LIMIT = Limit("privacy-form-email", max_events=3, window_seconds=24 * 3600)
LINK_IP_LIMIT = Limit("privacy-link-ip", max_events=30, window_seconds=3600)


class InvalidSubmissionError(AppError):
    """The form does not validate (422); ``fields`` names each bad field."""

    status_code = 422

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("The form has errors.")
        self.fields = fields


class InvalidLinkError(AppError):
    """A confirmation or download link that is unknown, used up or expired (410)."""

    status_code = 410

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Submission:
    """The storefront form, validated."""

    right: str
    email: str
    message: str | None
    correction: str | None
    marketing_channel: str | None
    language: str

    @classmethod
    def from_form(cls, form: Mapping[str, str], language: str) -> Submission:
        """Validate the posted form; :class:`InvalidSubmissionError` names every field that is wrong."""
        errors: dict[str, str] = {}
        right = form.get("right", "")
        if right not in RIGHTS:
            errors["right"] = "right"
        try:
            email = mail.normalize_address(form.get("email", ""))
        except MalformedPayloadError:
            email, errors["email"] = "", "email"
        message = _text(form.get("message"), "message", errors)
        correction = _text(form.get("correction"), "correction", errors)
        channel = form.get("channel") or None
        if right == RequestKind.RECTIFICATION and not correction:
            errors["correction"] = "correction"
        if right == RequestKind.OBJECTION:
            if channel not in MARKETING_CHANNELS:
                errors["channel"] = "channel"
        else:
            channel = None
        if right != RequestKind.RECTIFICATION:
            correction = None
        if errors:
            raise InvalidSubmissionError(errors)
        return cls(right=right, email=email, message=message, correction=correction, marketing_channel=channel,
                   language=language)


def _text(value: str | None, name: str, errors: dict[str, str]) -> str | None:
    # NUL is dropped: no browser sends it, and PostgreSQL refuses it in text columns (a 500, not a 422).
    text = (value or "").replace("\r\n", "\n").replace("\x00", "").strip()
    if len(text) > MAX_TEXT_CHARS:
        errors[name] = "too_long"
    return text or None


@dataclasses.dataclass(frozen=True)
class Intake:
    """What the storefront answers. Guests always get ``check_inbox``, whatever happened behind it."""

    outcome: str  # "check_inbox" or "received"
    due_at: dt.datetime | None = None


def path_prefix(value: str | None) -> str:
    """The storefront path the proxy is mounted on (signed by Shopify); the default if it is not one."""
    return value if value and PATH_PREFIX.fullmatch(value) else DEFAULT_PATH_PREFIX


def limit_key(*parts: str) -> str:
    # Redis sees hashes only: IP and email addresses are personal data.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def submit(session: Session, settings: Settings, limiter: FixedWindowLimiter, *, shop_domain: str,
           submission: Submission, customer_id: int | None, ip: str, link_prefix: str) -> Intake:
    """Accept a storefront request. Commits.

    Raises :class:`RateLimitExceeded` (429) for too many forms from one IP or to one shop. Too many
    for one email address is not revealed to a guest: the answer is the same and nothing is sent.
    """
    limiter.hit([(FORM_IP_LIMIT, limit_key("ip", ip)), (FORM_SHOP_LIMIT, shop_domain)])
    try:
        limiter.hit([(FORM_EMAIL_LIMIT, limit_key("email", submission.email.lower()))])
    except RateLimitExceeded:
        if customer_id is not None:
            raise
        log.info("Storefront form: email limit reached for a guest; nothing sent")
        return Intake("check_inbox")
    now = utcnow()
    db.begin_write(session)
    shop = _shop(session, shop_domain)
    row = StorefrontRequest(shop_id=shop.id, right=submission.right, marketing_channel=submission.marketing_channel,
                            language=submission.language, email=submission.email, message=submission.message,
                            correction=submission.correction, path_prefix=path_prefix(link_prefix),
                            created_at=now, extended_months=0, report_downloads=0)
    session.add(row)
    if customer_id is not None:
        privacy_request = _open_request(session, shop, row, customer_id=customer_id, now=now, verified_by="login")
        notifications.notify_shopper(session, settings, row, "received", privacy_request_id=privacy_request.id,
                                     actor="shopper", due=notifications.format_date(privacy_request.due_at,
                                                                                    row.language))
        session.commit()
        return Intake("received", privacy_request.due_at)
    token = secrets.token_urlsafe(32)
    row.status = "unconfirmed"
    row.token_hash = token_hash(token)
    row.token_expires_at = now + CONFIRMATION_LINK_LIFETIME
    session.flush()
    link = f"https://{shop.domain}{row.path_prefix}/confirm?token={token}"
    right = notifications.RIGHT_NAMES[row.language][row.right]
    # Sent before the commit: if the mail server refuses, nothing is kept and the shopper may try again.
    try:
        notifications.send(settings, row.email or "", "confirm", row.language,
                           shop=notifications.shop_name(session, shop), right=right, link=link)
    except mail.MailError:
        session.rollback()
        raise
    session.commit()
    return Intake("check_inbox")


def check_confirmation_link(session: Session, limiter: FixedWindowLimiter, *, shop_domain: str, token: str,
                            ip: str) -> str:
    """The right a confirmation link would confirm, or :class:`InvalidLinkError`; confirms nothing.

    Opening the link shows a button that confirms (:func:`confirm`, a POST): mail scanners that
    follow every link in a message must not confirm an erasure the shopper never asked for.
    """
    limiter.hit([(LINK_IP_LIMIT, limit_key("ip", ip))])
    right = _unconfirmed(session, shop_domain, token, utcnow())[1].right
    session.rollback()
    return right


def confirm(session: Session, limiter: FixedWindowLimiter, *, shop_domain: str, token: str, ip: str) -> PrivacyRequest:
    """Turn a guest's submission into a request, once, within 24 hours of the email. Commits."""
    limiter.hit([(LINK_IP_LIMIT, limit_key("ip", ip))])
    db.begin_write(session)
    now = utcnow()
    shop, row = _unconfirmed(session, shop_domain, token, now)
    privacy_request = _open_request(session, shop, row, customer_id=None, now=now, verified_by="email_link")
    session.commit()
    return privacy_request


def _unconfirmed(session: Session, shop_domain: str, token: str, now: dt.datetime) -> tuple[Shop, StorefrontRequest]:
    """The shop and the submission waiting for this link, or :class:`InvalidLinkError` (rolled back)."""
    shop = _shop(session, shop_domain)
    row = session.scalars(select(StorefrontRequest).where(StorefrontRequest.shop_id == shop.id,
                                                          StorefrontRequest.token_hash == token_hash(token))).first()
    reason = None
    if row is None or not token:
        reason = "unknown"
    elif row.status != "unconfirmed":
        reason = "used"
    elif row.token_expires_at is None or row.token_expires_at <= now:
        reason = "expired"
    if reason is not None:
        session.rollback()
        raise InvalidLinkError(reason)
    assert row is not None
    return shop, row


def _open_request(session: Session, shop: Shop, row: StorefrontRequest, *, customer_id: int | None,
                  now: dt.datetime, verified_by: str) -> PrivacyRequest:
    """The request the merchant sees, from a verified submission: received now, due one month later."""
    privacy_request = PrivacyRequest(shop_id=shop.id, kind=row.right, source=STOREFRONT_SOURCE,
                                     status=RequestStatus.RECEIVED, customer_id=customer_id,
                                     customer_email=row.email, received_at=now,
                                     due_at=add_months(now, RESPONSE_MONTHS), orders_requested=[],
                                     orders_to_redact=[], attempts=0)
    session.add(privacy_request)
    session.flush()
    row.privacy_request_id = privacy_request.id
    row.status = "confirmed"
    row.confirmed_at = now
    if customer_id is not None:
        row.customer_ref = customer_ref(shop.id, customer_id)
    audit.record(session, shop.id, actor="shopper", action="request.received", privacy_request_id=privacy_request.id,
                 detail={"source": STOREFRONT_SOURCE, "right": row.right, "verified_by": verified_by})
    return privacy_request


def _shop(session: Session, shop_domain: str) -> Shop:
    shop = shops.find_shop(session, shop_domain)
    if shop is None:
        session.rollback()
        raise NotFoundError("Unknown shop.")
    return shop
