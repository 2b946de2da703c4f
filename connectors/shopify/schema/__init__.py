"""The Admin GraphQL schema the connector is written against, parsed once per process.

Parsing the 3.8 MB SDL takes seconds, so it happens lazily on first use and is cached; the
connector itself never needs it at run time (only the fake Shopify and the tests do).
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path

from graphql import GraphQLSchema, build_schema

API_VERSION = "2026-07"
SCHEMA_FILE = Path(__file__).with_name(f"{API_VERSION}.graphql")
_lock = threading.Lock()


@cache
def _build() -> GraphQLSchema:
    schema = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"), assume_valid_sdl=True)
    # Shopify's own schema deprecates some implementations of non-deprecated interface fields,
    # which graphql-core's schema check rejects. Shopify serves it as is, so we accept it as is:
    # an empty error list marks it checked and lets ``validate`` run against it.
    schema._validation_errors = []
    return schema


def admin_schema() -> GraphQLSchema:
    """The 2026-07 Admin schema; the first call parses it (once, even across threads)."""
    with _lock:
        return _build()
