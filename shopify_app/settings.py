"""Every setting the app reads, read in one place: :meth:`Settings.from_env`.

Nothing else in the code base touches ``os.environ``. Tests build their own
:class:`Settings` and hand it to ``create_app``.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

from shopify_app.errors import ConfigurationError

API_VERSION = "2026-10"
"""The one Admin API version the app speaks (the version of the bundled schema)."""

ACCESS_SCOPES = (
    "read_customers",
    "write_customers",
    "read_orders",
    "read_all_orders",
    "read_themes",
    "write_customer_data_erasure",
)
"""Only the scopes the code uses; kept in sync with ``shopify.app.toml`` by a test."""

DEMO_API_KEY = "demo-api-key"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_SHOP_URL_TEMPLATE = "https://{shop}"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Typed, validated configuration shared by the web app and the workers."""

    api_key: str
    api_secret: str
    token_encryption_key: str
    api_secret_previous: str | None = None
    app_url: str = "http://127.0.0.1:5000"
    database_url: str = ""
    redis_url: str = DEFAULT_REDIS_URL
    shop_url_template: str = DEFAULT_SHOP_URL_TEMPLATE
    app_env: str = "development"
    demo_mode: bool = False
    instance_path: Path = DEFAULT_INSTANCE_PATH
    scopes: tuple[str, ...] = ACCESS_SCOPES
    max_body_bytes: int = 256 * 1024
    shopify_timeout_seconds: float = 10.0
    shopify_retry_base_delay: float = 0.5
    # Waits between RQ retries of a failed privacy job; tests shorten them.
    job_retry_intervals: tuple[int, ...] = (10, 60, 300, 900, 3600)
    # From this many orders on, a report reads them with one bulk operation (services/reports.py). An order
    # costs about 12 points (3 more per extra line item) and the bucket holds 2,000, of which a page must first
    # find its requested 828: about 100 orders fit before paging starts waiting at 100 points/s (Standard plan),
    # while a bulk operation costs a few calls and the seconds Shopify takes to run it. Tests and
    # bench/compile_time.py raise it to read the same orders page by page.
    bulk_orders_from: int = 100
    # Outgoing email (shopify_app/mail.py): SMTP when set, else one .eml file per message in instance/outbox/.
    smtp_url: str | None = None
    mail_from: str = "privacy@localhost"

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.instance_path / 'app.sqlite3'}")
        if "{shop}" not in self.shop_url_template:
            raise ConfigurationError("SHOPIFY_SHOP_URL_TEMPLATE must contain '{shop}'.")
        if self.smtp_url and urlsplit(self.smtp_url).scheme not in ("smtp", "smtps"):
            raise ConfigurationError("SMTP_URL must look like smtp://user:password@host:port (or smtps://).")

    @property
    def outbox_path(self) -> Path:
        """Where email goes when no SMTP server is configured (development, tests): one .eml per message."""
        return self.instance_path / "outbox"

    @property
    def api_secrets(self) -> tuple[str, ...]:
        """The secrets a Shopify signature may be made with: current first, then the one being rotated out."""
        return tuple(s for s in (self.api_secret, self.api_secret_previous) if s)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def shop_base_url(self, shop_domain: str) -> str:
        """The base URL of every call to one shop (``https://{shop}`` in production)."""
        return self.shop_url_template.format(shop=shop_domain).rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment; raise :class:`ConfigurationError` with one clear line."""
        env = os.environ if environ is None else environ
        app_env = env.get("APP_ENV", "development")
        if app_env not in ("development", "production"):
            raise ConfigurationError(f"APP_ENV must be 'development' or 'production', not {app_env!r}.")
        instance_path = Path(env.get("INSTANCE_PATH") or DEFAULT_INSTANCE_PATH)
        api_key = env.get("SHOPIFY_API_KEY", "")
        api_secret = env.get("SHOPIFY_API_SECRET", "")
        demo_mode = env.get("DEMO_MODE", "") in ("1", "true", "yes")

        if demo_mode:
            # Demo mode talks to the bundled Admin API double. It must never run
            # next to real credentials, nor in production.
            if api_key or api_secret:
                raise ConfigurationError("DEMO_MODE cannot be used while SHOPIFY_API_KEY/SHOPIFY_API_SECRET are set.")
            if app_env == "production":
                raise ConfigurationError("DEMO_MODE cannot be used with APP_ENV=production.")
            api_key = DEMO_API_KEY
            api_secret = _instance_secret(instance_path, "demo-api-secret", secrets.token_hex(32))
        elif not api_key or not api_secret:
            raise ConfigurationError(
                "SHOPIFY_API_KEY and SHOPIFY_API_SECRET must be set (or run `make dev` for demo mode)."
            )

        token_key = env.get("TOKEN_ENCRYPTION_KEY", "")
        if not token_key:
            if app_env == "production":
                raise ConfigurationError("TOKEN_ENCRYPTION_KEY must be set in production (a Fernet key).")
            token_key = _instance_secret(instance_path, "token-encryption.key", Fernet.generate_key().decode())
        _check_fernet_key(token_key)

        return cls(
            api_key=api_key,
            api_secret=api_secret,
            api_secret_previous=env.get("SHOPIFY_API_SECRET_PREVIOUS") or None,
            token_encryption_key=token_key,
            app_url=env.get("SHOPIFY_APP_URL", "http://127.0.0.1:5000").rstrip("/"),
            database_url=env.get("DATABASE_URL", ""),
            redis_url=env.get("REDIS_URL", DEFAULT_REDIS_URL),
            shop_url_template=env.get("SHOPIFY_SHOP_URL_TEMPLATE", DEFAULT_SHOP_URL_TEMPLATE),
            app_env=app_env,
            demo_mode=demo_mode,
            instance_path=instance_path,
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MAIL_FROM") or "privacy@localhost",
        )


def _instance_secret(instance_path: Path, name: str, generated: str) -> str:
    """Read a development secret from ``instance/``, generating it on first use."""
    path = instance_path / name
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(generated)
        path.chmod(0o600)
    return path.read_text().strip()


def _check_fernet_key(keys: str) -> None:
    # Several comma-separated keys are allowed so that keys can be rotated.
    try:
        for key in keys.split(","):
            Fernet(key.strip().encode())
    except ValueError as exc:
        raise ConfigurationError("TOKEN_ENCRYPTION_KEY is not a valid Fernet key.") from exc


def database_url_from_env(environ: Mapping[str, str] | None = None) -> str:
    """Only the database URL, for migrations, which must run without Shopify credentials."""
    env = os.environ if environ is None else environ
    instance_path = Path(env.get("INSTANCE_PATH") or DEFAULT_INSTANCE_PATH)
    instance_path.mkdir(parents=True, exist_ok=True)
    return env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'app.sqlite3'}"
