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


class ShopifyUnauthorizedError(ShopifyApiError):
    """Shopify refused the shop's access token (HTTP 401): revoked, as uninstalling the app does at once."""


class ShopNotInstalledError(AppError):
    """The shop has no usable offline token (never installed, or uninstalled)."""

    status_code = 403


def failure_reason(exc: Exception) -> str:
    """A failure as the merchant sees it (and as jobs record it). Our own errors' messages are written without
    personal data; any other error's text may quote a customer's data (a database error's values, say), so
    only its type is given."""
    if isinstance(exc, AppError):
        return f"{type(exc).__name__}: {exc}"
    return f"{type(exc).__name__} (an unexpected error; the worker's log says where)"
