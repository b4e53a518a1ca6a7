"""Accessors for what ``create_app`` attached to the current app."""

from __future__ import annotations

from flask import current_app
from redis import Redis

from shopify_app.encryption import TokenCipher
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.queue import EXTENSION_KEY as REDIS_KEY
from shopify_app.settings import Settings


def settings() -> Settings:
    return current_app.config["SETTINGS"]


def admin_client() -> ShopifyAdminClient:
    return current_app.extensions["shopify_admin"]


def token_cipher() -> TokenCipher:
    return current_app.extensions["token_cipher"]


def redis() -> Redis:
    return current_app.extensions[REDIS_KEY]
