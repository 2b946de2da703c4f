"""This package passes Sadakat's connector conformance suite."""

from sadakat_generic_store.testing import GenericStoreConformance


class TestGenericStoreConformance(GenericStoreConformance):
    pass
