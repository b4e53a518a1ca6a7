"""In-memory shop data for the Admin API double.

Objects are stored as plain dicts shaped like the GraphQL types (camelCase keys, ISO-8601
``...Z`` strings for ``DateTime``, strings for ``Decimal``/``UnsignedInt64``), so that
graphql-core's default resolver can answer most fields directly.  Keys starting with ``_``
are internal (e.g. ``_customer_id`` on orders).  Computed fields and connections are
answered by :mod:`devtools.admin_double.resolvers`.

Every mutating method must be called with :attr:`Store.lock` held or through the public
methods of :class:`~devtools.admin_double.server.AdminApiDouble`, which take it.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

__all__ = [
    "DEFAULT_SCOPES",
    "PROTECTED_CATEGORIES",
    "ShopState",
    "Store",
    "gid",
    "gid_number",
    "iso",
    "money",
    "money_bag",
    "normalize_namespace",
    "parse_time",
    "utcnow",
]

#: Scopes granted to a shop unless :meth:`Store.set_scopes` says otherwise.
DEFAULT_SCOPES = (
    "read_customers",
    "write_customers",
    "read_orders",
    "read_all_orders",
    "read_themes",
)
PROTECTED_CATEGORIES = ("name", "email", "phone", "address")
_GID_RE = re.compile(r"^gid://shopify/(\w+)/(\d+)")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def iso(value: datetime | str | None) -> str | None:
    """Format as Shopify does: ``2024-05-01T10:00:00Z`` (accepts datetimes or ISO strings)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = parse_time(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    """Parse ``YYYY-MM-DD`` or an ISO-8601 timestamp (naive means UTC)."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def gid(kind: str, number: int | str) -> str:
    return f"gid://shopify/{kind}/{number}"


def gid_number(value: str | int) -> int | None:
    """``gid://shopify/Customer/12`` / ``"12"`` / ``12`` -> ``12`` (None if malformed)."""
    if isinstance(value, int):
        return value
    match = _GID_RE.match(value)
    if match:
        return int(match.group(2))
    return int(value) if value.isdigit() else None


def amount_str(value: Decimal | str | float | int) -> str:
    """Format a Decimal like Shopify's Admin API does (``"129.0"``, ``"11.5"``, ``"4.95"``)."""
    text = format(Decimal(str(value)).quantize(Decimal("0.01")).normalize(), "f")
    return text if "." in text else text + ".0"


def money(value: Decimal | str | float | int, currency: str) -> dict[str, str]:
    return {"amount": amount_str(value), "currencyCode": currency}


def money_bag(value: Decimal | str | float | int, currency: str) -> dict[str, Any]:
    m = money(value, currency)
    return {"shopMoney": m, "presentmentMoney": m}


@dataclass
class ShopState:
    """Everything the double knows about one shop (keyed by its myshopify domain)."""

    domain: str
    shop: dict[str, Any]
    locales: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    themes: list[dict[str, Any]] = field(default_factory=list)
    metafields: dict[str, dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    scopes: set[str] = field(default_factory=lambda: set(DEFAULT_SCOPES))
    protected_access: dict[str, bool] = field(
        default_factory=lambda: dict.fromkeys(PROTECTED_CATEGORIES, True)
    )
    app_installation: dict[str, Any] = field(default_factory=dict)
    #: handle -> {"enabled": bool, "uuid": str}; rendered into config/settings_data.json
    app_embeds: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    #: Shopify's search index is eventually consistent: an order created less than this many
    #: seconds ago is not yet found by ``orders(query:)`` (0: found at once).
    search_lag_seconds: float = 0.0

    def next_id(self, kind: str, start: int) -> int:
        value = self.counters.get(kind, start)
        self.counters[kind] = value + 1
        return value

    def bump_counter(self, kind: str, used: int) -> None:
        if self.counters.get(kind, 0) <= used:
            self.counters[kind] = used + 1

    def has_scope(self, scope: str) -> bool:
        """True if granted (a ``write_x`` scope implies ``read_x``)."""
        return scope in self.scopes or scope.replace("read_", "write_", 1) in self.scopes

    def order_visible(self, order: Mapping[str, Any], now: datetime | None = None) -> bool:
        """Orders older than 60 days need ``read_all_orders`` (as on Shopify)."""
        if "read_all_orders" in self.scopes:
            return True
        cutoff = (now or utcnow()) - timedelta(days=60)
        return parse_time(order["createdAt"]) >= cutoff

    def indexed(self, order: Mapping[str, Any]) -> bool:
        """Whether a search can find ``order`` yet (see :attr:`search_lag_seconds`)."""
        return float(order.get("_indexed_at", 0.0)) <= time.time() - self.search_lag_seconds

    def customer_orders(self, customer: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [self.orders[o] for o in customer["_order_ids"] if o in self.orders]


def normalize_namespace(shop: ShopState, namespace: str | None) -> str:
    """Map an omitted namespace or ``$app`` to the app-reserved ``app--<app id>``."""
    app_id = gid_number(shop.app_installation["id"])
    if namespace is None or namespace == "$app":
        return f"app--{app_id}"
    if namespace.startswith("$app:"):
        return f"app--{app_id}--{namespace[5:]}"
    return namespace


class Store:
    """All shops of one double, guarded by a re-entrant lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.shops: dict[str, ShopState] = {}

    # ------------------------------------------------------------------ shops
    def shop(self, domain: str) -> ShopState:
        """Return the shop, creating a minimal empty one on first use."""
        with self.lock:
            state = self.shops.get(domain)
            if state is None:
                state = self._new_shop(domain)
                self.shops[domain] = state
            return state

    def _new_shop(self, domain: str) -> ShopState:
        handle = domain.split(".")[0]
        number = 60000000 + len(self.shops) + 1
        now = iso(utcnow())
        address = {
            "__typename": "ShopAddress", "id": gid("ShopAddress", number), "address1": None,
            "address2": None, "city": None, "company": None, "country": "United States",
            "countryCodeV2": "US", "province": None, "provinceCode": None, "zip": None,
            "phone": None, "coordinatesValidated": False, "latitude": None, "longitude": None,
            "formattedArea": None,
        }
        shop = {
            "__typename": "Shop", "id": gid("Shop", number), "name": handle,
            "email": f"owner@{handle}.example", "contactEmail": f"owner@{handle}.example",
            "myshopifyDomain": domain, "description": None, "ianaTimezone": "UTC",
            "timezoneAbbreviation": "UTC", "timezoneOffset": "+0000", "timezoneOffsetMinutes": 0,
            "currencyCode": "USD", "enabledPresentmentCurrencies": ["USD"],
            "primaryDomain": {"__typename": "Domain", "id": gid("Domain", number),
                              "host": domain, "url": f"https://{domain}", "sslEnabled": True},
            "url": f"https://{domain}", "shopAddress": address, "billingAddress": address,
            "createdAt": now, "updatedAt": now, "weightUnit": "KILOGRAMS",
            "unitSystem": "METRIC_SYSTEM", "taxesIncluded": False, "taxShipping": False,
            "setupRequired": False, "checkoutApiSupported": True, "shopOwnerName": handle,
            "orderNumberFormatPrefix": "#", "orderNumberFormatSuffix": "",
            "transactionalSmsDisabled": False, "marketingSmsConsentEnabledAtCheckout": False,
            "shipsToCountries": ["US"], "customerAccounts": "OPTIONAL",
            "richTextEditorUrl": f"https://{domain}/admin/rich_text_editor",
            "plan": {"partnerDevelopment": True, "publicDisplayName": "Development",
                     "shopifyPlus": False},
        }
        state = ShopState(domain=domain, shop=shop)
        state.locales = [{"locale": "en", "name": "English", "primary": True, "published": True,
                          "marketWebPresences": []}]
        state.app_installation = {
            "__typename": "AppInstallation", "id": gid("AppInstallation", number),
            "launchUrl": f"https://admin.shopify.com/store/{handle}/apps/privacy-app",
            "uninstallUrl": None, "activeSubscriptions": [],
        }
        state.nodes[shop["id"]] = shop
        state.nodes[state.app_installation["id"]] = state.app_installation
        return state

    def reset_shop(self, domain: str) -> ShopState:
        with self.lock:
            self.shops.pop(domain, None)
            return self.shop(domain)

    # -------------------------------------------------------------- customers
    def add_customer(self, domain: str, **fields: Any) -> dict[str, Any]:
        """Add a customer.  Accepted keyword arguments (all optional):

        ``id`` (int), ``first_name``, ``last_name``, ``email``, ``phone``, ``locale``,
        ``note``, ``tags``, ``state``, ``verified_email``, ``created_at``, ``updated_at``,
        ``email_marketing_state`` (CustomerEmailAddressMarketingState), ``email_opt_in_level``,
        ``email_consent_updated_at``, ``sms_marketing_state`` (CustomerMarketingConsentState),
        ``sms_opt_in_level``, ``sms_consent_updated_at``, ``sms_collected_from``,
        ``addresses`` (list of dicts: first_name, last_name, company, address1, address2,
        city, province, province_code, zip, country, country_code, phone).
        """
        with self.lock:
            shop = self.shop(domain)
            from . import builders  # builders imports this module

            return builders.add_customer(shop, fields)

    def delete_customer(self, domain: str, customer_id: str | int) -> None:
        """Delete a customer and their addresses, as the merchant may in Shopify admin (any time, e.g. while
        the app pages through them). Shopify refuses to delete a customer with orders: so does this."""
        with self.lock:
            shop = self.shop(domain)
            customer = shop.customers[gid("Customer", gid_number(customer_id) or 0)]
            if customer["_order_ids"]:
                raise ValueError("Shopify cannot delete a customer who has orders")
            del shop.customers[customer["id"]]
            for node_id in (customer["id"], *(address["id"] for address in customer["_addresses"])):
                shop.nodes.pop(node_id, None)

    # ----------------------------------------------------------------- orders
    def add_order(
        self,
        domain: str,
        customer_id: str | int | None,
        *,
        created_at: datetime | str | None = None,
        line_items: Iterable[Mapping[str, Any]] | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Add an order (``customer_id`` None for a guest order).

        ``line_items``: dicts with ``title``, ``price``, ``quantity`` (1), ``sku``,
        ``variant_title``, ``vendor``.  Options: ``processed_at``, ``updated_at``,
        ``cancelled_at``, ``financial_status`` ("PAID"), ``fulfillment_status``
        ("FULFILLED"), ``shipping_price`` ("4.90"), ``email``, ``phone``,
        ``shipping_address``, ``billing_address`` (dicts, default: customer's default
        address), ``tags``, ``note``, ``id``.
        """
        with self.lock:
            from . import builders

            return builders.add_order(self.shop(domain), customer_id, created_at, line_items,
                                      options)

    # --------------------------------------------------------------- settings
    def set_scopes(self, domain: str, scopes: Iterable[str]) -> None:
        with self.lock:
            self.shop(domain).scopes = {s.strip() for s in scopes if s.strip()}

    def set_protected_data_access(
        self, domain: str, level: str | None = None, **categories: bool
    ) -> None:
        """``level`` "all"/"none" sets every category; keywords name/email/phone/address."""
        with self.lock:
            access = self.shop(domain).protected_access
            if level is not None:
                if level not in ("all", "none"):
                    raise ValueError("level must be 'all' or 'none'")
                access.update(dict.fromkeys(PROTECTED_CATEGORIES, level == "all"))
            for name, allowed in categories.items():
                if name not in PROTECTED_CATEGORIES:
                    raise ValueError(f"unknown protected data category {name!r}")
                access[name] = bool(allowed)
