"""The embedded admin's pages (server-rendered, inside Shopify admin with App Bridge)."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from shopify_app import db
from shopify_app.models import utcnow
from shopify_app.services import privacy_requests, shops
from shopify_app.web.context import admin_client, settings, token_cipher
from shopify_app.web.guards import embedded_document_required

bp = Blueprint("admin", __name__)


@bp.get("/")
@embedded_document_required
def index() -> str:
    """First load runs token exchange (Shopify managed install); later loads just render."""
    shop = shops.install_with_session_token(db.session(), admin_client(), token_cipher(), g.shop_domain,
                                            g.session_token.raw)
    requests = privacy_requests.list_requests(db.session(), shop.id, limit=50)
    return render_template("admin/index.html", api_key=settings().api_key, shop=shop, requests=requests, now=utcnow())
