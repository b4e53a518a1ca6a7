"""Shops: install through token exchange, keep the offline token fresh, uninstall."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shopify_app import db
from shopify_app.encryption import TokenCipher
from shopify_app.errors import ShopNotInstalledError
from shopify_app.models import Shop, ShopSettings, ShopTombstone, utcnow
from shopify_app.platform.admin_client import OfflineToken, ShopifyAdminClient
from shopify_app.services import audit, policy
from shopify_app.services.identifiers import domain_hash

log = logging.getLogger(__name__)

REFRESH_MARGIN = dt.timedelta(minutes=5)
"""Refresh an expiring access token this long before it expires."""


def find_shop(session: Session, domain: str) -> Shop | None:
    return session.scalars(select(Shop).where(Shop.domain == domain)).one_or_none()


def erasure_times(session: Session, domains: Sequence[str]) -> dict[str, dt.datetime]:
    """When shop/redact last erased each of ``domains`` that has a tombstone."""
    by_hash = {domain_hash(domain): domain for domain in domains}
    if not by_hash:
        return {}
    rows = session.execute(select(ShopTombstone.shop_domain_hash, func.max(ShopTombstone.redacted_at))
                           .where(ShopTombstone.shop_domain_hash.in_(list(by_hash)))
                           .group_by(ShopTombstone.shop_domain_hash))
    return {by_hash[hashed]: redacted_at for hashed, redacted_at in rows}


def get_or_create_shop(session: Session, domain: str) -> Shop:
    """The shop row for ``domain``, created (not installed, no token) if unknown. Flushes, does not commit."""
    shop = find_shop(session, domain)
    if shop is not None:
        return shop
    try:
        with session.begin_nested():
            shop = Shop(domain=domain, uninstalled_at=utcnow())
            session.add(shop)
            session.flush()
            session.add(ShopSettings(shop_id=shop.id, policy=policy.default_policy()))
    except IntegrityError:  # another process created it first
        shop = find_shop(session, domain)
        assert shop is not None
    return shop


def has_valid_offline_token(shop: Shop, *, now: dt.datetime | None = None) -> bool:
    """True if the stored token can be used or refreshed without the merchant being present."""
    if not shop.is_installed:
        return False
    current = now or utcnow()
    if shop.access_token_expires_at is None or shop.access_token_expires_at > current + REFRESH_MARGIN:
        return True
    return bool(shop.refresh_token_encrypted) and (
        shop.refresh_token_expires_at is None or shop.refresh_token_expires_at > current
    )


def store_offline_token(shop: Shop, token: OfflineToken, cipher: TokenCipher) -> None:
    """Replace the stored pair in one go; the caller's commit makes it atomic."""
    shop.access_token_encrypted = cipher.encrypt(token.access_token)
    shop.access_token_expires_at = token.expires_at
    shop.refresh_token_encrypted = cipher.encrypt(token.refresh_token) if token.refresh_token else None
    shop.refresh_token_expires_at = token.refresh_token_expires_at
    shop.granted_scopes = token.scope


def install_with_session_token(
    session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, shop_domain: str, session_token: str,
    *, on_installed: Callable[[Shop], object] | None = None,
) -> Shop:
    """Make sure the shop has a usable offline token, running token exchange if not. Commits.

    ``on_installed`` runs after the commit when the shop was (re)installed just now.
    """
    shop = find_shop(session, shop_domain)
    if shop is not None and has_valid_offline_token(shop):
        return shop
    session.rollback()
    db.begin_write(session)
    shop = get_or_create_shop(session, shop_domain)
    if has_valid_offline_token(shop):
        return shop
    token = admin.exchange_session_token(shop_domain, session_token)
    store_offline_token(shop, token, cipher)
    reinstalled = shop.uninstalled_at is not None
    shop.uninstalled_at = None
    shop.installed_at = utcnow()
    audit.record(session, shop.id, actor="shopify", action="shop.installed", detail={"scopes": token.scope,
                                                                                    "reinstall": reinstalled})
    session.commit()
    if on_installed:
        on_installed(shop)
    return shop


def install_with_authorization_code(
    session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, shop_domain: str, code: str,
    *, on_installed: Callable[[Shop], object] | None = None,
) -> Shop:
    db.begin_write(session)
    shop = get_or_create_shop(session, shop_domain)
    store_offline_token(shop, admin.exchange_authorization_code(shop_domain, code), cipher)
    shop.uninstalled_at = None
    shop.installed_at = utcnow()
    audit.record(session, shop.id, actor="shopify", action="shop.installed", detail={"grant": "authorization_code"})
    session.commit()
    if on_installed:
        on_installed(shop)
    return shop


def usable_access_token(session: Session, admin: ShopifyAdminClient, cipher: TokenCipher, shop: Shop) -> str:
    """A valid access token for ``shop``, refreshed (and committed) first if it is about to expire.

    The row is locked while refreshing (``SELECT … FOR UPDATE`` on PostgreSQL) because
    Shopify refresh tokens are single-use: two processes refreshing at once would
    leave one of them holding a dead pair.
    """
    if not shop.is_installed:
        raise ShopNotInstalledError(f"{shop.domain} has no offline token.")
    if shop.access_token_expires_at is None or shop.access_token_expires_at > utcnow() + REFRESH_MARGIN:
        return cipher.decrypt(shop.access_token_encrypted)  # type: ignore[arg-type]

    locked = session.scalars(select(Shop).where(Shop.id == shop.id).with_for_update()).one()
    session.refresh(locked)
    if locked.access_token_expires_at and locked.access_token_expires_at > utcnow() + REFRESH_MARGIN:
        session.commit()  # someone else refreshed while we waited for the lock
        return cipher.decrypt(locked.access_token_encrypted)  # type: ignore[arg-type]
    if not locked.refresh_token_encrypted:
        session.rollback()
        raise ShopNotInstalledError(f"{shop.domain}'s token expired and cannot be refreshed.")
    token = admin.refresh_offline_token(shop.domain, cipher.decrypt(locked.refresh_token_encrypted))
    store_offline_token(locked, token, cipher)
    session.commit()
    log.info("Refreshed the offline token of shop %s", shop.id)
    return token.access_token


def mark_uninstalled(session: Session, shop: Shop) -> None:
    """Forget the tokens; idempotent. The shop's data stays until ``shop/redact`` (48 h later)."""
    if shop.uninstalled_at is None:
        shop.uninstalled_at = utcnow()
        audit.record(session, shop.id, actor="shopify", action="shop.uninstalled")
    shop.access_token_encrypted = None
    shop.access_token_expires_at = None
    shop.refresh_token_encrypted = None
    shop.refresh_token_expires_at = None
