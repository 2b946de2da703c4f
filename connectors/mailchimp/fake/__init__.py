"""The fake Mailchimp Marketing API used by the tests, the benchmark and ``sadakat demo``."""

from connectors.mailchimp.fake.server import FakeMailchimp, Injected, Logged, Problem

__all__ = ["FakeMailchimp", "Injected", "Logged", "Problem"]
