"""Webhook deliveries as Shopify sends them: topics, headers, and the typed delivery."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from shopify_app.errors import MalformedPayloadError
from shopify_app.platform.domains import normalize_shop_domain
from shopify_app.platform.payloads import WebhookPayload, parse_payload
from shopify_app.platform.topics import Topic

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_DOMAIN_HEADER = "X-Shopify-Shop-Domain"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
API_VERSION_HEADER = "X-Shopify-API-Version"


@dataclasses.dataclass(frozen=True)
class WebhookDelivery:
    """A verified delivery, parsed. Construct it only after the HMAC has been checked."""

    topic: Topic
    shop_domain: str
    webhook_id: str
    event_id: str | None
    triggered_at: dt.datetime | None
    api_version: str | None
    payload: WebhookPayload

    @classmethod
    def from_request(cls, path_topic: str, headers: Mapping[str, str], raw_body: bytes) -> WebhookDelivery:
        """Parse headers and body, or raise :class:`MalformedPayloadError` (a 400)."""
        try:
            topic = Topic(path_topic)
        except ValueError as exc:
            raise MalformedPayloadError("Unknown webhook topic.") from exc
        if headers.get(TOPIC_HEADER) != topic.value:
            raise MalformedPayloadError("X-Shopify-Topic does not match the URL.")
        webhook_id = (headers.get(WEBHOOK_ID_HEADER) or "").strip()
        if not webhook_id or len(webhook_id) > 128:
            raise MalformedPayloadError("Missing or invalid X-Shopify-Webhook-Id.")
        shop_domain = normalize_shop_domain(headers.get(SHOP_DOMAIN_HEADER))
        body = _json_object(raw_body)
        payload = parse_payload(topic, body)
        if payload.shop_domain is not None and payload.shop_domain != shop_domain:
            raise MalformedPayloadError("shop_domain in the body does not match X-Shopify-Shop-Domain.")
        return cls(
            topic=topic,
            shop_domain=shop_domain,
            webhook_id=webhook_id,
            event_id=(headers.get(EVENT_ID_HEADER) or None),
            triggered_at=_parse_timestamp(headers.get(TRIGGERED_AT_HEADER)),
            api_version=(headers.get(API_VERSION_HEADER) or None),
            payload=payload,
        )


def _json_object(raw_body: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MalformedPayloadError("Body is not JSON.") from exc
    if not isinstance(body, dict):
        raise MalformedPayloadError("Body is not a JSON object.")
    return body


def _parse_timestamp(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
