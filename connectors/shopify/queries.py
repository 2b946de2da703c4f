"""Every GraphQL document the Shopify connector can send, in one place.

Keeping them here lets one test validate each of them against the real 2026-07 Admin schema
(``tests/shopify/test_queries.py``). The customer and order selections are shared by the paged
(incremental) and the bulk (full) queries so both produce the same JSON for ``mapping``.

Bulk queries cannot take variables, so the optional birthday metafield is written into the
document as a literal; ``documents`` lists every variant the settings can produce.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

# Page sizes keep a query's requested cost well under Shopify's 1,000-point ceiling per query
# (the fake computes it the documented way; the test of this module checks it):
# a customer costs 3-4 (node, email, phone, birthday metafield) → 200 × 4 + 3 = 803;
# an order ~1 + customer 2 + money 10 + refunds 3 + lines (2 + 15 × 4 + 1) → 10 orders ≈ 800.
# Orders with more lines than ORDER_LINES get the rest with ORDER_LINES_QUERY.
CUSTOMERS_PAGE = 200
ORDERS_PAGE = 10
ORDER_LINES = 15
LINES_PAGE = 100


def _string(value: str) -> str:
    """A GraphQL string literal (JSON's escaping is a subset GraphQL accepts)."""
    return json.dumps(value)


def customer_fields(birthday: tuple[str, str] | None) -> str:
    metafield = (
        f"birthday: metafield(namespace: {_string(birthday[0])}, key: {_string(birthday[1])}) "
        "{ value }"
        if birthday else ""
    )
    return f"""
      id firstName lastName createdAt updatedAt
      defaultEmailAddress {{ emailAddress marketingState marketingUpdatedAt }}
      defaultPhoneNumber {{ phoneNumber }}
      {metafield}"""


MONEY = "shopMoney { amount currencyCode }"

ORDER_SCALARS = f"""
      id name email createdAt processedAt updatedAt cancelledAt
      displayFinancialStatus displayFulfillmentStatus discountCodes
      subtotalPriceSet {{ {MONEY} }}
      totalDiscountsSet {{ {MONEY} }}
      totalShippingPriceSet {{ {MONEY} }}
      totalTaxSet {{ {MONEY} }}
      totalPriceSet {{ {MONEY} }}
      customer {{ id firstName lastName defaultEmailAddress {{ emailAddress }} }}
      refunds {{ id createdAt totalRefundedSet {{ {MONEY} }} }}"""

LINE_FIELDS = f"""
      sku title quantity
      originalUnitPriceSet {{ {MONEY} }}
      product {{ id productType tags }}"""

PAGE_INFO = "pageInfo { hasNextPage endCursor }"


def customers_page(birthday: tuple[str, str] | None) -> str:
    return f"""
query CustomersUpdatedSince($first: Int!, $after: String, $query: String!) {{
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{ {customer_fields(birthday)} }}
    {PAGE_INFO}
  }}
}}"""


ORDERS_PAGE_QUERY = f"""
query OrdersUpdatedSince($first: Int!, $after: String, $query: String!, $lines: Int!) {{
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
    nodes {{
      {ORDER_SCALARS}
      lineItems(first: $lines) {{ nodes {{ {LINE_FIELDS} }} {PAGE_INFO} }}
    }}
    {PAGE_INFO}
  }}
}}"""

# An order with more lines than fit in ORDER_LINES is completed with this query.
ORDER_LINES_QUERY = f"""
query OrderLines($id: ID!, $first: Int!, $after: String) {{
  order(id: $id) {{
    lineItems(first: $first, after: $after) {{ nodes {{ {LINE_FIELDS} }} {PAGE_INFO} }}
  }}
}}"""


def bulk_customers(birthday: tuple[str, str] | None) -> str:
    return f"""
{{
  customers {{
    edges {{ node {{ {customer_fields(birthday)} }} }}
  }}
}}"""


BULK_ORDERS = f"""
{{
  orders {{
    edges {{
      node {{
        {ORDER_SCALARS}
        lineItems {{ edges {{ node {{ {LINE_FIELDS} }} }} }}
      }}
    }}
  }}
}}"""

BULK_RUN = """
mutation RunBulkQuery($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status createdAt }
    userErrors { field message code }
  }
}"""

BULK_STATUS = """
query BulkOperationStatus($id: ID!) {
  bulkOperation(id: $id) {
    id status errorCode createdAt completedAt objectCount rootObjectCount url partialDataUrl
  }
}"""

SHOP = """
query Shop {
  shop { name myshopifyDomain currencyCode }
}"""

METAFIELDS_SET = """
mutation SetLoyaltyMetafields($metafields: [MetafieldsSetInput!]!) {
  metafieldsSet(metafields: $metafields) {
    userErrors { field message code elementIndex }
  }
}"""

METAFIELDS_DELETE = """
mutation DeleteLoyaltyMetafields($metafields: [MetafieldIdentifierInput!]!) {
  metafieldsDelete(metafields: $metafields) {
    deletedMetafields { key }
    userErrors { field message }
  }
}"""

TAGS_ADD = """
mutation AddTags($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { userErrors { field message } }
}"""

TAGS_REMOVE = """
mutation RemoveTags($id: ID!, $tags: [String!]!) {
  tagsRemove(id: $id, tags: $tags) { userErrors { field message } }
}"""

DISCOUNT_BASIC_CREATE = """
mutation CreateRewardCode($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field message code }
  }
}"""

DISCOUNT_FREE_SHIPPING_CREATE = """
mutation CreateFreeShippingCode($discount: DiscountCodeFreeShippingInput!) {
  discountCodeFreeShippingCreate(freeShippingCodeDiscount: $discount) {
    codeDiscountNode { id }
    userErrors { field message code }
  }
}"""

WEBHOOK_SUBSCRIBE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: {uri: $uri, format: JSON}) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}"""

SAMPLE_BIRTHDAY = ("facts", "birth_date")


def documents() -> Iterator[tuple[str, str]]:
    """(name, document) for every document the connector can send, every variant included.

    The bulk queries are sent as strings inside ``BULK_RUN`` and validated by Shopify then; they
    are listed here so they are validated too.
    """
    for birthday in (None, SAMPLE_BIRTHDAY):
        suffix = "+birthday" if birthday else ""
        yield f"customers_page{suffix}", customers_page(birthday)
        yield f"bulk_customers{suffix}", bulk_customers(birthday)
    yield "orders_page", ORDERS_PAGE_QUERY
    yield "order_lines", ORDER_LINES_QUERY
    yield "bulk_orders", BULK_ORDERS
    for name in (
        "BULK_RUN", "BULK_STATUS", "SHOP", "METAFIELDS_SET", "METAFIELDS_DELETE", "TAGS_ADD", "TAGS_REMOVE",
        "DISCOUNT_BASIC_CREATE", "DISCOUNT_FREE_SHIPPING_CREATE", "WEBHOOK_SUBSCRIBE",
    ):
        yield name.lower(), globals()[name]
