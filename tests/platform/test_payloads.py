"""Compliance payloads: what parses, and that whatever parses fits the columns it is stored in."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shopify_app.errors import MalformedPayloadError
from shopify_app.models import MAX_CUSTOMER_ID, PrivacyRequest, Shop, WebhookDelivery
from shopify_app.platform import payloads, webhooks
from shopify_app.platform.payloads import CustomersDataRequestPayload, CustomersRedactPayload, ShopRedactPayload
from tests.conftest import load_sample


def sample(name: str, **changes: Any) -> dict[str, Any]:
    return {**json.loads(load_sample(name)), **changes}


def column_length(column: Any) -> int:
    return column.property.columns[0].type.length


def test_bounds_follow_the_columns():
    assert payloads.MAX_ID == MAX_CUSTOMER_ID
    assert payloads.MAX_SHOP_DOMAIN_LENGTH == column_length(Shop.domain)
    assert payloads.MAX_EMAIL_LENGTH == column_length(PrivacyRequest.customer_email)
    assert payloads.MAX_PHONE_LENGTH == column_length(PrivacyRequest.customer_phone)
    assert payloads.MAX_DATA_REQUEST_ID_LENGTH == column_length(PrivacyRequest.shopify_request_id)
    assert webhooks.MAX_WEBHOOK_ID_LENGTH == column_length(WebhookDelivery.webhook_id)
    assert webhooks.MAX_EVENT_ID_LENGTH == column_length(WebhookDelivery.event_id)
    assert webhooks.MAX_API_VERSION_LENGTH == column_length(WebhookDelivery.api_version)


@pytest.mark.parametrize("value", [1, 2**63 - 1])
def test_ids_in_range_parse(value: int):
    payload = CustomersRedactPayload.from_json(sample("customers_redact", shop_id=value, customer={"id": value},
                                                      orders_to_redact=[value]))
    assert (payload.shop_id, payload.customer.id, payload.orders_to_redact) == (value, value, (value,))


@pytest.mark.parametrize("value", [0, -1, 2**63, True, 1.0, "1"])
@pytest.mark.parametrize("field", ["shop_id", "customer", "orders_to_redact"])
def test_ids_out_of_range_or_of_another_type_are_malformed(field: str, value: Any):
    wrapped = {"shop_id": value, "customer": {"id": value}, "orders_to_redact": [1, value]}[field]
    with pytest.raises(MalformedPayloadError):
        CustomersRedactPayload.from_json(sample("customers_redact", **{field: wrapped}))


def test_data_request_id_must_fit_its_column():
    body = sample("customers_data_request", data_request={"id": "r" * 64})
    assert CustomersDataRequestPayload.from_json(body).data_request_id == "r" * 64
    with pytest.raises(MalformedPayloadError):
        CustomersDataRequestPayload.from_json({**body, "data_request": {"id": "r" * 65}})
    with pytest.raises(MalformedPayloadError):
        CustomersDataRequestPayload.from_json({**body, "data_request": {"id": int("9" * 65)}})


@pytest.mark.parametrize("email", ["a" * 321, "a\x00@example.com", "\udcff@example.com"])
def test_text_a_column_cannot_store_is_malformed(email: str):
    with pytest.raises(MalformedPayloadError):
        CustomersRedactPayload.from_json(sample("customers_redact", customer={"id": 1, "email": email}))


def test_over_long_shop_domain_is_malformed():
    with pytest.raises(MalformedPayloadError):
        ShopRedactPayload.from_json(sample("shop_redact", shop_domain="a" * 250 + ".myshopify.com"))
