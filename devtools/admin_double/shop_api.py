"""Python API of :class:`~devtools.admin_double.server.AdminApiDouble` for seeding and control.

All methods are thread-safe (they take the store lock) and may be called before or after
:meth:`start`.  Shops are identified by their myshopify domain; customers and orders by gid
(``gid://shopify/Customer/1001``) or number (``1001``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .data import Store, gid, gid_number
from .seed import DEMO_SHOP, seed_customers, seed_demo_shop
from .themes import set_app_embed

if TYPE_CHECKING:
    from .auth import TokenAuthority
    from .cost import CostBucket

__all__ = ["ShopApiMixin"]


class ShopApiMixin:
    store: Store
    tokens: TokenAuthority
    bucket: CostBucket
    app_handle: str

    # ----------------------------------------------------------------- seeding
    def seed_demo_shop(self, shop: str = DEMO_SHOP) -> None:
        """(Re)seed ``shop`` with "Le Petit Lunetier" (see :mod:`.seed`)."""
        seed_demo_shop(self.store, shop)

    def add_customer(self, shop: str, **fields: Any) -> dict[str, Any]:
        """Add a customer (see :meth:`.data.Store.add_customer` for the keywords)."""
        return self.store.add_customer(shop, **fields)

    def add_order(self, shop: str, customer_id: str | int | None, *,
                  created_at: datetime | str | None = None,
                  line_items: Iterable[Mapping[str, Any]] | None = None,
                  **options: Any) -> dict[str, Any]:
        """Add an order (see :meth:`.data.Store.add_order` for ``line_items``/options)."""
        return self.store.add_order(shop, customer_id, created_at=created_at,
                                    line_items=line_items, **options)

    def seed_customers(self, shop: str, n: int, orders_each: int = 0, *,
                       created_at: datetime | None = None,
                       order_spacing: timedelta = timedelta(days=1),
                       line_items: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Bulk-add ``n`` generated customers with ``orders_each`` orders each."""
        return seed_customers(self.store, shop, n, orders_each, created_at=created_at,
                              order_spacing=order_spacing, line_items=line_items)

    # ----------------------------------------------------------------- reading
    def customer(self, shop: str, customer_id: str | int) -> dict[str, Any] | None:
        """The stored customer dict (live object: GraphQL-shaped keys plus ``_``-internals
        such as ``_erasure_requested``, ``_addresses`` and ``_order_ids``)."""
        with self.store.lock:
            return self.store.shop(shop).customers.get(
                gid("Customer", gid_number(customer_id) or 0))

    def order(self, shop: str, order_id: str | int) -> dict[str, Any] | None:
        with self.store.lock:
            return self.store.shop(shop).orders.get(gid("Order", gid_number(order_id) or 0))

    def customers(self, shop: str) -> list[dict[str, Any]]:
        with self.store.lock:
            return list(self.store.shop(shop).customers.values())

    def erasure_requested(self, shop: str, customer_id: str | int) -> bool:
        customer = self.customer(shop, customer_id)
        return bool(customer and customer["_erasure_requested"])

    def metafields(self, shop: str, owner_id: str | None = None) -> dict[tuple[str, str], Any]:
        """Metafields of ``owner_id`` (default: the app installation) keyed (namespace, key)."""
        with self.store.lock:
            state = self.store.shop(shop)
            return dict(state.metafields.get(owner_id or state.app_installation["id"], {}))

    def app_installation_id(self, shop: str) -> str:
        return str(self.store.shop(shop).app_installation["id"])

    # ---------------------------------------------------------------- settings
    def set_scopes(self, shop: str, scopes: Iterable[str]) -> None:
        """Granted access scopes (default: :data:`.data.DEFAULT_SCOPES`)."""
        self.store.set_scopes(shop, scopes)

    def scopes(self, shop: str) -> list[str]:
        with self.store.lock:
            return sorted(self.store.shop(shop).scopes)

    def _scope_string(self, shop: str) -> str:
        return ",".join(self.scopes(shop))

    def set_protected_data_access(self, shop: str, level: str | None = None, *,
                                  name: bool | None = None, email: bool | None = None,
                                  phone: bool | None = None,
                                  address: bool | None = None) -> None:
        """Grant/deny protected customer data: ``level`` "all"/"none", then per category."""
        flags = {k: v for k, v in (("name", name), ("email", email), ("phone", phone),
                                   ("address", address)) if v is not None}
        self.store.set_protected_data_access(shop, level, **flags)

    def set_app_embed(self, shop: str, enabled: bool, handle: str = "consent-banner") -> None:
        """Enable/disable this app's embed block in the shop's MAIN theme settings_data.json."""
        with self.store.lock:
            set_app_embed(self.store.shop(shop), enabled, handle, self.app_handle)

    def set_search_lag(self, shop: str, seconds: float) -> None:
        """Orders created less than ``seconds`` ago are not found by ``orders(query:)`` yet, as
        when Shopify's search index lags behind (lookups by id are not affected)."""
        with self.store.lock:
            self.store.shop(shop).search_lag_seconds = float(seconds)

    def set_throttle_available(self, shop: str, points: float) -> None:
        """Set the shop's leaky bucket level (e.g. 0 to provoke real THROTTLED answers)."""
        self.bucket.set_available(shop, points)

    # ------------------------------------------------------------------ tokens
    def issue_authorization_code(self, shop: str) -> str:
        """A single-use code for the authorization-code grant."""
        return self.tokens.issue_authorization_code(shop)

    def issue_access_token(self, shop: str, *, expiring: bool = False) -> str:
        """Create an access token without HTTP (for tests that only need API access)."""
        return str(self.tokens.issue_access_token(shop, expiring=expiring)["access_token"])

    def expire_access_tokens(self, shop: str) -> None:
        """Make existing access tokens of ``shop`` expired (refresh tokens keep working)."""
        self.tokens.expire_access_tokens(shop)

    @property
    def access_token_lifetime(self) -> int:
        """``expires_in`` (seconds) of expiring access tokens issued from now on."""
        return self.tokens.access_token_lifetime

    @access_token_lifetime.setter
    def access_token_lifetime(self, seconds: int) -> None:
        self.tokens.access_token_lifetime = int(seconds)

    @property
    def token_grants(self) -> list[dict[str, Any]]:
        """Successful grants: {"shop", "grant", "expiring"} (records ``expiring=1``)."""
        return list(self.tokens.grants)
