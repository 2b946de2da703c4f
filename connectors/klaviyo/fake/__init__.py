"""A fake Klaviyo API for tests, benchmarks and ``sadakat demo``; see ``server.py``."""

from connectors.klaviyo.fake.server import FakeKlaviyo, SPEC_REVISION

__all__ = ["FakeKlaviyo", "SPEC_REVISION"]
