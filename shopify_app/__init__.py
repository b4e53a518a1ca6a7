"""The privacy & consent Shopify app. ``create_app()`` is the only place things are wired."""

from __future__ import annotations

import logging
import sys

from flask import Flask

from shopify_app import db, queue
from shopify_app.encryption import TokenCipher
from shopify_app.errors import ConfigurationError
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app. Without ``settings``, read them from the environment or exit with one line."""
    if settings is None:
        try:
            settings = Settings.from_env()
        except ConfigurationError as exc:
            # One clear line instead of a traceback, also under gunicorn.
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config["SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["token_cipher"] = TokenCipher(settings.token_encryption_key)
    app.extensions["shopify_admin"] = ShopifyAdminClient.from_settings(settings)
    db.init_app(app)
    queue.init_app(app)

    from shopify_app import web

    web.init_app(app)
    if not app.debug:
        logging.getLogger("shopify_app").setLevel(logging.INFO)
    return app
