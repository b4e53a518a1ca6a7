"""Every GraphQL document the app sends to the Admin API, in one place.

Names end in ``_QUERY`` or ``_MUTATION``; ``tests/platform/test_queries.py``
validates each against the bundled 2026-10 schema with deprecated fields
rejected, and fails if a document appears anywhere else in the code.

Costs: Shopify refuses a single query above 1,000 points, and a connection's
cost is multiplied by its ``first``. Page sizes below are picked to stay well
under that (an order page of 10 with 25 line items each costs about 850).
"""

from __future__ import annotations

ORDER_PAGE_SIZE = 10
LINE_ITEM_PAGE_SIZE = 25
ADDRESS_PAGE_SIZE = 25

_ADDRESS_FIELDS = """
fragment AddressFields on MailingAddress {
  firstName lastName company address1 address2 city province zip country countryCodeV2 phone
}
"""

_ORDER_FIELDS = (
    """
fragment OrderFields on Order {
  id name createdAt processedAt cancelledAt email phone currencyCode
  displayFinancialStatus displayFulfillmentStatus
  totalPriceSet { shopMoney { amount currencyCode } }
  subtotalPriceSet { shopMoney { amount currencyCode } }
  totalShippingPriceSet { shopMoney { amount currencyCode } }
  totalTaxSet { shopMoney { amount currencyCode } }
  shippingAddress { ...AddressFields }
  billingAddress { ...AddressFields }
  lineItems(first: 25) {
    nodes { title variantTitle sku quantity originalUnitPriceSet { shopMoney { amount currencyCode } } }
    pageInfo { hasNextPage endCursor }
  }
}
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
    """
query CustomerForReport($id: ID!) {
  customer(id: $id) {
    id firstName lastName displayName locale createdAt updatedAt note tags state verifiedEmail
    numberOfOrders
    amountSpent { amount currencyCode }
    defaultEmailAddress { emailAddress marketingState marketingOptInLevel marketingUpdatedAt }
    defaultPhoneNumber {
      phoneNumber
      smsMarketingConsent { state optInLevel updatedAt collectedFrom }
      whatsAppMarketingConsent { state optInLevel updatedAt collectedFrom }
    }
    addressesV2(first: 25) { nodes { ...AddressFields } pageInfo { hasNextPage endCursor } }
  }
}
"""
    + _ADDRESS_FIELDS
)

CUSTOMER_ORDERS_QUERY = (
    """
query CustomerOrders($id: ID!, $after: String) {
  customer(id: $id) {
    orders(first: 10, after: $after, sortKey: CREATED_AT) {
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

ORDER_LINE_ITEMS_QUERY = """
query OrderLineItems($id: ID!, $after: String) {
  order(id: $id) {
    lineItems(first: 25, after: $after) {
      nodes { title variantTitle sku quantity originalUnitPriceSet { shopMoney { amount currencyCode } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
