"""Response headers for every surface: framing rules for the embedded admin, and basic hardening."""

from __future__ import annotations

from flask import Flask, Response, g

SHOPIFY_ADMIN_ORIGIN = "https://admin.shopify.com"


def frame_ancestors(shop_domain: str | None) -> str:
    if not shop_domain:
        return "frame-ancestors 'none'"
    return f"frame-ancestors https://{shop_domain} {SHOPIFY_ADMIN_ORIGIN}"


def security_headers(shop_domain: str | None) -> dict[str, str]:
    """The hardening headers of every response (also sent by the consent endpoint, which Flask does not serve)."""
    return {"Content-Security-Policy": frame_ancestors(shop_domain), "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin"}


def add_security_headers(response: Response) -> Response:
    # Embedded pages are framed by Shopify admin, so never X-Frame-Options;
    # CSP frame-ancestors names the one shop that is signed in (on every
    # response, so an error page cannot be framed by anyone else either).
    shop = g.get("shop_domain") or g.get("bounce_shop")
    for name, value in security_headers(shop).items():
        response.headers.setdefault(name, value)
    response.headers.pop("X-Frame-Options", None)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
