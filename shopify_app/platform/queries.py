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
"""

from __future__ import annotations

ORDER_PAGE_SIZE = 25
LINE_ITEM_PAGE_SIZE = 8
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
  totalTaxSet { shopMoney { amount currencyCode } }
  shippingAddress { ...AddressFields }
  billingAddress { ...AddressFields }
  lineItems(first: 8) {
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
