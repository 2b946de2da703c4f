"""A fake WooCommerce site for tests, ``sadakat demo`` and the benchmark; see ``server``."""

from connectors.woocommerce.fake.server import FakeWooCommerce

__all__ = ["FakeWooCommerce"]
