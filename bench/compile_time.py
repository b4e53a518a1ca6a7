"""Time ``workers.privacy.compile_customer_data`` for a customer with many orders.

The shop is installed through the real flow (GET ``/`` with a session token, so
the app runs token exchange against the Admin API double), the request arrives
as a signed ``customers/data_request`` webhook (Flask test client), and the job
runs in this process, exactly as an RQ worker would call it.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import Any

import jwt
from graphql import parse
from sqlalchemy import select

from bench.intake import BenchEnv, sign_webhook
from devtools.admin_double import AdminApiDouble, load_admin_schema
from devtools.admin_double.cost import CostBucket, estimate_cost
from devtools.admin_double.data import gid_number
from shopify_app import create_app, db
from shopify_app.encryption import TokenCipher
from shopify_app.models import PrivacyReport, PrivacyRequest
from shopify_app.platform.admin_client import ShopifyAdminClient
from shopify_app.services import shops
from shopify_app.settings import Settings
from workers import context, privacy

SHOP = "bench-compile.myshopify.com"


@dataclasses.dataclass(frozen=True)
class CompileResult:
    """One timed run of the job."""

    label: str
    orders: int
    seconds: float
    graphql_calls: int
    throttled_calls: int
    requested_cost: int
    report_json_bytes: int
    report_html_bytes: int
    orders_in_report: int


def session_token(shop: str, api_key: str, secret: str) -> str:
    """An App Bridge session token (HS256), made the way Shopify makes them."""
    now = int(time.time())
    claims = {"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": api_key, "sub": "42",
              "exp": now + 60, "nbf": now, "iat": now, "jti": str(uuid.uuid4()), "sid": "bench"}
    return jwt.encode(claims, secret, algorithm="HS256")


def _requested_cost(request: dict[str, Any]) -> int:
    body = request.get("json") or {}
    return estimate_cost(load_admin_schema(), parse(body["query"]), body.get("operationName"),
                         body.get("variables") or {})


def measure_compile(env: BenchEnv, *, orders: int, latency: float,
                    buckets: dict[str, CostBucket | None]) -> list[CompileResult]:
    """Seed one customer with ``orders`` orders, install the shop, then compile once per bucket.

    ``buckets`` maps a label to the cost bucket the double uses for that run
    (``None``: the double's own default, 2,000 points restored at 100/s).
    """
    with AdminApiDouble(env.api_key, env.api_secret, seed_demo=False) as double:
        customer = double.seed_customers(SHOP, 1, orders_each=orders)[0]
        customer_id = gid_number(customer["id"])
        settings = Settings(api_key=env.api_key, api_secret=env.api_secret,
                            token_encryption_key=env.token_encryption_key, database_url=env.database_url,
                            redis_url=env.redis.url, shop_url_template=double.shop_url_template,
                            instance_path=env.instance_path)
        admin = ShopifyAdminClient.from_settings(settings)
        with db.session_scope(settings.database_url) as session:  # what GET / does on first load
            shops.install_with_session_token(session, admin, TokenCipher(settings.token_encryption_key), SHOP,
                                             session_token(SHOP, env.api_key, env.api_secret))
        admin.close()
        client = create_app(settings).test_client()
        context.configure(settings)
        results = []
        for label, bucket in buckets.items():
            request_id = _data_request(client, env.api_secret, customer_id, customer["defaultEmailAddress"]
                                       ["emailAddress"])
            double.bucket = bucket or CostBucket()
            double.latency = latency
            double.reset_records()
            began = time.perf_counter()
            detail = privacy.compile_customer_data(request_id)
            seconds = time.perf_counter() - began
            double.latency = 0.0
            calls = [r for r in double.requests if r["endpoint"] == "graphql"]
            with db.session_scope(settings.database_url) as session:
                report = session.scalars(select(PrivacyReport).where(PrivacyReport.privacy_request_id == request_id)
                                         ).one()
                document = json.loads(report.json_document)
                html_bytes = len(report.html_document.encode())
            results.append(CompileResult(
                label=label, orders=orders, seconds=seconds, graphql_calls=len(calls),
                throttled_calls=len(calls) - len({json.dumps(c["json"], sort_keys=True) for c in calls}),
                requested_cost=sum(_requested_cost(c) for c in calls), report_json_bytes=int(detail["size_bytes"]),
                report_html_bytes=html_bytes, orders_in_report=len(document["orders"])))
        return results


def _data_request(client: Any, secret: str, customer_id: int | None, email: str) -> int:
    """POST a signed ``customers/data_request`` and return the privacy request it created."""
    data_request_id = uuid.uuid4().int % 10**9
    body = json.dumps({"shop_id": 1, "shop_domain": SHOP, "orders_requested": [],
                       "customer": {"id": customer_id, "email": email, "phone": None},
                       "data_request": {"id": data_request_id}}).encode()
    headers = {"Content-Type": "application/json", "X-Shopify-Topic": "customers/data_request",
               "X-Shopify-Hmac-Sha256": sign_webhook(body, secret), "X-Shopify-Shop-Domain": SHOP,
               "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Event-Id": str(uuid.uuid4()),
               "X-Shopify-API-Version": "2026-10"}
    response = client.post("/webhooks/customers/data_request", data=body, headers=headers)
    assert response.status_code == 200, response.status_code
    with db.session_scope(client.application.config["SETTINGS"].database_url) as session:
        return session.scalars(select(PrivacyRequest.id).where(
            PrivacyRequest.shopify_request_id == str(data_request_id))).one()
