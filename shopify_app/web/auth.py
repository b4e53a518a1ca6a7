"""Authorization-code grant for non-embedded installs, and the session-token bounce page."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, g, redirect, render_template, request

from shopify_app import db
from shopify_app.platform.domains import is_shop_domain, normalize_shop_domain
from shopify_app.services import oauth, shops
from shopify_app.web.context import admin_client, settings, token_cipher
from shopify_app.web.admin import publish_banner_later
from shopify_app.web.guards import oauth_hmac_required

bp = Blueprint("auth", __name__)


@bp.get("/auth/install")
def install() -> Response:
    """Send the merchant to Shopify's consent screen with a single-use state."""
    shop = normalize_shop_domain(request.args.get("shop"))  # 400 if not *.myshopify.com
    state = oauth.create_state(db.session(), shop)
    query = urlencode({"client_id": settings().api_key, "scope": ",".join(settings().scopes),
                       "redirect_uri": f"{settings().app_url}/auth/callback", "state": state})
    return redirect(f"{settings().shop_base_url(shop)}/admin/oauth/authorize?{query}", code=302)


@bp.get("/auth/callback")
@oauth_hmac_required
def callback() -> Response | tuple[str, int]:
    shop = normalize_shop_domain(request.args.get("shop"))
    if not oauth.consume_state(db.session(), request.args.get("state", ""), shop):
        return "Invalid, expired or already used state.", 400
    code = request.args.get("code", "")
    if not code:
        return "Missing code.", 400
    shops.install_with_authorization_code(db.session(), admin_client(), token_cipher(), shop, code,
                                          on_installed=publish_banner_later)
    g.shop_domain = shop
    return redirect(f"https://admin.shopify.com/store/{shop.removesuffix('.myshopify.com')}/apps/{settings().api_key}")


@bp.get("/auth/session-token")
def session_token_bounce() -> str:
    """App Bridge loads here, fetches a fresh session token and reloads ``shopify-reload``."""
    shop = request.args.get("shop")
    # Only this page may be framed without a verified shop: it holds nothing but the public API key.
    g.bounce_shop = normalize_shop_domain(shop) if is_shop_domain(shop) else None
    return render_template("admin/bounce.html", api_key=settings().api_key)
