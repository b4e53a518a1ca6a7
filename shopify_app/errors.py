"""The app's exception tree. Web guards turn these into HTTP answers."""

from __future__ import annotations


class AppError(Exception):
    """Base of every error the app raises on purpose."""

    status_code = 500


class ConfigurationError(AppError):
    """The environment does not describe a runnable app."""


class InvalidSignatureError(AppError):
    """A webhook HMAC, OAuth or app-proxy signature did not verify."""

    status_code = 401


class InvalidSessionTokenError(AppError):
    """A session token (App Bridge id_token) is missing, malformed, expired or forged."""

    status_code = 401


class InvalidShopDomainError(AppError):
    """A shop domain is not a ``*.myshopify.com`` domain."""

    status_code = 400


class MalformedPayloadError(AppError):
    """A verified request whose body or parameters are not what its kind requires."""

    status_code = 400


class NotFoundError(AppError):
    status_code = 404


class ShopifyApiError(AppError):
    """Shopify answered with an error we could not retry away."""

    status_code = 502


class ShopNotInstalledError(AppError):
    """The shop has no usable offline token (never installed, or uninstalled)."""

    status_code = 403
