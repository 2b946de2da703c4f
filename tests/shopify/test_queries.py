"""Every document the connector can send is valid against the real 2026-07 Admin schema."""

from __future__ import annotations

import pytest
from graphql import OperationDefinitionNode, parse, specified_rules, validate
from graphql.validation import NoDeprecatedCustomRule

from connectors.shopify import queries
from connectors.shopify.fake.cost import MAX_QUERY_COST, operation_cost
from connectors.shopify.schema import admin_schema
from graphql.execution.values import get_variable_values

DOCUMENTS = dict(queries.documents())


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_document_is_valid_and_uses_no_deprecated_field(name):
    errors = validate(admin_schema(), parse(DOCUMENTS[name]), [*specified_rules, NoDeprecatedCustomRule])
    assert [e.message for e in errors] == []


@pytest.mark.parametrize("name, variables", [
    ("customers_page+birthday", {"first": queries.CUSTOMERS_PAGE, "query": "x"}),
    ("orders_page", {"first": queries.ORDERS_PAGE, "lines": queries.ORDER_LINES, "query": "x"}),
    ("order_lines", {"id": "gid://shopify/Order/1", "first": queries.LINES_PAGE}),
])
def test_page_sizes_keep_requested_cost_under_the_single_query_limit(name, variables):
    schema = admin_schema()
    document = parse(DOCUMENTS[name])
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    coerced = get_variable_values(schema, operation.variable_definitions, variables)
    assert 0 < operation_cost(schema, operation, {}, coerced) <= MAX_QUERY_COST


def test_validation_catches_what_shopify_would_refuse():
    document = parse("{ customers(first: 5) { nodes { id totalSpent } } }")
    assert validate(admin_schema(), document)
