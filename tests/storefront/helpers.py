"""Test helpers for the storefront request page: requests signed as Shopify's app proxy signs them, and the outbox."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from shopify_app.settings import Settings
from tests.conftest import DEMO_SHOP
from tests.signing import make_session_token, sign_proxy_query

PATH_PREFIX = "/apps/privacy"


def proxy_query(*, shop: str = DEMO_SHOP, customer_id: int | None = None, extra: dict[str, str] | None = None,
                timestamp: int | None = None, secret: str | None = None) -> str:
    """The query Shopify appends when it forwards ``/apps/privacy/...`` to ``/proxy/...``, signed."""
    params = [("shop", shop), ("logged_in_customer_id", str(customer_id) if customer_id else ""),
              ("path_prefix", PATH_PREFIX), ("timestamp", str(timestamp or int(time.time())))]
    params += list((extra or {}).items())
    return sign_proxy_query(params, secret) if secret else sign_proxy_query(params)


def proxy_get(client: httpx.Client, path: str, *, ip: str = "203.0.113.7", headers: dict[str, str] | None = None,
              **options) -> httpx.Response:
    return client.get(f"{path}?{proxy_query(**options)}", headers={"X-Forwarded-For": ip, **(headers or {})})


def proxy_post(client: httpx.Client, path: str, form: dict[str, str], *, ip: str = "203.0.113.7",
               headers: dict[str, str] | None = None, **options) -> httpx.Response:
    return client.post(f"{path}?{proxy_query(**options)}", data=form,
                       headers={"X-Forwarded-For": ip, **(headers or {})})


def outbox(settings: Settings) -> list[EmailMessage]:
    folder: Path = settings.outbox_path
    if not folder.exists():
        return []
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for path in sorted(folder.glob("*.eml"))]


def link_in(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"https://\S+", body)
    assert match, body
    return match.group(0)


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def auth(shop: str = DEMO_SHOP) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_session_token(shop)}"}
