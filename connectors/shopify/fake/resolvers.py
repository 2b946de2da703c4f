"""Hand-written resolvers for the Admin API fields the connector uses, over the fake ``Store``.

graphql-core executes the (already validated) documents with these as the root value: each root
field returns dicts in the Admin API's shape and graphql-core does the selecting, aliasing and
enum/scalar serialisation. Refusals follow Shopify: bad input in a mutation is a ``userErrors``
entry, a bad argument to a query is a top-level error.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from connectors.shopify.fake.store import iso

if TYPE_CHECKING:
    from connectors.shopify.fake.server import FakeShopify

MAX_PAGE = 250
MAX_METAFIELDS = 25
KEY = re.compile(r"^[a-zA-Z0-9_-]{2,64}$")
UPDATED = re.compile(r"^\s*updated_at:(>=|>)'?([^']+?)'?\s*$")
METAFIELD_TYPES = {"number_integer", "number_decimal", "date", "date_time", "boolean",
                   "single_line_text_field", "multi_line_text_field", "json",
                   "list.single_line_text_field"}
_ids = itertools.count(1)


def _encode_cursor(key: tuple[float, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def _decode_cursor(value: str) -> tuple[float, int]:
    try:
        stamp, index = json.loads(base64.urlsafe_b64decode(value.encode()))
        return float(stamp), int(index)
    except (ValueError, TypeError):
        raise GraphQLError(f"Invalid cursor: {value}") from None


def _since(query: str | None) -> float:
    if not query:
        return float("-inf")
    match = UPDATED.match(query)
    if not match:
        raise GraphQLError(f"The fake Shopify only understands updated_at:>'…' queries, got {query!r}")
    stamp = datetime.fromisoformat(match.group(2)).timestamp()
    return stamp - 1e-6 if match.group(1) == ">=" else stamp


def _check_value(kind: str, value: str) -> str | None:
    try:
        if kind == "number_integer":
            int(value)
        elif kind == "number_decimal":
            Decimal(value)
        elif kind == "date":
            date.fromisoformat(value)
        elif kind == "date_time":
            datetime.fromisoformat(value)
        elif kind == "boolean" and value not in ("true", "false"):
            return "Value must be true or false."
        elif kind in ("json", "list.single_line_text_field"):
            json.loads(value)
    except (ValueError, InvalidOperation):
        return f"Value must be a valid {kind}."
    if not value.strip():
        return "Value can't be blank."
    return None


class Root:
    """Query and mutation root fields (graphql-core calls ``field(info, **args)``)."""

    def __init__(self, fake: FakeShopify) -> None:
        self.fake = fake
        self.store = fake.store

    # -- queries ----------------------------------------------------------------------------

    def shop(self, _info: Any) -> dict[str, Any]:
        return {"name": "Sadakat Fake Shop", "myshopifyDomain": self.fake.shop,
                "currencyCode": self.store.currency, "email": "owner@example.com"}

    def _page(self, kind: str, args: dict[str, Any], render) -> dict[str, Any]:
        first = args.get("first")
        if first is None:
            raise GraphQLError("you must provide one of first or last")
        if first > MAX_PAGE:
            raise GraphQLError(f"The first argument may not exceed {MAX_PAGE}.")
        if args.get("sortKey") not in (None, "UPDATED_AT", "ID") or args.get("reverse"):
            raise GraphQLError("The fake Shopify pages by UPDATED_AT or ID, ascending")
        after = _decode_cursor(args["after"]) if args.get("after") else None
        keys = list(itertools.islice(
            self.store.updated_since(kind, _since(args.get("query")), after), first + 1))
        chunk = keys[:first]
        nodes = [render(index) for _, index in chunk]
        return {
            "nodes": nodes,
            "edges": [{"node": n, "cursor": _encode_cursor(k)} for n, k in zip(nodes, chunk)],
            "pageInfo": {"hasNextPage": len(keys) > first, "hasPreviousPage": after is not None,
                         "startCursor": _encode_cursor(chunk[0]) if chunk else None,
                         "endCursor": _encode_cursor(chunk[-1]) if chunk else None},
        }

    def customers(self, _info: Any, **args: Any) -> dict[str, Any]:
        return self._page("customers", args, self.store.customer_node)

    def orders(self, _info: Any, **args: Any) -> dict[str, Any]:
        return self._page("orders", args, self.store.order_node)

    def customer(self, _info: Any, id: str) -> dict[str, Any] | None:
        index = self.store.customer_index(id)
        return None if index is None else self.store.customer_node(index)

    def order(self, _info: Any, id: str) -> dict[str, Any] | None:
        index = self.store.order_index(id)
        return None if index is None else self.store.order_node(index)

    def bulkOperation(self, _info: Any, id: str) -> dict[str, Any] | None:
        return self.fake.bulk.status(id)

    # -- mutations --------------------------------------------------------------------------

    def bulkOperationRunQuery(self, _info: Any, query: str, groupObjects: bool, **_: Any):
        operation, errors = self.fake.bulk.start(query, groupObjects)
        return {"bulkOperation": operation, "userErrors": errors}

    def metafieldsSet(self, _info: Any, metafields: list[dict[str, Any]]) -> dict[str, Any]:
        if len(metafields) > MAX_METAFIELDS:
            return {"metafields": None, "userErrors": [{
                "field": ["metafields"], "code": "LESS_THAN_OR_EQUAL_TO", "elementIndex": None,
                "message": f"Exceeds the maximum input size of {MAX_METAFIELDS} metafields.",
            }]}
        errors, writes = [], []
        for n, entry in enumerate(metafields):
            index = self.store.customer_index(entry["ownerId"])
            namespace = entry.get("namespace") or "app"
            problem, field = None, "ownerId"
            if index is None:
                problem = "Owner does not exist."
            elif not KEY.match(entry["key"]):
                problem, field = "Key must be 2-64 characters of letters, digits, - and _.", "key"
            elif entry.get("type") not in METAFIELD_TYPES:
                problem, field = "Type can't be blank or is not a known type.", "type"
            else:
                problem, field = _check_value(entry["type"], entry["value"]), "value"
            if problem:
                errors.append({"field": ["metafields", str(n), field], "message": problem,
                               "code": "INVALID_VALUE" if field == "value" else "INVALID",
                               "elementIndex": n})
            else:
                writes.append(((index, namespace, entry["key"]), (entry["type"], entry["value"]),
                               entry["ownerId"]))
        if errors:  # atomic: nothing is saved
            return {"metafields": [], "userErrors": errors}
        with self.store.lock:
            for key, value, _owner in writes:
                self.store.metafields[key] = value
        return {"metafields": [self.store.metafield(k[0], k[1], k[2], owner)
                               for k, _, owner in writes], "userErrors": []}

    def metafieldsDelete(self, _info: Any, metafields: list[dict[str, Any]]) -> dict[str, Any]:
        deleted = []
        with self.store.lock:
            for entry in metafields:
                index = self.store.customer_index(entry["ownerId"])
                key = (index, entry["namespace"], entry["key"])
                found = self.store.metafields.pop(key, None)
                deleted.append({"ownerId": entry["ownerId"], "namespace": entry["namespace"],
                                "key": entry["key"]} if found else None)
        return {"deletedMetafields": deleted, "userErrors": []}

    def _tags(self, id: str, tags: list[str], add: bool) -> dict[str, Any]:
        index = self.store.customer_index(id)
        if index is None:
            return {"node": None, "userErrors": [{"field": ["id"], "message": "Resource not found"}]}
        names = [t.strip() for tag in tags for t in tag.split(",") if t.strip()]
        if any(len(t) > 255 for t in names):
            return {"node": None, "userErrors": [{"field": ["tags"],
                                                  "message": "Tags must be 255 characters or less"}]}
        with self.store.lock:
            current = self.store.tags.setdefault(index, set())
            current.update(names) if add else current.difference_update(names)
            self.store.touch_customer(index)
        return {"node": {"__typename": "Customer", "id": id}, "userErrors": []}

    def tagsAdd(self, _info: Any, id: str, tags: list[str]) -> dict[str, Any]:
        return self._tags(id, tags, True)

    def tagsRemove(self, _info: Any, id: str, tags: list[str]) -> dict[str, Any]:
        return self._tags(id, tags, False)

    def _discount(self, data: dict[str, Any], root: str, kind: str) -> dict[str, Any]:
        errors = []

        def refuse(field: str, message: str, code: str) -> None:
            errors.append({"field": [root, field], "message": message, "code": code,
                           "extraInfo": None})

        code = (data.get("code") or "").strip()
        if not code:
            refuse("code", "Code can't be blank", "BLANK")
        elif code.upper() in self.store.discounts:
            refuse("code", "Code must be unique. Please try a different code.", "TAKEN")
        customers = ((data.get("context") or {}).get("customers") or {}).get("add") or []
        if any(self.store.customer_index(c) is None for c in customers):
            refuse("context", "Customer does not exist", "INVALID")
        starts, ends = data.get("startsAt"), data.get("endsAt")
        if ends and starts and datetime.fromisoformat(str(ends)) <= datetime.fromisoformat(str(starts)):
            refuse("endsAt", "Ends at needs to be after starts_at", "INVALID")
        if kind == "basic":
            gets = data.get("customerGets") or {}
            value = gets.get("value") or {}
            if not value:
                refuse("customerGets", "Value can't be blank", "BLANK")
            percentage = value.get("percentage")
            if percentage is not None and not 0 <= percentage <= 1:
                refuse("customerGets", "Value must be between 0.0 and 1.0", "VALUE_OUTSIDE_RANGE")
            products = ((gets.get("items") or {}).get("products") or {}).get("productsToAdd") or []
            if any(not self.store.product_exists(p) for p in products):
                refuse("customerGets", "Product does not exist", "INVALID")
        if errors:
            return {"codeDiscountNode": None, "userErrors": errors}
        node_id = f"gid://shopify/DiscountCodeNode/{next(_ids)}"
        with self.store.lock:
            self.store.discounts[code.upper()] = {"id": node_id, "kind": kind, **data,
                                                  "createdAt": iso(self.store.now())}
        return {"codeDiscountNode": {"id": node_id}, "userErrors": []}

    def discountCodeBasicCreate(self, _info: Any, basicCodeDiscount: dict[str, Any]):
        return self._discount(basicCodeDiscount, "basicCodeDiscount", "basic")

    def discountCodeFreeShippingCreate(self, _info: Any, freeShippingCodeDiscount: dict[str, Any]):
        return self._discount(freeShippingCodeDiscount, "freeShippingCodeDiscount", "free_shipping")

    def webhookSubscriptionCreate(self, _info: Any, topic: str,
                                  webhookSubscription: dict[str, Any]) -> dict[str, Any]:
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        if not uri or not re.match(r"^https?://", uri):
            return {"webhookSubscription": None,
                    "userErrors": [{"field": ["webhookSubscription", "uri"],
                                    "message": "Address is invalid"}]}
        with self.store.lock:
            if any(w["topic"] == topic and w["uri"] == uri for w in self.store.webhooks):
                return {"webhookSubscription": None, "userErrors": [{
                    "field": ["webhookSubscription", "callbackUrl"],
                    "message": "Address for this topic has already been taken"}]}
            subscription = {"id": f"gid://shopify/WebhookSubscription/{next(_ids)}",
                            "topic": topic, "uri": uri, "callbackUrl": uri,
                            "format": webhookSubscription.get("format") or "JSON"}
            self.store.webhooks.append(subscription)
        return {"webhookSubscription": subscription, "userErrors": []}
