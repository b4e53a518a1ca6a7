"""Banner jobs: write a shop's banner configuration to its theme metafield."""

from __future__ import annotations

from shopify_app.models import Shop
from shopify_app.services import banner
from workers.context import job_context


def publish_banner(shop_id: int) -> dict[str, int]:
    """Publish the banner configuration (the defaults at install). Failures raise, so RQ retries."""
    with job_context() as ctx:
        shop = ctx.session.get(Shop, shop_id)
        if shop is None or not shop.is_installed:
            return {"published": 0}
        config = banner.publish_banner_config(ctx.session, ctx.admin, ctx.cipher, shop)
        return {"published": 1, "revision": config["revision"]}
