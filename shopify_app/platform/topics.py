"""Webhook topics, spelled exactly as Shopify and ``shopify.app.toml`` spell them."""

from __future__ import annotations

import enum


class Topic(enum.StrEnum):
    CUSTOMERS_DATA_REQUEST = "customers/data_request"
    CUSTOMERS_REDACT = "customers/redact"
    SHOP_REDACT = "shop/redact"
    APP_UNINSTALLED = "app/uninstalled"


COMPLIANCE_TOPICS = (Topic.CUSTOMERS_DATA_REQUEST, Topic.CUSTOMERS_REDACT, Topic.SHOP_REDACT)
