"""Shop domains: accept only ``<name>.myshopify.com``."""

from __future__ import annotations

import re

from shopify_app.errors import InvalidShopDomainError

_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$")


def normalize_shop_domain(value: str | None) -> str:
    """Lower-case and validate a shop domain, or raise :class:`InvalidShopDomainError`."""
    domain = (value or "").strip().lower()
    if domain.startswith("https://"):
        domain = domain.removeprefix("https://").rstrip("/")
    if not _SHOP_DOMAIN.fullmatch(domain):
        raise InvalidShopDomainError("Not a valid *.myshopify.com shop domain.")
    return domain


def is_shop_domain(value: str | None) -> bool:
    try:
        normalize_shop_domain(value)
    except InvalidShopDomainError:
        return False
    return True
