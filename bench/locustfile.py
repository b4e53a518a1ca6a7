"""The realistic mix for ``bench/load.py``: one locust user class that behaves like the whole outside world.

Started by ``bench/load.py`` (``locust -f bench/locustfile.py --headless …``), which passes the shops,
secrets and customers in ``LOAD_CONFIG`` (JSON) and the pace in ``LOAD_RATE_PER_USER`` (requests per
second per user; 0 means back to back, which is how the peak is found).

The mix, per 100 requests (storefront traffic dwarfs the rest for a consent app):

- 60 ``POST /proxy/consent``: a shopper's choice, signed as Shopify's app proxy signs it, a new visitor each
  time, spread over every shop;
- 25 ``GET /storefront/consent-banner.js``: a headless storefront loading the banner, half of them
  revalidating with the ETag they already hold (304);
- 10 admin reads with a fresh session token: ``GET /api/privacy-requests`` or ``GET /api/consent-records``;
- 5 compliance webhooks: half ``customers/data_request`` (a real customer of the Admin API double with their
  orders, so the worker compiles a report over HTTP), half ``customers/redact``; 1 in 20 is a redelivery of
  an earlier webhook id, as Shopify retries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import random
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import jwt
from locust import FastHttpUser, constant, constant_throughput, task

CONFIG: dict[str, Any] = json.loads(os.environ.get("LOAD_CONFIG", "{}"))
RATE_PER_USER = float(os.environ.get("LOAD_RATE_PER_USER", "0"))
SECRET: str = CONFIG.get("api_secret", "")
API_KEY: str = CONFIG.get("api_key", "")
SHOPS: list[str] = CONFIG.get("shops", [])
CUSTOMERS: dict[str, list[list[Any]]] = CONFIG.get("customers", {})  # shop -> [[customer id, email, [orders]]]
CONSENT_BODY = {"action": "custom", "revision": 1, "text_hash": "a" * 64, "language": "fr", "gpc": False,
                "page": "/products/riviera",
                "choices": {"analytics": True, "marketing": False, "preferences": True, "sale_of_data": False}}


def proxy_query(shop: str) -> str:
    params = {"shop": shop, "path_prefix": "/apps/privacy", "timestamp": str(int(time.time())),
              "logged_in_customer_id": ""}
    message = "".join(f"{key}={params[key]}" for key in sorted(params))
    params["signature"] = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return urlencode(params)


def session_token(shop: str) -> str:
    now = int(time.time())
    return jwt.encode({"iss": f"https://{shop}/admin", "dest": f"https://{shop}", "aud": API_KEY, "sub": "1",
                       "exp": now + 60, "nbf": now - 5, "iat": now, "jti": uuid.uuid4().hex, "sid": "load"},
                      SECRET, algorithm="HS256")


class OutsideWorld(FastHttpUser):
    wait_time = constant_throughput(RATE_PER_USER) if RATE_PER_USER > 0 else constant(0)

    def on_start(self) -> None:
        self.etags: dict[str, str] = {}
        self.sent_webhooks: list[tuple[str, bytes, dict[str, str]]] = []

    @task(60)
    def post_consent(self) -> None:
        shop = random.choice(SHOPS)
        body = json.dumps({**CONSENT_BODY, "visitor_id": uuid.uuid4().hex}).encode()
        self.client.post(f"/proxy/consent?{proxy_query(shop)}", data=body, name="POST /proxy/consent",
                         headers={"Content-Type": "application/json", "User-Agent": "Mozilla/5.0 (load)",
                                  "X-Forwarded-For": f"203.0.113.{random.randrange(250)}"})

    @task(25)
    def get_banner_script(self) -> None:
        shop = random.choice(SHOPS)
        headers = {"If-None-Match": self.etags[shop]} if shop in self.etags and random.random() < 0.5 else {}
        with self.client.get(f"/storefront/consent-banner.js?shop={shop}", headers=headers, catch_response=True,
                             name="GET /storefront/consent-banner.js") as response:
            if response.status_code == 200 and response.headers.get("ETag"):
                self.etags[shop] = response.headers["ETag"]
                response.success()
            elif response.status_code == 304 and headers:
                response.success()
            else:
                response.failure(f"status {response.status_code}")

    @task(10)
    def read_admin_list(self) -> None:
        shop = random.choice(SHOPS)
        path = random.choice(["/api/privacy-requests", "/api/consent-records?limit=50"])
        self.client.get(path, headers={"Authorization": f"Bearer {session_token(shop)}"},
                        name=f"GET {path.split('?')[0]}")

    @task(5)
    def post_compliance_webhook(self) -> None:
        if self.sent_webhooks and random.random() < 0.05:
            topic, body, headers = random.choice(self.sent_webhooks)
            name = "POST /webhooks (redelivery)"
        else:
            topic, body, headers = self._new_webhook()
            self.sent_webhooks = [*self.sent_webhooks[-49:], (topic, body, headers)]
            name = f"POST /webhooks/{topic}"
        self.client.post(f"/webhooks/{topic}", data=body, headers=headers, name=name)

    def _new_webhook(self) -> tuple[str, bytes, dict[str, str]]:
        shop = random.choice(SHOPS)
        customer_id, email, orders = random.choice(CUSTOMERS[shop])
        customer = {"id": customer_id, "email": email, "phone": None}
        shop_id = 1000 + SHOPS.index(shop)
        if random.random() < 0.5:
            topic = "customers/data_request"
            payload = {"shop_id": shop_id, "shop_domain": shop, "customer": customer, "orders_requested": orders,
                       "data_request": {"id": random.randrange(1, 2**31)}}
        else:
            topic = "customers/redact"
            payload = {"shop_id": shop_id, "shop_domain": shop, "customer": customer, "orders_to_redact": orders}
        body = json.dumps(payload).encode()
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        headers = {"Content-Type": "application/json", "X-Shopify-Topic": topic,
                   "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(), "X-Shopify-Shop-Domain": shop,
                   "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Event-Id": str(uuid.uuid4()),
                   "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                   "X-Shopify-API-Version": "2026-10"}
        return topic, body, headers
