"""Demo data: "Le Petit Lunetier", a French eyewear shop (``demo-shop.myshopify.com``).

Shop: contact@lepetitlunetier.com, primary locale ``fr`` (``en`` published, ``de`` not),
currency EUR, country FR, timezone Europe/Paris, primary domain lepetitlunetier.com.
Dates are relative to seeding time ("d" = days ago); orders have 20 % VAT included and
4.90 EUR shipping.  Customers (stable ids) and their orders:

=======  ======================  ======  ======================================  ==================
id       name                    ctry    consent (email / SMS)                   orders
=======  ======================  ======  ======================================  ==================
1001     Camille Dubois          FR      SUBSCRIBED confirmed / SUBSCRIBED       #1001 (8 d), #1002 (95 d)
                                         (2 addresses: home Paris + office delivery)
1002     Lucas Martin            FR      UNSUBSCRIBED / NEVER_SUBSCRIBED         #1003 (4 y), #1004 (200 d)
1003     Léa Bernard             FR      SUBSCRIBED single / (no phone)          #1005 (20 d)
1004     Hugo Petit              FR      NOT_SUBSCRIBED / NEVER_SUBSCRIBED       none; created 5 y ago,
                                                                                 last update 3 y + 60 d ago
1005     Sofia Rossi             IT      SUBSCRIBED / PENDING                    #1006 (400 d)
1006     Jonas Becker            DE      NOT_SUBSCRIBED / (no phone)             #1007 (5 d), #1008 (30 d, cancelled)
1007     Emma Janssens           BE      UNSUBSCRIBED / UNSUBSCRIBED             #1009 (3 y + 150 d); no activity since
=======  ======================  ======  ======================================  ==================

Plus a guest order #1010 (2 d ago, no customer, email marc.guest@example.fr).  Orders older
than 60 days (#1002, #1003, #1004, #1006, #1009) need ``read_all_orders``; #1003 and #1009
are older than 3 years.  Products: frames (Lafayette 189 EUR, Montmartre 159 EUR),
sunglasses (Riviera 145 EUR, Camargue polarisées 175 EUR), lens cleaning kit 14.90 EUR,
leather case 29 EUR, cleaning wipes 9.90 EUR.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from . import builders
from .data import ShopState, Store, gid, iso, utcnow
from .themes import seed_themes, set_app_embed

__all__ = ["DEMO_SHOP", "PRODUCTS", "seed_customers", "seed_demo_shop"]

DEMO_SHOP = "demo-shop.myshopify.com"

PRODUCTS: dict[str, dict[str, Any]] = {
    "lafayette": {"title": "Monture optique Lafayette", "variant_title": "Écaille / 50-20",
                  "sku": "LPL-MON-LAF-ECA", "price": "189.00"},
    "montmartre": {"title": "Monture optique Montmartre", "variant_title": "Noir mat / 52-18",
                   "sku": "LPL-MON-MTM-NOI", "price": "159.00"},
    "riviera": {"title": "Solaires Riviera", "variant_title": "Or / Verres G15",
                "sku": "LPL-SOL-RIV-ORG", "price": "145.00"},
    "camargue": {"title": "Solaires Camargue polarisées", "variant_title": "Havane / Marron",
                 "sku": "LPL-SOL-CAM-HAV", "price": "175.00"},
    "kit": {"title": "Kit de nettoyage pour lunettes", "variant_title": None,
            "sku": "LPL-ACC-KIT", "price": "14.90"},
    "etui": {"title": "Étui rigide en cuir", "variant_title": "Cognac",
             "sku": "LPL-ACC-ETU-COG", "price": "29.00"},
    "lingettes": {"title": "Lingettes nettoyantes (x30)", "variant_title": None,
                  "sku": "LPL-ACC-LIN-30", "price": "9.90"},
}


def _items(*names: str) -> list[dict[str, Any]]:
    return [dict(PRODUCTS[name], vendor="Le Petit Lunetier") for name in names]


def _addr(first: str, last: str, address1: str, city: str, zip_code: str, country: str,
          code: str, phone: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"first_name": first, "last_name": last, "address1": address1, "city": city,
            "zip": zip_code, "country": country, "country_code": code, "phone": phone, **extra}


def _configure_shop(shop: ShopState) -> None:
    info = shop.shop
    address = dict(info["shopAddress"], address1="18 Rue de Charonne", city="Paris",
                   zip="75011", province=None, country="France", countryCodeV2="FR",
                   company="Le Petit Lunetier SAS", phone="+33 1 84 60 12 34",
                   formattedArea="Paris, France")
    info.update({
        "name": "Le Petit Lunetier", "email": "contact@lepetitlunetier.com",
        "contactEmail": "contact@lepetitlunetier.com", "shopOwnerName": "Claire Morel",
        "description": "Lunettes de vue et solaires dessinées à Paris.",
        "ianaTimezone": "Europe/Paris", "timezoneAbbreviation": "CET",
        "timezoneOffset": "+0100", "timezoneOffsetMinutes": 60, "currencyCode": "EUR",
        "enabledPresentmentCurrencies": ["EUR"], "taxesIncluded": True,
        "shipsToCountries": ["FR", "BE", "DE", "IT", "ES", "LU", "NL"],
        "marketingSmsConsentEnabledAtCheckout": True,
        "primaryDomain": dict(info["primaryDomain"], host="lepetitlunetier.com",
                              url="https://lepetitlunetier.com"),
        "url": "https://lepetitlunetier.com", "shopAddress": address, "billingAddress": address,
        "plan": {"partnerDevelopment": False, "publicDisplayName": "Basic", "shopifyPlus": False},
    })
    shop.locales = [
        {"locale": "fr", "name": "French", "primary": True, "published": True,
         "marketWebPresences": []},
        {"locale": "en", "name": "English", "primary": False, "published": True,
         "marketWebPresences": []},
        {"locale": "de", "name": "German", "primary": False, "published": False,
         "marketWebPresences": []},
    ]


def seed_demo_shop(store: Store, domain: str = DEMO_SHOP) -> ShopState:
    """(Re)create ``domain`` with the demo data above (existing data is discarded)."""
    with store.lock:
        shop = store.reset_shop(domain)
        _configure_shop(shop)
        seed_themes(shop)
        set_app_embed(shop, True)
        now = utcnow()

        def ago(days: int) -> datetime:
            return now - timedelta(days=days)

        add, order = builders.add_customer, builders.add_order
        camille = add(shop, {
            "id": 1001, "first_name": "Camille", "last_name": "Dubois",
            "email": "camille.dubois@example.fr", "phone": "+33612345678",
            "state": "ENABLED", "created_at": ago(700), "tags": ["newsletter", "VIP"],
            "email_marketing_state": "SUBSCRIBED", "email_opt_in_level": "CONFIRMED_OPT_IN",
            "email_consent_updated_at": ago(690), "sms_marketing_state": "SUBSCRIBED",
            "sms_opt_in_level": "SINGLE_OPT_IN", "sms_consent_updated_at": ago(690),
            "sms_collected_from": "SHOPIFY",
            "addresses": [
                _addr("Camille", "Dubois", "42 Rue Oberkampf", "Paris", "75011", "France",
                      "FR", "+33612345678", address2="3e étage"),
                _addr("Camille", "Dubois", "8 Avenue de l'Opéra", "Paris", "75001", "France",
                      "FR", company="Atelier Dubois & Associés"),
            ]})
        lucas = add(shop, {
            "id": 1002, "first_name": "Lucas", "last_name": "Martin",
            "email": "lucas.martin@example.fr", "phone": "+33698765432", "state": "ENABLED",
            "created_at": ago(1500), "email_marketing_state": "UNSUBSCRIBED",
            "email_opt_in_level": "SINGLE_OPT_IN", "email_consent_updated_at": ago(300),
            "addresses": [_addr("Lucas", "Martin", "5 Place Bellecour", "Lyon", "69002",
                                "France", "FR", "+33698765432")]})
        lea = add(shop, {
            "id": 1003, "first_name": "Léa", "last_name": "Bernard",
            "email": "lea.bernard@example.fr", "created_at": ago(60), "state": "INVITED",
            "email_marketing_state": "SUBSCRIBED", "email_opt_in_level": "SINGLE_OPT_IN",
            "email_consent_updated_at": ago(60),
            "addresses": [_addr("Léa", "Bernard", "17 Cours de l'Intendance", "Bordeaux",
                                "33000", "France", "FR")]})
        add(shop, {
            "id": 1004, "first_name": "Hugo", "last_name": "Petit",
            "email": "hugo.petit@example.fr", "phone": "+33611223344",
            "created_at": ago(5 * 365), "updated_at": ago(3 * 365 + 60),
            "note": "Demande d'information sur les verres progressifs (2021).",
            "addresses": [_addr("Hugo", "Petit", "3 Rue Esquermoise", "Lille", "59000",
                                "France", "FR", "+33611223344")]})
        sofia = add(shop, {
            "id": 1005, "first_name": "Sofia", "last_name": "Rossi", "locale": "it",
            "email": "sofia.rossi@example.it", "phone": "+393471234567", "state": "ENABLED",
            "created_at": ago(420), "email_marketing_state": "SUBSCRIBED",
            "email_opt_in_level": "CONFIRMED_OPT_IN", "email_consent_updated_at": ago(410),
            "sms_marketing_state": "PENDING", "sms_opt_in_level": "CONFIRMED_OPT_IN",
            "sms_consent_updated_at": ago(410), "sms_collected_from": "SHOPIFY",
            "addresses": [_addr("Sofia", "Rossi", "Via della Spiga 12", "Milano", "20121",
                                "Italy", "IT", "+393471234567", province="Milano",
                                province_code="MI")]})
        jonas = add(shop, {
            "id": 1006, "first_name": "Jonas", "last_name": "Becker", "locale": "de",
            "email": "jonas.becker@example.de", "created_at": ago(40),
            "addresses": [_addr("Jonas", "Becker", "Kastanienallee 21", "Berlin", "10435",
                                "Germany", "DE")]})
        emma = add(shop, {
            "id": 1007, "first_name": "Emma", "last_name": "Janssens", "locale": "fr",
            "email": "emma.janssens@example.be", "phone": "+32470123456",
            "created_at": ago(3 * 365 + 170), "email_marketing_state": "UNSUBSCRIBED",
            "email_consent_updated_at": ago(3 * 365 + 160), "sms_marketing_state": "UNSUBSCRIBED",
            "sms_consent_updated_at": ago(3 * 365 + 160), "sms_collected_from": "OTHER",
            "addresses": [_addr("Emma", "Janssens", "Rue Antoine Dansaert 50", "Bruxelles",
                                "1000", "Belgium", "BE", "+32470123456")]})

        order(shop, camille["id"], ago(8), _items("lafayette", "kit"), {})
        order(shop, camille["id"], ago(95), _items("riviera"), {
            "shipping_address": _addr("Camille", "Dubois", "8 Avenue de l'Opéra", "Paris",
                                      "75001", "France", "FR")})
        order(shop, lucas["id"], ago(4 * 365), _items("montmartre", "etui"), {})
        order(shop, lucas["id"], ago(200), _items("lingettes"), {})
        order(shop, lea["id"], ago(20), _items("camargue", "kit"), {
            "fulfillment_status": "UNFULFILLED"})
        order(shop, sofia["id"], ago(400), _items("riviera", "etui"), {"shipping_price": "12.00"})
        order(shop, jonas["id"], ago(5), _items("montmartre"), {"shipping_price": "9.90"})
        order(shop, jonas["id"], ago(30), _items("kit"), {
            "cancelled_at": ago(29), "financial_status": "REFUNDED",
            "fulfillment_status": "UNFULFILLED", "shipping_price": "9.90"})
        order(shop, emma["id"], ago(3 * 365 + 150), _items("lafayette"), {})
        order(shop, None, ago(2), _items("lingettes", "kit"), {
            "email": "marc.guest@example.fr", "phone": None,
            "shipping_address": _addr("Marc", "Girard", "9 Rue Sainte-Catherine", "Bordeaux",
                                      "33000", "France", "FR")})
        # Hugo (1004) and Emma (1007) stay untouched: restore their "last update" dates.
        emma["updatedAt"] = iso(ago(3 * 365 + 150))
        return shop


_FIRST = ("Alice", "Baptiste", "Chloé", "David", "Élodie", "François", "Giulia", "Hannah",
          "Inès", "Julien", "Klara", "Louis", "Manon", "Noah", "Olivia", "Pierre")
_LAST = ("Moreau", "Laurent", "Simon", "Michel", "Garcia", "Roux", "Fontaine", "Schmidt",
         "Bianchi", "Dupont", "Lambert", "Girard", "Bonnet", "Mercier", "Weber", "Peeters")


def seed_customers(
    store: Store,
    domain: str,
    n: int,
    orders_each: int = 0,
    *,
    created_at: datetime | None = None,
    order_spacing: timedelta = timedelta(days=1),
    line_items: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Add ``n`` generated customers with ``orders_each`` orders each, quickly.

    Customer ``k`` is named from fixed lists, has email ``customer<id>@example.com``, one
    French address, and orders created ``order_spacing`` apart going back from now (the
    newest first).  ``created_at`` defaults to just before the oldest order.
    """
    items = line_items or _items("kit")
    now = utcnow()
    oldest = now - order_spacing * max(orders_each, 1)
    created = created_at or (oldest - timedelta(days=1))
    customers = []
    with store.lock:
        shop = store.shop(domain)
        for k in range(n):
            number = shop.next_id("Customer", 1001)
            first, last = _FIRST[k % len(_FIRST)], _LAST[(k // len(_FIRST)) % len(_LAST)]
            customer = builders.add_customer(shop, {
                "id": number, "first_name": first, "last_name": last,
                "email": f"customer{number}@example.com", "created_at": created,
                "email_marketing_state": ("SUBSCRIBED", "NOT_SUBSCRIBED")[k % 2],
                "addresses": [_addr(first, last, f"{k + 1} Rue de la Paix", "Paris",
                                    "75002", "France", "FR")]})
            for j in range(orders_each):
                builders.add_order(shop, customer["id"], now - order_spacing * (j + 1), items, {})
            customers.append(customer)
    return customers


def customer_gid(number: int) -> str:
    """``1001`` -> ``gid://shopify/Customer/1001``."""
    return gid("Customer", number)
