"""Mutation resolvers of the double.

Implemented: ``metafieldsSet``, ``customerRequestDataErasure``, ``customerCancelDataErasure``,
``customerEmailMarketingConsentUpdate`` and ``customerSmsMarketingConsentUpdate``.  Each
call is recorded in the request context (the server turns that into
``AdminApiDouble.mutations``) whether or not it produced user errors.

Rules that mirror Shopify:

* ``metafieldsSet`` is atomic (any user error -> nothing saved), takes at most 25 inputs,
  needs ``type`` when creating, validates ``json``/``boolean``/``number_*`` values and
  ``compareDigest``; an omitted namespace (or ``$app``) means the app-reserved namespace
  ``app--<app id>``;
* consent updates only accept ``SUBSCRIBED``/``UNSUBSCRIBED``/``PENDING`` as input states,
  need an email address / phone number, and reject ``consentUpdatedAt`` in the future;
* customer mutations need ``write_customers``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from .data import gid, iso, normalize_namespace, parse_time
from .resolvers import RequestContext, parse_gid, require_scope, resolver

__all__: list[str] = []

MAX_METAFIELDS = 25
OWNER_TYPES = {"Customer": "CUSTOMER", "Order": "ORDER", "Shop": "SHOP",
               "AppInstallation": "API_PERMISSION"}
INPUT_STATES = ("SUBSCRIBED", "UNSUBSCRIBED", "PENDING")


def _ctx(info: GraphQLResolveInfo) -> RequestContext:
    return info.context


def _record(info: GraphQLResolveInfo, args: dict[str, Any]) -> RequestContext:
    ctx = _ctx(info)
    ctx.mutations.append((info.field_name, args))
    return ctx


def _json_value(type_name: str, value: str) -> Any:
    """Parse ``value`` for ``type_name``; raise ValueError if it is not valid."""
    if type_name == "json" or type_name.startswith("list."):
        return json.loads(value)
    if type_name == "boolean":
        if value not in ("true", "false"):
            raise ValueError("must be true or false")
        return value == "true"
    if type_name == "number_integer":
        return int(value)
    if type_name == "number_decimal":
        float(value)
        return value
    return value


def _error(field: list[str], message: str, code: str, index: int | None = None) -> dict:
    return {"field": field, "message": message, "code": code, "elementIndex": index}


@resolver("Mutation.metafieldsSet")
def _metafields_set(_: Any, info: GraphQLResolveInfo, metafields: list[dict[str, Any]]) -> dict:
    ctx = _record(info, {"metafields": metafields})
    shop = ctx.shop
    if len(metafields) > MAX_METAFIELDS:
        return {"metafields": None, "userErrors": [_error(
            ["metafields"], f"Exceeded the maximum metafields input limit of {MAX_METAFIELDS}.",
            "LESS_THAN_OR_EQUAL_TO")]}
    errors: list[dict[str, Any]] = []
    staged: list[tuple[str, tuple[str, str], dict[str, Any]]] = []
    for i, item in enumerate(metafields):
        path = ["metafields", str(i)]
        owner = shop.nodes.get(str(item["ownerId"]).split("?")[0])
        if owner is None or owner.get("__typename") not in OWNER_TYPES:
            errors.append(_error([*path, "ownerId"], "Owner does not exist.", "INVALID", i))
            continue
        namespace = normalize_namespace(shop, item.get("namespace"))
        key = item["key"]
        if len(key) < 2 or len(namespace) < 2:
            errors.append(_error([*path, "key"], "Key is too short (minimum is 2 characters)",
                                 "TOO_SHORT", i))
            continue
        existing = shop.metafields.get(owner["id"], {}).get((namespace, key))
        type_name = item.get("type") or (existing["type"] if existing else None)
        if not type_name:
            errors.append(_error([*path, "type"], "Type can't be blank", "BLANK", i))
            continue
        digest = item.get("compareDigest")
        if digest is not None and (existing is None or existing["compareDigest"] != digest):
            errors.append(_error([*path, "compareDigest"], "The resource has been updated "
                                 "since it was loaded. Try again with an updated "
                                 "`compareDigest` value.", "STALE_OBJECT", i))
            continue
        try:
            parsed = _json_value(type_name, item["value"])
        except ValueError as exc:
            errors.append(_error([*path, "value"], f"Value is invalid for type {type_name}: "
                                 f"{exc}", "INVALID_VALUE", i))
            continue
        now = iso(ctx.now)
        number = existing["legacyResourceId"] if existing else str(
            shop.next_id("Metafield", 30000001))
        value = item["value"]
        staged.append((owner["id"], (namespace, key), {
            "__typename": "Metafield", "id": gid("Metafield", number),
            "legacyResourceId": number, "namespace": namespace, "key": key, "value": value,
            "type": type_name, "jsonValue": parsed,
            "ownerType": OWNER_TYPES[owner["__typename"]],
            "compareDigest": hashlib.sha256(f"{type_name}:{value}".encode()).hexdigest(),
            "sizeInBytes": len(value.encode()), "definition": None, "reference": None,
            "createdAt": existing["createdAt"] if existing else now, "updatedAt": now,
            "translations": [],
        }))
    if errors:
        return {"metafields": None, "userErrors": errors}
    for owner_id, mkey, metafield in staged:
        shop.metafields.setdefault(owner_id, {})[mkey] = metafield
        shop.nodes[metafield["id"]] = metafield
    return {"metafields": [m for _, _, m in staged], "userErrors": []}


def _customer_for(ctx: RequestContext, customer_id: str) -> dict[str, Any] | None:
    return ctx.shop.customers.get(parse_gid(customer_id))


@resolver("Mutation.customerRequestDataErasure")
def _request_erasure(_: Any, info: GraphQLResolveInfo, customerId: str) -> dict[str, Any]:
    ctx = _record(info, {"customerId": customerId})
    require_scope(ctx, "write_customers", "customerRequestDataErasure")
    customer = _customer_for(ctx, customerId)
    if customer is None:
        return {"customerId": None, "userErrors": [
            {"field": ["customerId"], "message": "Customer does not exist",
             "code": "DOES_NOT_EXIST"}]}
    customer["_erasure_requested"] = True
    return {"customerId": customer["id"], "userErrors": []}


@resolver("Mutation.customerCancelDataErasure")
def _cancel_erasure(_: Any, info: GraphQLResolveInfo, customerId: str) -> dict[str, Any]:
    ctx = _record(info, {"customerId": customerId})
    require_scope(ctx, "write_customers", "customerCancelDataErasure")
    customer = _customer_for(ctx, customerId)
    if customer is None:
        return {"customerId": None, "userErrors": [
            {"field": ["customerId"], "message": "Customer does not exist",
             "code": "DOES_NOT_EXIST"}]}
    if not customer["_erasure_requested"]:
        return {"customerId": None, "userErrors": [
            {"field": ["customerId"], "message": "Customer's data is not scheduled for erasure",
             "code": "NOT_BEING_ERASED"}]}
    customer["_erasure_requested"] = False
    return {"customerId": customer["id"], "userErrors": []}


def _consent_errors(ctx: RequestContext, customer: Mapping[str, Any] | None,
                    consent: Mapping[str, Any], channel: str) -> list[dict[str, Any]]:
    name = f"{channel}MarketingConsent"
    if customer is None:
        return [{"field": ["input", "customerId"], "message": "Customer not found",
                 "code": "INVALID"}]
    contact = customer["defaultEmailAddress" if channel == "email" else "defaultPhoneNumber"]
    if contact is None:
        what = "an email address" if channel == "email" else "a phone number"
        return [{"field": ["input", name], "message": f"Customer must have {what} to update "
                 f"{'email' if channel == 'email' else 'SMS'} marketing consent",
                 "code": "INVALID"}]
    if consent["marketingState"] not in INPUT_STATES:
        return [{"field": ["input", name, "marketingState"],
                 "message": "Marketing state is not included in the list", "code": "INCLUSION"}]
    updated = consent.get("consentUpdatedAt")
    if updated is not None:
        try:
            if parse_time(str(updated)) > ctx.now:
                return [{"field": ["input", name, "consentUpdatedAt"],
                         "message": "Consent updated at cannot be in the future",
                         "code": "INVALID"}]
        except ValueError:
            return [{"field": ["input", name, "consentUpdatedAt"],
                     "message": "Consent updated at is invalid", "code": "INVALID"}]
    return []


@resolver("Mutation.customerEmailMarketingConsentUpdate")
def _email_consent(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx = _record(info, {"input": input})
    require_scope(ctx, "write_customers", "customerEmailMarketingConsentUpdate")
    customer = _customer_for(ctx, input["customerId"])
    consent = input["emailMarketingConsent"]
    errors = _consent_errors(ctx, customer, consent, "email")
    if errors or customer is None:
        return {"customer": None, "userErrors": errors}
    email = customer["defaultEmailAddress"]
    email["marketingState"] = consent["marketingState"]
    email["marketingOptInLevel"] = consent.get("marketingOptInLevel") or \
        email["marketingOptInLevel"] or "SINGLE_OPT_IN"
    email["marketingUpdatedAt"] = iso(consent.get("consentUpdatedAt") or ctx.now)
    customer["updatedAt"] = iso(ctx.now)
    return {"customer": customer, "userErrors": []}


@resolver("Mutation.customerSmsMarketingConsentUpdate")
def _sms_consent(_: Any, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
    ctx = _record(info, {"input": input})
    require_scope(ctx, "write_customers", "customerSmsMarketingConsentUpdate")
    customer = _customer_for(ctx, input["customerId"])
    consent = input["smsMarketingConsent"]
    errors = _consent_errors(ctx, customer, consent, "sms")
    if errors or customer is None:
        return {"customer": None, "userErrors": errors}
    sms = customer["defaultPhoneNumber"]["smsMarketingConsent"]
    sms["state"] = consent["marketingState"]
    sms["optInLevel"] = consent.get("marketingOptInLevel") or sms["optInLevel"] or \
        "SINGLE_OPT_IN"
    sms["updatedAt"] = iso(consent.get("consentUpdatedAt") or ctx.now)
    sms["collectedFrom"] = "OTHER"
    customer["updatedAt"] = iso(ctx.now)
    return {"customer": customer, "userErrors": []}
