"""The fake Shopify behaves like the documented one where the connector depends on it."""

from __future__ import annotations

import requests

from connectors.shopify import queries
from connectors.shopify.fake import FakeShopify


def post(fake: FakeShopify, query: str, variables=None, token=None) -> requests.Response:
    return requests.post(f"{fake.url}/admin/api/2026-07/graphql.json",
                         json={"query": query, "variables": variables},
                         headers={"X-Shopify-Access-Token": token or fake.token}, timeout=10)


def test_invalid_documents_are_refused_with_shopify_shaped_errors(fake):
    body = post(fake, "{ customers(first: 2) { nodes { id totalSpent } } }").json()
    assert "data" not in body
    assert "totalSpent" in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert post(fake, "{ customers(").json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_bad_variables_and_bad_tokens_are_refused(fake):
    body = post(fake, queries.TAGS_ADD, {"id": "gid://shopify/Customer/1", "tags": 5}).json()
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    assert post(fake, queries.SHOP, token="shpat_wrong").status_code == 401


def test_cost_is_reported_and_charged_to_the_bucket(fake):
    body = post(fake, queries.customers_page(None),
                {"first": 50, "query": "updated_at:>'2020-01-01T00:00:00Z'"}).json()
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 50 * 3 + 1
    assert cost["actualQueryCost"] <= cost["requestedQueryCost"]
    assert cost["throttleStatus"]["maximumAvailable"] == 2000
    assert cost["throttleStatus"]["restoreRate"] == 100
    assert len(body["data"]["customers"]["nodes"]) == 50


def test_an_empty_bucket_throttles(fake):
    fake.bucket.drain()
    body = post(fake, queries.customers_page(None), {"first": 50, "query": ""}).json()
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert body["extensions"]["cost"]["actualQueryCost"] is None


def test_queries_over_the_single_query_limit_are_refused(fake):
    body = post(fake, queries.ORDERS_PAGE_QUERY, {"first": 50, "lines": 50, "query": ""}).json()
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"


def test_bulk_queries_follow_shopifys_limits(fake):
    too_deep = """{ customers { edges { node { id orders { edges { node { id
        lineItems { edges { node { id } } } } } } } } } }"""
    payload = post(fake, queries.BULK_RUN, {"query": too_deep}).json()["data"]
    assert "nesting depth" in payload["bulkOperationRunQuery"]["userErrors"][0]["message"]
    payload = post(fake, queries.BULK_RUN, {"query": "{ customers { edges { node { nope } } } }"}).json()
    assert "Invalid bulk query" in payload["data"]["bulkOperationRunQuery"]["userErrors"][0]["message"]


def test_the_generated_shop_is_deterministic():
    with FakeShopify(seed=3, customers=50, orders=80) as a, FakeShopify(seed=3, customers=50, orders=80) as b:
        assert a.store.order_node(17)["totalPriceSet"] == b.store.order_node(17)["totalPriceSet"]
        assert a.store.customer(9) == b.store.customer(9)
