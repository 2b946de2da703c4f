"""Shopify: the GraphQL Admin API connector, its OAuth install, and a fake Shopify for tests."""
