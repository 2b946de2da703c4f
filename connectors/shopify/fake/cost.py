"""Shopify's query cost and leaky bucket, as documented for the Admin GraphQL API.

Cost: a scalar or enum field costs 0, an object 1, a connection 2 plus its items; a list of
objects (``nodes``/``edges`` of a connection, or a plain list) costs its items. The *requested*
cost multiplies by ``first``/``last``; the *actual* cost counts what came back. A mutation
costs 10. A query may not request more than 1,000 points.

Bucket: per app and shop, ``maximumAvailable`` points restoring at ``restoreRate`` per second.
A call is refused THROTTLED when its requested cost is more than is available; otherwise the
requested cost is taken and the difference with the actual cost given back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
)
from graphql.execution.values import get_argument_values

MAX_QUERY_COST = 1000
MUTATION_COST = 10
PLANS = {  # plan → (maximumAvailable, restoreRate)
    "standard": (2000, 100),
    "advanced": (4000, 200),
    "plus": (20000, 1000),
    "enterprise": (40000, 2000),
}


def _fields(schema: GraphQLSchema, parent: Any, selection_set: SelectionSetNode | None,
            fragments: dict[str, Any]):
    """(field node, parent type) of a selection set, fragments expanded."""
    if selection_set is None:
        return
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection, parent
        elif isinstance(selection, InlineFragmentNode):
            inner = (schema.get_type(selection.type_condition.name.value)
                     if selection.type_condition else parent)
            yield from _fields(schema, inner, selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            inner = schema.get_type(fragment.type_condition.name.value)
            yield from _fields(schema, inner, fragment.selection_set, fragments)


def selection_cost(schema: GraphQLSchema, parent: Any, selection_set: SelectionSetNode | None,
                   fragments: dict[str, Any], variables: Any, data: Any = None,
                   actual: bool = False, items: int = 1) -> int:
    """Cost of a selection set; ``items`` is the enclosing connection's page size."""
    total = 0
    for node, parent_type in _fields(schema, parent, selection_set, fragments):
        name = node.name.value
        if name.startswith("__") or not hasattr(parent_type, "fields"):
            continue
        definition = parent_type.fields[name]
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            continue
        key = node.alias.value if node.alias else name
        value = data.get(key) if isinstance(data, dict) else None
        args = get_argument_values(definition, node, variables)
        connection = named.name.endswith("Connection")
        page = args.get("first") or args.get("last") or 0
        if is_list_type(get_nullable_type(definition.type)):
            if actual:
                total += sum(1 + selection_cost(schema, named, node.selection_set, fragments,
                                                variables, item, True) for item in value or ())
            else:
                count = page or items
                total += count * (1 + selection_cost(schema, named, node.selection_set,
                                                     fragments, variables))
        else:
            if actual and value is None:
                continue
            total += (2 if connection else 1) + selection_cost(
                schema, named, node.selection_set, fragments, variables, value, actual,
                items=page if connection else 1,
            )
    return total


def operation_cost(schema: GraphQLSchema, operation: OperationDefinitionNode,
                   fragments: dict[str, Any], variables: Any, data: Any = None,
                   actual: bool = False) -> int:
    if operation.operation == OperationType.MUTATION:
        return MUTATION_COST * len(operation.selection_set.selections)
    return selection_cost(schema, schema.query_type, operation.selection_set, fragments,
                          variables, data, actual)


@dataclass
class LeakyBucket:
    maximum: float
    restore_rate: float
    available: float = -1.0
    at: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.available < 0:
            self.available = self.maximum

    def _level(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.at) * self.restore_rate)

    def take(self, cost: int) -> bool:
        with self.lock:
            now = time.monotonic()
            level = self._level(now)
            if cost > level:
                self.available, self.at = level, now
                return False
            self.available, self.at = level - cost, now
            return True

    def give_back(self, points: int) -> None:
        with self.lock:
            now = time.monotonic()
            self.available, self.at = min(self.maximum, self._level(now) + points), now

    def drain(self) -> None:
        """Empty the bucket (a test's way of making the next call throttle)."""
        with self.lock:
            self.available, self.at = 0.0, time.monotonic()

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {"maximumAvailable": self.maximum,
                    "currentlyAvailable": int(self._level(time.monotonic())),
                    "restoreRate": self.restore_rate}
