"""The fake Shopify used by the tests, the benchmark and the demo (see ``server``)."""

from connectors.shopify.fake.server import FakeShopify, oauth_hmac

__all__ = ["FakeShopify", "oauth_hmac"]
