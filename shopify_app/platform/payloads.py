"""Typed bodies of the webhooks we handle, each parsed by ``from_json``.

A missing or mistyped required field raises :class:`MalformedPayloadError`, a 400. So does a value that the
database could not store: it would refuse it only at commit, a 503 that Shopify retries for ever (on SQLite it
also fails every other delivery of the batch). Hence the bounds below, which follow the columns in models.py
(``tests/platform/test_payloads.py`` checks that they still do).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Union

from shopify_app.errors import MalformedPayloadError
from shopify_app.platform.topics import Topic

MAX_ID = 2**63 - 1  # shops, customers and orders alike: Shopify's ids are 64-bit, our columns BIGINT
MAX_IDS = 10_000
MAX_SHOP_DOMAIN_LENGTH = 255
MAX_EMAIL_LENGTH = 320
MAX_PHONE_LENGTH = 64
MAX_DATA_REQUEST_ID_LENGTH = 64


def storable_text(value: str, name: str, max_length: int) -> str:
    """``value``, if a column of ``max_length`` characters can store it."""
    # PostgreSQL refuses NUL in text, and no driver encodes a lone surrogate (JSON can carry both).
    if len(value) > max_length or "\x00" in value or not _is_utf8(value):
        raise MalformedPayloadError(f"{name} is too long or not storable text.")
    return value


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _checked_id(value: Any, name: str) -> int:
    if type(value) is not int or not 0 < value <= MAX_ID:  # type(), not isinstance(): True is no id
        raise MalformedPayloadError(f"{name} must be a positive 64-bit id.")
    return value


def _require(body: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    value = body.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise MalformedPayloadError(f"Field {key!r} is missing or has the wrong type.")
    return value


def _require_id(body: dict[str, Any], key: str) -> int:
    return _checked_id(_require(body, key, int), key)


def _require_text(body: dict[str, Any], key: str, max_length: int) -> str:
    return storable_text(_require(body, key, str), key, max_length)


def _shop_domain(body: dict[str, Any]) -> str:
    return _require_text(body, "shop_domain", MAX_SHOP_DOMAIN_LENGTH).lower()


def _optional_str(body: dict[str, Any], key: str, max_length: int) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedPayloadError(f"Field {key!r} must be a string.")
    return storable_text(value, key, max_length)


def _id_list(body: dict[str, Any], key: str) -> tuple[int, ...]:
    value = body.get(key, [])
    if value is None:
        return ()
    if not isinstance(value, list):
        raise MalformedPayloadError(f"Field {key!r} must be a list of ids.")
    if len(value) > MAX_IDS:
        raise MalformedPayloadError(f"Field {key!r} is too long.")
    return tuple(_checked_id(item, key) for item in value)


@dataclasses.dataclass(frozen=True)
class CustomerRef:
    id: int
    email: str | None
    phone: str | None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CustomerRef:
        customer = _require(body, "customer", dict)
        return cls(id=_require_id(customer, "id"), email=_optional_str(customer, "email", MAX_EMAIL_LENGTH),
                   phone=_optional_str(customer, "phone", MAX_PHONE_LENGTH))


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
        request_id = str(_require(data_request, "id", (int, str))).strip()
        if not request_id:  # it identifies the request: redeliveries of it must not merge with others
            raise MalformedPayloadError("data_request.id is empty.")
        return cls(
            shop_id=_require_id(body, "shop_id"),
            shop_domain=_shop_domain(body),
            customer=CustomerRef.from_json(body),
            orders_requested=_id_list(body, "orders_requested"),
            data_request_id=storable_text(request_id, "data_request.id", MAX_DATA_REQUEST_ID_LENGTH),
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
            shop_id=_require_id(body, "shop_id"),
            shop_domain=_shop_domain(body),
            customer=CustomerRef.from_json(body),
            orders_to_redact=_id_list(body, "orders_to_redact"),
        )


@dataclasses.dataclass(frozen=True)
class ShopRedactPayload:
    shop_id: int
    shop_domain: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> ShopRedactPayload:
        return cls(shop_id=_require_id(body, "shop_id"), shop_domain=_shop_domain(body))


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
