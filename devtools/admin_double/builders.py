"""Builders of the GraphQL-shaped dicts stored by :class:`~.data.Store` (customers,
orders, line items, mailing addresses).  Callers hold the store lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from .data import ShopState, gid, gid_number, iso, money_bag, utcnow

__all__ = ["add_customer", "add_order", "build_address"]


#: Non-null Order fields with no interesting value in the double.
_ORDER_CONSTANTS: dict[str, Any] = {
    "canMarkAsPaid": False, "canNotifyCustomer": True, "capturable": False,
    "currentTotalWeight": "0", "totalWeight": "0", "dutiesIncluded": False,
    "estimatedTaxes": False, "fulfillable": False, "hasTimelineComment": False,
    "merchantEditable": False, "merchantEditableErrors": [], "productNetwork": False,
    "refundable": True, "restockable": False, "returnStatus": "NO_RETURN",
    "cartToken": None, "checkoutToken": None, "clientIp": None, "poNumber": None,
}


def build_address(shop: ShopState, data: Mapping[str, Any], kind: str = "CustomerAddress") -> dict:
    """Build a MailingAddress dict from snake_case or camelCase keys."""

    def pick(*names: str) -> Any:
        for name in names:
            if data.get(name) is not None:
                return data[name]
        return None

    number = shop.next_id("MailingAddress", 7001)
    first, last = pick("first_name", "firstName"), pick("last_name", "lastName")
    country_code = pick("country_code", "countryCodeV2", "countryCode")
    city, province = pick("city"), pick("province")
    country = pick("country")
    return {
        "__typename": "MailingAddress",
        "id": f"gid://shopify/MailingAddress/{number}?model_name={kind}",
        "firstName": first,
        "lastName": last,
        "name": " ".join(p for p in (first, last) if p) or None,
        "company": pick("company"),
        "address1": pick("address1"),
        "address2": pick("address2"),
        "city": city,
        "province": province,
        "provinceCode": pick("province_code", "provinceCode"),
        "zip": pick("zip"),
        "country": country,
        "countryCodeV2": country_code,
        "phone": pick("phone"),
        "formattedArea": ", ".join(p for p in (city, province, country) if p) or None,
        "coordinatesValidated": False,
        "latitude": None,
        "longitude": None,
        "timeZone": pick("time_zone", "timeZone"),
    }


def add_customer(shop: ShopState, f: Mapping[str, Any]) -> dict[str, Any]:
    number = f.get("id") or shop.next_id("Customer", 1001)
    shop.bump_counter("Customer", number)
    created = iso(f.get("created_at") or utcnow())
    email, phone = f.get("email"), f.get("phone")
    email_obj = None
    if email:
        email_obj = {
            "emailAddress": email,
            "marketingState": f.get("email_marketing_state", "NOT_SUBSCRIBED"),
            "marketingOptInLevel": f.get("email_opt_in_level"),
            "marketingUpdatedAt": iso(f.get("email_consent_updated_at")),
            "marketingUnsubscribeUrl": f"https://{shop.domain}/unsubscribe?c={number}",
            "openTrackingLevel": "OPTED_IN",
            "openTrackingUrl": f"https://{shop.domain}/track?c={number}",
            "sourceLocation": None,
            "validFormat": "@" in email,
        }
    phone_obj = None
    if phone:
        sms = {
            "state": f.get("sms_marketing_state", "NEVER_SUBSCRIBED"),
            "optInLevel": f.get("sms_opt_in_level"),
            "updatedAt": iso(f.get("sms_consent_updated_at")),
            "collectedFrom": f.get("sms_collected_from"),
            "sourceLocation": None,
        }
        whatsapp = {"state": "NEVER_SUBSCRIBED", "optInLevel": None, "updatedAt": None,
                    "collectedFrom": None, "sourceLocation": None}
        phone_obj = {"phoneNumber": phone, "smsMarketingConsent": sms,
                     "whatsAppMarketingConsent": whatsapp}
    addresses = [build_address(shop, a) for a in f.get("addresses") or ()]
    customer: dict[str, Any] = {
        "__typename": "Customer",
        "id": gid("Customer", number),
        "legacyResourceId": str(number),
        "firstName": f.get("first_name"),
        "lastName": f.get("last_name"),
        "locale": f.get("locale", "fr"),
        "note": f.get("note"),
        "tags": list(f.get("tags") or ()),
        "state": f.get("state", "DISABLED"),
        "verifiedEmail": bool(f.get("verified_email", bool(email))),
        "taxExempt": False,
        "taxExemptions": [],
        "dataSaleOptOut": bool(f.get("data_sale_opt_out", False)),
        "multipassIdentifier": None,
        "productSubscriberStatus": "NEVER_SUBSCRIBED",
        "createdAt": created,
        "updatedAt": iso(f.get("updated_at") or created),
        "defaultEmailAddress": email_obj,
        "defaultPhoneNumber": phone_obj,
        "_addresses": addresses,
        "_order_ids": [],
        "_erasure_requested": False,
    }
    shop.customers[customer["id"]] = customer
    shop.nodes[customer["id"]] = customer
    for address in addresses:
        shop.nodes[address["id"]] = address
    return customer



def add_order(
    shop: ShopState,
    customer_id: str | int | None,
    created_at: datetime | str | None,
    line_items: Iterable[Mapping[str, Any]] | None,
    o: Mapping[str, Any],
) -> dict[str, Any]:
    currency = shop.shop["currencyCode"]
    customer = None
    if customer_id is not None:
        customer = shop.customers.get(gid("Customer", gid_number(customer_id) or 0))
        if customer is None:
            raise KeyError(f"unknown customer {customer_id!r} in {shop.domain}")
    number = o.get("id") or shop.next_id("Order", 5001)
    shop.bump_counter("Order", number)
    order_number = shop.next_id("OrderNumber", 1001)
    created = iso(created_at or utcnow())
    items_in = list(line_items or [{"title": "Lingettes nettoyantes", "price": "9.90"}])
    items: list[dict[str, Any]] = []
    subtotal, quantity_total = Decimal(0), 0
    for item in items_in:
        qty = int(item.get("quantity", 1))
        price = Decimal(str(item.get("price", "0")))
        subtotal += price * qty
        quantity_total += qty
        li_number = shop.next_id("LineItem", 9001)
        title, variant = item["title"], item.get("variant_title")
        line = {
            "__typename": "LineItem", "id": gid("LineItem", li_number),
            "title": title, "name": f"{title} - {variant}" if variant else title,
            "variantTitle": variant, "sku": item.get("sku"),
            "vendor": item.get("vendor", shop.shop["name"]), "quantity": qty,
            "currentQuantity": qty, "unfulfilledQuantity": 0, "refundableQuantity": qty,
            "nonFulfillableQuantity": 0, "requiresShipping": True, "taxable": True,
            "isGiftCard": False, "merchantEditable": False, "restockable": True,
            "customAttributes": [], "discountAllocations": [], "duties": [],
            "originalUnitPriceSet": money_bag(price, currency),
            "discountedUnitPriceSet": money_bag(price, currency),
            "originalTotalSet": money_bag(price * qty, currency),
            "totalDiscountSet": money_bag(0, currency),
        }
        items.append(line)
        shop.nodes[line["id"]] = line
    shipping = Decimal(str(o.get("shipping_price", "4.90")))
    total = subtotal + shipping
    tax = (total - total / Decimal("1.2")).quantize(Decimal("0.01"))  # 20 % VAT included
    default_address = customer["_addresses"][0] if customer and customer["_addresses"] else None
    ship_in = o.get("shipping_address")
    bill_in = o.get("billing_address")
    ship = build_address(shop, ship_in, "Address") if ship_in else (
        dict(default_address) if default_address else None)
    bill = build_address(shop, bill_in, "Address") if bill_in else (dict(ship) if ship else None)
    email_obj = customer["defaultEmailAddress"] if customer else None
    phone_obj = customer["defaultPhoneNumber"] if customer else None
    zero = money_bag(0, currency)
    order: dict[str, Any] = {
        "__typename": "Order", "id": gid("Order", number), "legacyResourceId": str(number),
        "name": f"#{order_number}", "number": order_number,
        "confirmationNumber": f"LPL{number:07d}", "createdAt": created,
        "processedAt": iso(o.get("processed_at") or created),
        "updatedAt": iso(o.get("updated_at") or created),
        "cancelledAt": iso(o.get("cancelled_at")),
        "cancelReason": "CUSTOMER" if o.get("cancelled_at") else None,
        "closed": bool(o.get("closed", False)), "closedAt": None, "confirmed": True,
        "test": False, "edited": False, "taxesIncluded": True, "taxExempt": False,
        "displayFinancialStatus": o.get("financial_status", "PAID"),
        "displayFulfillmentStatus": o.get("fulfillment_status", "FULFILLED"),
        "email": o.get("email", email_obj["emailAddress"] if email_obj else None),
        "phone": o.get("phone", phone_obj["phoneNumber"] if phone_obj else None),
        "customerLocale": customer["locale"] if customer else shop.locales[0]["locale"],
        "customerAcceptsMarketing": bool(
            email_obj and email_obj["marketingState"] == "SUBSCRIBED"),
        "currencyCode": currency, "presentmentCurrencyCode": currency,
        "note": o.get("note"), "tags": list(o.get("tags") or ()),
        "discountCodes": [], "discountCode": None, "paymentGatewayNames": ["shopify_payments"],
        "sourceName": "web", "requiresShipping": True, "fullyPaid": True, "unpaid": False,
        "subtotalLineItemsQuantity": quantity_total,
        "currentSubtotalLineItemsQuantity": quantity_total,
        "totalPriceSet": money_bag(total, currency),
        "subtotalPriceSet": money_bag(subtotal, currency),
        "totalShippingPriceSet": money_bag(shipping, currency),
        "totalTaxSet": money_bag(tax, currency),
        "totalDiscountsSet": zero, "totalRefundedSet": zero,
        "shippingAddress": ship, "billingAddress": bill,
        "_line_items": items, "_customer_id": customer["id"] if customer else None,
        "_indexed_at": time.time(),  # when the search index learns of it (see ShopState.indexed)
        **_ORDER_CONSTANTS,
    }
    shop.orders[order["id"]] = order
    shop.nodes[order["id"]] = order
    if customer is not None:
        customer["_order_ids"].append(order["id"])
        if order["createdAt"] > customer["updatedAt"]:
            customer["updatedAt"] = order["createdAt"]
    return order
