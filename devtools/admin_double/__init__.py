"""Test double of the Shopify Admin API (OAuth token endpoint + GraphQL 2026-10) over HTTP.

    from devtools.admin_double import AdminApiDouble

    with AdminApiDouble("api-key", "api-secret").start() as double:
        template = double.shop_url_template   # "http://127.0.0.1:PORT/{shop}"
        token = double.issue_access_token("demo-shop.myshopify.com")
        ...

Modules: :mod:`.schema` (bundled schema, ``validate_document``), :mod:`.data` (store),
:mod:`.seed` (demo shop "Le Petit Lunetier"), :mod:`.resolvers`/:mod:`.mutations`,
:mod:`.search` (query syntax), :mod:`.connections`, :mod:`.cost`, :mod:`.auth`,
:mod:`.bulk` (bulk query operations and their JSONL files), :mod:`.server`,
:mod:`.control` (``/_double/*``), ``python -m devtools.admin_double``.
"""

from .schema import load_admin_schema, validate_document
from .seed import DEMO_SHOP
from .server import AdminApiDouble, MutationRecord

__all__ = ["DEMO_SHOP", "AdminApiDouble", "MutationRecord", "load_admin_schema",
           "validate_document"]
