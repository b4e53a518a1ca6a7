"""Every GraphQL document the app sends to the Admin API, in one place.

Names end in ``_QUERY`` or ``_MUTATION``; ``tests/platform/test_queries.py``
validates each against the bundled 2026-10 schema with deprecated fields
rejected, and fails if a document appears anywhere else in the code.

Costs: Shopify refuses a single query above 1,000 points, and a connection's
requested cost is multiplied by its ``first``; unused points are refunded after
the query, but the bucket must hold the requested cost first. An order page of
25 orders with 8 line items each asks for about 830 points; an order with more
line items gets the rest through ``ORDER_LINE_ITEMS_QUERY``. Only the totals a
report needs are read (total and tax), since every money field costs 2 points.
What an order really costs is 12 points with one line item (3 more per item), so
paging through 250 orders spends about 3,000 points: at a Standard shop's 100
points/s that cannot take less than about 10 s, whatever the page shape. Many
orders are therefore read by a bulk operation (``ORDERS_BULK_QUERY``), which has
no cost budget; the paged queries remain for few orders and as its fallback.
A customer's addresses come the same way as an order's line items: a first page
with the customer, the rest through ``CUSTOMER_ADDRESSES_QUERY`` (an address costs
1 point, so a following page of 250 asks for 252).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

ORDER_PAGE_SIZE = 25
LINE_ITEM_PAGE_SIZE = 8
ADDRESS_PAGE_SIZE = 25  # read with the customer
NEXT_ADDRESSES_PAGE_SIZE = 250  # the pages after the first: Shopify's largest

# The fields of an order and of a line item, shared by the paged queries and the bulk query,
# so that both paths put the same data in a report.
_ADDRESS_SELECTION = "firstName lastName company address1 address2 city province zip country countryCodeV2 phone"
_ORDER_SELECTION = """id name createdAt processedAt cancelledAt email phone currencyCode
  displayFinancialStatus displayFulfillmentStatus
  totalPriceSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }"""
_LINE_ITEM_SELECTION = "title variantTitle sku quantity originalUnitPriceSet { shopMoney { amount currencyCode } }"

_ADDRESS_FIELDS = f"""
fragment AddressFields on MailingAddress {{
  {_ADDRESS_SELECTION}
}}
"""

_ORDER_FIELDS = (
    f"""
fragment OrderFields on Order {{
  {_ORDER_SELECTION}
  shippingAddress {{ ...AddressFields }}
  billingAddress {{ ...AddressFields }}
  lineItems(first: {LINE_ITEM_PAGE_SIZE}) {{
    nodes {{ {_LINE_ITEM_SELECTION} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}
"""
    + _ADDRESS_FIELDS
)

SHOP_QUERY = """
query ShopForReport {
  shop { id name email contactEmail myshopifyDomain ianaTimezone currencyCode primaryDomain { url host } }
  shopLocales(published: true) { locale primary }
}
"""

CUSTOMER_QUERY = (
    f"""
query CustomerForReport($id: ID!) {{
  customer(id: $id) {{
    id firstName lastName displayName locale createdAt updatedAt note tags state verifiedEmail
    numberOfOrders
    amountSpent {{ amount currencyCode }}
    defaultEmailAddress {{ emailAddress marketingState marketingOptInLevel marketingUpdatedAt }}
    defaultPhoneNumber {{
      phoneNumber
      smsMarketingConsent {{ state optInLevel updatedAt collectedFrom }}
      whatsAppMarketingConsent {{ state optInLevel updatedAt collectedFrom }}
    }}
    addressesV2(first: {ADDRESS_PAGE_SIZE}) {{ nodes {{ ...AddressFields }} pageInfo {{ hasNextPage endCursor }} }}
  }}
}}
"""
    + _ADDRESS_FIELDS
)

CUSTOMER_ADDRESSES_QUERY = (
    f"""
query CustomerAddresses($id: ID!, $after: String) {{
  customer(id: $id) {{
    addressesV2(first: {NEXT_ADDRESSES_PAGE_SIZE}, after: $after) {{
      nodes {{ ...AddressFields }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""
    + _ADDRESS_FIELDS
)

CUSTOMER_ORDERS_QUERY = (
    """
query CustomerOrders($id: ID!, $after: String) {
  customer(id: $id) {
    orders(first: 25, after: $after, sortKey: CREATED_AT) {
      nodes { ...OrderFields }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + _ORDER_FIELDS
)

ORDERS_BY_ID_QUERY = (
    """
query OrdersById($ids: [ID!]!) {
  nodes(ids: $ids) { __typename ... on Order { ...OrderFields } }
}
"""
    + _ORDER_FIELDS
)

ORDER_LINE_ITEMS_QUERY = f"""
query OrderLineItems($id: ID!, $after: String) {{
  order(id: $id) {{
    lineItems(first: 25, after: $after) {{
      nodes {{ {_LINE_ITEM_SELECTION} }}
      pageInfo {{ hasNextPage endCursor }}
    }}
  }}
}}
"""

# -- bulk operations (many orders) ---------------------------------------------------

BULK_SEARCH_PLACEHOLDER = "__search__"
"""Bulk queries take no variables: :func:`orders_bulk_query` writes the search string in."""

# One top-level connection and one nested one (Shopify allows five, nested two deep); no
# page sizes (a bulk query reads everything); each line item comes back as its own JSONL
# line with ``__parentId``, the order's ``id``. No fragments, so nothing depends on whether
# Shopify's bulk executor expands them.
ORDERS_BULK_QUERY = f"""
query OrdersForReport {{
  orders(query: "{BULK_SEARCH_PLACEHOLDER}", sortKey: CREATED_AT) {{
    edges {{
      node {{
        {_ORDER_SELECTION}
        shippingAddress {{ {_ADDRESS_SELECTION} }}
        billingAddress {{ {_ADDRESS_SELECTION} }}
        lineItems {{ edges {{ node {{ {_LINE_ITEM_SELECTION} }} }} }}
      }}
    }}
  }}
}}
"""


def orders_bulk_query(search: str) -> str:
    """``ORDERS_BULK_QUERY`` for the orders matching ``search`` (Shopify's search syntax)."""
    return ORDERS_BULK_QUERY.replace(f'"{BULK_SEARCH_PLACEHOLDER}"', json.dumps(search))


def orders_search_by_id(order_ids: Iterable[int]) -> str:
    """``id:1 OR id:2 …``: exactly the orders a data request names."""
    return " OR ".join(f"id:{int(order_id)}" for order_id in order_ids)


def orders_search_by_customer(customer_id: int) -> str:
    return f"customer_id:{int(customer_id)}"


BULK_OPERATION_RUN_QUERY_MUTATION = """
mutation BulkOperationRunQuery($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

# ``bulkOperation(id:)``, not ``currentBulkOperation``: the latter is deprecated in 2026-10
# (several bulk queries may run at once per shop since 2026-01, so "the current one" is
# ambiguous).
BULK_OPERATION_QUERY = """
query BulkOperationStatus($id: ID!) {
  bulkOperation(id: $id) {
    id status errorCode objectCount rootObjectCount fileSize url partialDataUrl
  }
}
"""

BULK_OPERATION_CANCEL_MUTATION = """
mutation BulkOperationCancel($id: ID!) {
  bulkOperationCancel(id: $id) {
    bulkOperation { id status }
    userErrors { field message }
  }
}
"""

# -- storefront consent banner ----------------------------------------------------

CURRENT_APP_INSTALLATION_QUERY = """
query CurrentAppInstallation {
  currentAppInstallation { id }
}
"""

BANNER_CONFIG_SET_MUTATION = """
mutation BannerConfigSet($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    metafields { id namespace key updatedAt }
    userErrors { field message code }
  }
}
"""

MAIN_THEME_SETTINGS_DATA_QUERY = """
query MainThemeSettingsData {
  currentAppInstallation { app { apiKey } }
  themes(first: 1, roles: [MAIN]) {
    nodes {
      id
      name
      files(filenames: ["config/settings_data.json"], first: 1) {
        nodes { filename body { ... on OnlineStoreThemeFileBodyText { content } } }
      }
    }
  }
}
"""

# -- storefront privacy requests: fulfilment and retention -------------------------

RETENTION_DUE_PAGE_SIZE = 250
"""Shopify's largest page; a node of four scalars costs 1, so a page costs about 252 points."""

CUSTOMER_BY_EMAIL_QUERY = """
query CustomerByEmail($query: String!) {
  customers(first: 2, query: $query) {
    nodes { id defaultEmailAddress { emailAddress } }
  }
}
"""

CUSTOMER_ORDER_COUNT_QUERY = """
query CustomerOrderCount($id: ID!) {
  customer(id: $id) { id numberOfOrders }
}
"""

CUSTOMER_REQUEST_DATA_ERASURE_MUTATION = """
mutation CustomerRequestDataErasure($customerId: ID!) {
  customerRequestDataErasure(customerId: $customerId) {
    customerId
    userErrors { field message code }
  }
}
"""

CUSTOMER_EMAIL_MARKETING_CONSENT_UPDATE_MUTATION = """
mutation CustomerEmailMarketingConsentUpdate($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id defaultEmailAddress { marketingState marketingUpdatedAt } }
    userErrors { field message code }
  }
}
"""

CUSTOMER_SMS_MARKETING_CONSENT_UPDATE_MUTATION = """
mutation CustomerSmsMarketingConsentUpdate($input: CustomerSmsMarketingConsentUpdateInput!) {
  customerSmsMarketingConsentUpdate(input: $input) {
    customer { id defaultPhoneNumber { smsMarketingConsent { state updatedAt } } }
    userErrors { field message code }
  }
}
"""

RETENTION_DUE_CUSTOMERS_QUERY = """
query RetentionDueCustomers($query: String!, $after: String) {
  customers(first: 250, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { id createdAt updatedAt numberOfOrders }
    pageInfo { hasNextPage endCursor }
  }
}
"""
