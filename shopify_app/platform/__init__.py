"""The Shopify boundary: the only code that knows Shopify's wire formats.

Named ``platform`` so it cannot be confused with the ``shopify`` module of the
ShopifyAPI package, which only this package imports.
"""
