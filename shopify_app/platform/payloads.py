"""Typed bodies of the webhooks we handle, each parsed by ``from_json``.

A missing or mistyped required field raises :class:`MalformedPayloadError`, a 400.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Union

from shopify_app.errors import MalformedPayloadError
from shopify_app.platform.topics import Topic


def _require(body: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedPayloadError(f"Field {key!r} is missing or has the wrong type.")
    return value


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedPayloadError(f"Field {key!r} must be a string.")
    return value


def _id_list(body: dict[str, Any], key: str) -> tuple[int, ...]:
    value = body.get(key, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise MalformedPayloadError(f"Field {key!r} must be a list of ids.")
    if len(value) > 10_000:
        raise MalformedPayloadError(f"Field {key!r} is too long.")
    return tuple(value)


@dataclasses.dataclass(frozen=True)
class CustomerRef:
    id: int
    email: str | None
    phone: str | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CustomerRef:
        customer = _require(body, "customer", dict)
        return cls(id=_require(customer, "id", int), email=_optional_str(customer, "email"),
                   phone=_optional_str(customer, "phone"))


@dataclasses.dataclass(frozen=True)
class CustomersDataRequestPayload:
    shop_id: int
    shop_domain: str
    customer: CustomerRef
    orders_requested: tuple[int, ...]
    data_request_id: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CustomersDataRequestPayload:
        data_request = _require(body, "data_request", dict)
        request_id = _require(data_request, "id", (int, str))
        return cls(
            shop_id=_require(body, "shop_id", int),
            shop_domain=_require(body, "shop_domain", str).lower(),
            customer=CustomerRef.from_json(body),
            orders_requested=_id_list(body, "orders_requested"),
            data_request_id=str(request_id),
        )


@dataclasses.dataclass(frozen=True)
class CustomersRedactPayload:
    shop_id: int
    shop_domain: str
    customer: CustomerRef
    orders_to_redact: tuple[int, ...]

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CustomersRedactPayload:
        return cls(
            shop_id=_require(body, "shop_id", int),
            shop_domain=_require(body, "shop_domain", str).lower(),
            customer=CustomerRef.from_json(body),
            orders_to_redact=_id_list(body, "orders_to_redact"),
        )


@dataclasses.dataclass(frozen=True)
class ShopRedactPayload:
    shop_id: int
    shop_domain: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ShopRedactPayload:
        return cls(shop_id=_require(body, "shop_id", int), shop_domain=_require(body, "shop_domain", str).lower())


@dataclasses.dataclass(frozen=True)
class AppUninstalledPayload:
    """The body is the Shop resource; we need nothing from it but its id."""

    shop_id: int | None
    shop_domain: str | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> AppUninstalledPayload:
        shop_id = body.get("id")
        return cls(shop_id=shop_id if isinstance(shop_id, int) and not isinstance(shop_id, bool) else None)


WebhookPayload = Union[CustomersDataRequestPayload, CustomersRedactPayload, ShopRedactPayload, AppUninstalledPayload]


def parse_payload(topic: Topic, body: dict[str, Any]) -> WebhookPayload:
    parsers = {
        Topic.CUSTOMERS_DATA_REQUEST: CustomersDataRequestPayload.from_json,
        Topic.CUSTOMERS_REDACT: CustomersRedactPayload.from_json,
        Topic.SHOP_REDACT: ShopRedactPayload.from_json,
        Topic.APP_UNINSTALLED: AppUninstalledPayload.from_json,
    }
    return parsers[topic](body)
