"""Webhook deliveries as Shopify sends them: topics, headers, and the typed delivery."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from shopify_app.errors import MalformedPayloadError
from shopify_app.platform.domains import normalize_shop_domain
from shopify_app.platform.payloads import WebhookPayload, parse_payload, storable_text
from shopify_app.platform.topics import Topic

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
SHOP_DOMAIN_HEADER = "X-Shopify-Shop-Domain"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
EVENT_ID_HEADER = "X-Shopify-Event-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
API_VERSION_HEADER = "X-Shopify-API-Version"

# The sizes of the webhook_deliveries columns (tests/platform/test_payloads.py checks that they still agree).
MAX_WEBHOOK_ID_LENGTH = 128
MAX_EVENT_ID_LENGTH = 128
MAX_API_VERSION_LENGTH = 16
MAX_TIMESTAMP_LENGTH = 64  # far more than any ISO 8601 timestamp; not stored as text, but no reason to parse more


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
        webhook_id = _header(headers, WEBHOOK_ID_HEADER, MAX_WEBHOOK_ID_LENGTH)
        if webhook_id is None:
            raise MalformedPayloadError("Missing X-Shopify-Webhook-Id.")
        shop_domain = normalize_shop_domain(headers.get(SHOP_DOMAIN_HEADER))
        body = _json_object(raw_body)
        payload = parse_payload(topic, body)
        if payload.shop_domain is not None and payload.shop_domain != shop_domain:
            raise MalformedPayloadError("shop_domain in the body does not match X-Shopify-Shop-Domain.")
        return cls(
            topic=topic,
            shop_domain=shop_domain,
            webhook_id=webhook_id,
            event_id=_header(headers, EVENT_ID_HEADER, MAX_EVENT_ID_LENGTH),
            triggered_at=_parse_timestamp(_header(headers, TRIGGERED_AT_HEADER, MAX_TIMESTAMP_LENGTH)),
            api_version=_header(headers, API_VERSION_HEADER, MAX_API_VERSION_LENGTH),
            payload=payload,
        )


def _header(headers: Mapping[str, str], name: str, max_length: int) -> str | None:
    """The header's value, or None if absent or blank; :class:`MalformedPayloadError` if it cannot be stored."""
    return storable_text((headers.get(name) or "").strip(), name, max_length) or None


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
        # Converted here, not when stored: 9999-12-31T23:59-01:00 has no UTC datetime (OverflowError).
        return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    except (ValueError, OverflowError):
        return None
