"""How the merchant fulfils a storefront request: extend the deadline, erase, record an objection,
record a rectification or a post-mortem directive, and close with an outcome.

Every step is audited under the staff member's name (``merchant:<sub>``). Calls to Shopify are
made before the write transaction; a change Shopify refused changes nothing here. The shopper
is told by email once the change is made (a failed email is audited, it never undoes a change).
Access requests (a compiled report) are in :mod:`access_reports`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.encryption import TokenCipher
from shopify_app.errors import ShopifyApiError, ShopNotInstalledError
from shopify_app.models import (
    PrivacyReport,
    PrivacyRequest,
    RequestKind,
    RequestStatus,
    Shop,
    StorefrontRequest,
    utcnow,
)
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.services import (
    audit,
    erasure,
    notifications,
    privacy_requests,
    request_actions,
    shopify_customers,
    shops,
)
from shopify_app.services.identifiers import customer_ref
from shopify_app.services.months import add_months
from shopify_app.services.request_actions import InvalidFormError, RequestStateError
from shopify_app.settings import Settings

MAX_EXTENSION_MONTHS = 2  # GDPR art. 12(3): "extended by two further months where necessary"
MAX_TEXT_CHARS = 2000
INVOICE_RETENTION_YEARS = 10
WAITING = (RequestStatus.RECEIVED, RequestStatus.FAILED)


def load(session: Session, shop_id: int, privacy_request_id: int,
         kinds: tuple[str, ...] | None = None) -> tuple[PrivacyRequest, StorefrontRequest]:
    """The request (404 unless it is ``shop_id``'s) and its storefront details (409 for a webhook request)."""
    privacy_request = privacy_requests.get_request(session, shop_id, privacy_request_id)
    storefront = session.scalars(select(StorefrontRequest).where(
        StorefrontRequest.privacy_request_id == privacy_request.id)).first()
    if storefront is None:
        raise RequestStateError("Only requests made on the storefront are fulfilled here.")
    if kinds is not None and privacy_request.kind not in kinds:
        raise RequestStateError(f"This action is not for a {privacy_request.kind} request.")
    return privacy_request, storefront


def details(session: Session, shop: Shop, privacy_request_id: int) -> dict[str, Any]:
    """What the merchant needs to fulfil the request (scoped to ``shop``)."""
    privacy_request, storefront = load(session, shop.id, privacy_request_id)
    report = session.scalars(select(PrivacyReport).where(
        PrivacyReport.privacy_request_id == privacy_request.id)).first()
    handle = shopify_customers.store_handle(shop.domain)
    return {
        "id": privacy_request.id, "kind": privacy_request.kind, "status": privacy_request.status,
        "email": storefront.email, "language": storefront.language, "message": storefront.message,
        "correction": storefront.correction, "marketing_channel": storefront.marketing_channel,
        "handling_note": storefront.handling_note,
        "verified_by": "login" if storefront.token_hash is None else "email_link",
        "received_at": privacy_request.received_at.isoformat(), "due_at": privacy_request.due_at.isoformat(),
        "original_due_at": add_months(privacy_request.received_at, 1).isoformat(),
        "extended_months": storefront.extended_months, "extension_reason": storefront.extension_reason,
        "customer_admin_url": shopify_customers.admin_url(shop.domain, privacy_request.customer_id)
        if privacy_request.customer_id else None,
        "customer_search_url": f"https://admin.shopify.com/store/{handle}/customers",
        "report": {"ready": report is not None, "delivery": storefront.report_delivery,
                   "link_sent_at": _iso(storefront.report_link_sent_at),
                   "link_expires_at": _iso(storefront.report_token_expires_at),
                   "downloads": storefront.report_downloads},
        "outcome": privacy_request.outcome,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _text(data: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidFormError("The form has errors.", {name: "Must be text."})
    text = (value or "").strip()
    if required and not text:
        raise InvalidFormError("The form has errors.", {name: "Required."})
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidFormError("The form has errors.", {name: f"At most {MAX_TEXT_CHARS} characters."})
    return text or None


def extend_deadline(session: Session, settings: Settings, shop_id: int, privacy_request_id: int,
                    data: dict[str, Any], *, actor: str) -> PrivacyRequest:
    """Extend the deadline by one or two months (two at most in all), with a reason the shopper is sent. Commits.

    The extension must be decided within the first month (art. 12(3): the data subject is
    informed of it "within one month of receipt of the request").
    """
    months = data.get("months")
    if type(months) is not int or not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise InvalidFormError("The form has errors.", {"months": "1 or 2."})
    reason = _text(data, "reason", required=True)
    db.begin_write(session)
    privacy_request, storefront = load(session, shop_id, privacy_request_id)
    now = utcnow()
    if privacy_request.status in (RequestStatus.COMPLETED, RequestStatus.CLOSED):
        raise RequestStateError("The request is already answered.")
    if storefront.extended_months + months > MAX_EXTENSION_MONTHS:
        raise RequestStateError(f"The deadline can be extended by {MAX_EXTENSION_MONTHS} months at most in all.")
    if now > add_months(privacy_request.received_at, 1):
        raise RequestStateError("An extension must be decided, and the shopper told, within the first month.")
    storefront.extended_months += months
    storefront.extension_reason = reason
    privacy_request.due_at = add_months(privacy_request.received_at, 1 + storefront.extended_months)
    audit.record(session, shop_id, actor=actor, action="request.extended", privacy_request_id=privacy_request.id,
                 detail={"months": months, "total_months": storefront.extended_months,
                         "due_at": privacy_request.due_at.isoformat(), "reason": reason})
    notifications.notify_shopper(session, settings, storefront, "extended", privacy_request_id=privacy_request.id,
                                 actor=actor, reason=reason or "",
                                 due=notifications.format_date(privacy_request.due_at, storefront.language))
    session.commit()
    return privacy_request


def resolve_customer(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher,
                     privacy_request: PrivacyRequest) -> tuple[Shop, str, int | None]:
    """The shop, a usable token and the Shopify customer: the logged-in one, else the one with the verified email."""
    shop = session.get(Shop, privacy_request.shop_id)
    assert shop is not None
    token = shops.usable_access_token(session, admin, cipher, shop)
    customer_id = privacy_request.customer_id
    if customer_id is None and privacy_request.customer_email:
        customer_id = shopify_customers.find_by_email(admin, shop.domain, token, privacy_request.customer_email)
    return shop, token, customer_id


def erase(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, settings: Settings, shop_id: int,
          privacy_request_id: int, *, actor: str) -> dict[str, Any]:
    """Ask Shopify to erase the customer, erase what we hold at once, and say what is kept and why. Commits.

    The request stays ``completed`` (not closed) until Shopify's own ``customers/redact`` arrives
    and closes it (see ``privacy_requests._find_same_request``).
    """
    privacy_request, storefront = load(session, shop_id, privacy_request_id, (RequestKind.ERASURE,))
    if privacy_request.status not in WAITING:
        raise RequestStateError("This request is not waiting for an erasure.")
    shop, token, customer_id = resolve_customer(session, admin, cipher, privacy_request)
    shopify: dict[str, Any] = {"customer_found": customer_id is not None}
    orders = 0
    if customer_id is not None:
        orders = shopify_customers.order_count(admin, shop.domain, token, customer_id) or 0
        shopify["erasure"] = shopify_customers.request_erasure(admin, shop.domain, token, customer_id)
    session.commit()  # end the reads before taking the write lock

    db.begin_write(session)
    privacy_request, storefront = load(session, shop_id, privacy_request_id, (RequestKind.ERASURE,))
    if privacy_request.status not in WAITING:  # erased by a concurrent click meanwhile
        raise RequestStateError("This request is not waiting for an erasure.")
    kept = kept_after_erasure(orders)
    audit.record(session, shop_id, actor=actor, action="erasure.shopify_requested" if customer_id else
                 "erasure.no_shopify_customer", privacy_request_id=privacy_request.id, detail=shopify)
    # Tell the shopper first: their address is erased with the rest.
    notified = notifications.notify_shopper(session, settings, storefront, "erased",
                                            privacy_request_id=privacy_request.id, actor=actor,
                                            kept=_kept_text(kept, storefront.language))
    if customer_id is not None:
        privacy_request.customer_id = customer_id
        storefront.customer_ref = customer_ref(shop_id, customer_id)
    proof = erasure.erase_customer_data(session, privacy_request)
    proof.update(shopify=shopify, kept=kept, shopper_notified=notified)
    _complete(session, privacy_request, actor=actor, action="data.erased", detail=proof)
    session.commit()
    return proof


def kept_after_erasure(orders: int) -> list[dict[str, str]]:
    """What the law makes the shop keep after an erasure, and why (written into the proof and the email)."""
    kept = []
    if orders:
        kept.append({"what": f"orders_and_invoices:{orders}",
                     "why": "French Commercial Code art. L123-22: accounting records and their supporting "
                            f"documents (invoices) are kept for {INVOICE_RETENTION_YEARS} years.",
                     "held_by": "Shopify (orders) and the shop's accounting"})
    kept.append({"what": "erasure_proof", "why": "GDPR art. 5(2): proof that the request was carried out, kept "
                 "as counts and salted hashes (no name, email or phone in clear).", "held_by": "this app"})
    return kept


KEPT_TEXT = {
    "en": {"orders_and_invoices": "- Your {n} order(s) and their invoices: the law (French Commercial Code, art. "
                                  "L123-22) requires accounting records to be kept for 10 years.",
           "erasure_proof": "- A record that your request was carried out, without your name, email or phone "
                            "(GDPR art. 5(2): the shop must be able to prove it)."},
    "fr": {"orders_and_invoices": "- Vos {n} commande(s) et leurs factures : la loi (Code de commerce, art. L123-22) "
                                  "impose de conserver les pièces comptables pendant 10 ans.",
           "erasure_proof": "- La trace que votre demande a été exécutée, sans votre nom, e-mail ni téléphone "
                            "(RGPD art. 5.2 : la boutique doit pouvoir le prouver)."},
}


def _kept_text(kept: list[dict[str, str]], language: str) -> str:
    texts = KEPT_TEXT.get(language, KEPT_TEXT["en"])
    lines = []
    for item in kept:
        name, _, count = item["what"].partition(":")
        lines.append(texts[name].format(n=count))
    return "\n".join(lines)


def apply_objection(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, settings: Settings,
                    shop_id: int, privacy_request_id: int, data: dict[str, Any], *, actor: str) -> dict[str, str]:
    """Unsubscribe the customer in Shopify on the channels objected to (default: the one the shopper chose). Commits."""
    privacy_request, storefront = load(session, shop_id, privacy_request_id, (RequestKind.OBJECTION,))
    if privacy_request.status not in WAITING:
        raise RequestStateError("This objection is already applied.")
    channels = data.get("channels") or [storefront.marketing_channel or "email"]
    if not isinstance(channels, list) or not channels or any(c not in shopify_customers.MARKETING_CHANNELS
                                                             for c in channels):
        raise InvalidFormError("The form has errors.", {"channels": "A list of email and/or sms."})
    shop, token, customer_id = resolve_customer(session, admin, cipher, privacy_request)
    if customer_id is None:
        raise RequestStateError("No Shopify customer has this email address: there is no consent to change in "
                                "Shopify. Close the request with the outcome that applies.")
    states = {channel: shopify_customers.unsubscribe(admin, shop.domain, token, customer_id, channel)
              for channel in dict.fromkeys(channels)}
    session.commit()
    db.begin_write(session)
    privacy_request, storefront = load(session, shop_id, privacy_request_id)
    privacy_request.customer_id = customer_id
    _complete(session, privacy_request, actor=actor, action="marketing.objection_applied",
              detail={"channels": states})
    notifications.notify_shopper(session, settings, storefront, "objection_done", privacy_request_id=privacy_request.id,
                                 actor=actor, channels=", ".join(states))
    session.commit()
    return states


def record_handling(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, settings: Settings,
                    shop_id: int, privacy_request_id: int, data: dict[str, Any], *, actor: str) -> PrivacyRequest:
    """A rectification or post-mortem directive, handled in Shopify admin: record what was done. Commits.

    The request is linked to the customer in Shopify (logged-in customer, or the verified email)
    so the merchant lands on the right page in Shopify admin.
    """
    note = _text(data, "note", required=True)
    privacy_request, storefront = load(session, shop_id, privacy_request_id,
                                       (RequestKind.RECTIFICATION, RequestKind.POST_MORTEM_DIRECTIVE))
    if privacy_request.status not in WAITING:
        raise RequestStateError("This request is already handled.")
    try:
        _shop, _token, customer_id = resolve_customer(session, admin, cipher, privacy_request)
    except (ShopifyApiError, ShopNotInstalledError):
        customer_id = privacy_request.customer_id  # the link to Shopify admin is a convenience: record anyway
    session.commit()
    db.begin_write(session)
    privacy_request, storefront = load(session, shop_id, privacy_request_id)
    privacy_request.customer_id = customer_id
    storefront.handling_note = note
    _complete(session, privacy_request, actor=actor, action=f"{privacy_request.kind}.recorded",
              detail={"customer_linked": customer_id is not None, "with_note": True})
    notifications.notify_shopper(session, settings, storefront, "handled", privacy_request_id=privacy_request.id,
                                 actor=actor, note=note or "")
    session.commit()
    return privacy_request


def close(session: Session, settings: Settings, shop_id: int, privacy_request_id: int, data: dict[str, Any], *,
          actor: str, language: str) -> PrivacyRequest:
    """Close with an outcome and, if the shopper asked on the storefront, tell them. Commits.

    The request page's Close (``/api/…/close``) and the fulfilment panel's both come here, so the
    shopper hears of the outcome whichever one the merchant used. Compliance-webhook requests have
    no shopper to tell: Shopify's customer deals with the merchant.
    """
    outcome, note = request_actions.validate_close(data, language)
    privacy_request = request_actions.close_request(session, shop_id, privacy_request_id, outcome=outcome, note=note,
                                                    actor=actor, language=language)
    db.begin_write(session)
    storefront = session.scalars(select(StorefrontRequest).where(
        StorefrontRequest.privacy_request_id == privacy_request.id)).first()
    if storefront is None:
        session.rollback()
        return privacy_request
    names = notifications.OUTCOME_NAMES.get(storefront.language, notifications.OUTCOME_NAMES["en"])
    notifications.notify_shopper(session, settings, storefront, "closed", privacy_request_id=privacy_request.id,
                                 actor=actor, outcome=names.get(outcome, outcome), note=note or "")
    session.commit()
    return privacy_request


def _complete(session: Session, privacy_request: PrivacyRequest, *, actor: str, action: str,
              detail: dict[str, Any]) -> None:
    privacy_request.status = RequestStatus.COMPLETED
    privacy_request.completed_at = utcnow()
    privacy_request.failure_reason = None
    audit.record(session, privacy_request.shop_id, actor=actor, action=action, privacy_request_id=privacy_request.id,
                 detail=detail)
