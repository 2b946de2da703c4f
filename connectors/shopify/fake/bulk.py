"""Bulk operations of the fake Shopify: validate the query, export JSONL in the background.

Like Shopify, the query must be valid against the schema, have a connection at its root, at most
5 connections and at most 2 levels of connection nesting; without ``groupObjects`` each nested
connection's items are written as their own lines, after their parent, with ``__parentId``.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from graphql import (
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_named_type,
    get_nullable_type,
    is_list_type,
    parse,
    validate,
)
from graphql.execution.values import get_argument_values

from connectors.shopify.fake.store import iso

if TYPE_CHECKING:
    from connectors.shopify.fake.server import FakeShopify

MAX_CONNECTIONS = 5
MAX_DEPTH = 2
MAX_RUNNING = 5  # API 2026-01 and later
_ids = itertools.count(1)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _jsonl(value: dict[str, Any]) -> bytes:
    """One line of the result file."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)


class BulkOperations:
    def __init__(self, fake: FakeShopify) -> None:
        self.fake = fake
        self.operations: dict[str, dict[str, Any]] = {}
        self.files: dict[str, str] = {}
        self.directory = tempfile.mkdtemp(prefix="fake-shopify-bulk-")
        self.lock = threading.Lock()

    def status(self, operation_id: str) -> dict[str, Any] | None:
        with self.lock:
            operation = self.operations.get(operation_id)
            return dict(operation) if operation else None

    def _refuse(self, message: str) -> tuple[None, list[dict[str, Any]]]:
        return None, [{"field": ["query"], "message": message, "code": "INVALID"}]

    def start(self, query: str, group_objects: bool) -> tuple[dict[str, Any] | None, list]:
        schema = self.fake.schema
        try:
            document = parse(query)
        except GraphQLError as exc:
            return self._refuse(f"Invalid bulk query: {exc.message}")
        errors = validate(schema, document)
        if errors:
            return self._refuse("Invalid bulk query: " + "; ".join(e.message for e in errors))
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
            return self._refuse("Bulk queries must contain exactly one query operation.")
        roots = operations[0].selection_set.selections
        root = roots[0]
        if len(roots) != 1 or not isinstance(root, FieldNode) or root.name.value not in (
            "customers", "orders"
        ):
            return self._refuse("The fake Shopify exports customers or orders at the root.")
        connections, depth = _connections(schema, schema.query_type, operations[0].selection_set, 0)
        if connections > MAX_CONNECTIONS:
            return self._refuse(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections.")
        if depth > MAX_DEPTH:
            return self._refuse(f"Bulk queries cannot contain connections with a nesting depth greater than {MAX_DEPTH}.")
        with self.lock:
            running = sum(op["status"] in ("CREATED", "RUNNING") for op in self.operations.values())
            if running >= MAX_RUNNING:
                return None, [{"field": None, "code": "OPERATION_IN_PROGRESS",
                               "message": "Too many bulk query operations are in progress."}]
            operation_id = f"gid://shopify/BulkOperation/{next(_ids)}"
            operation = {
                "id": operation_id, "status": "CREATED", "errorCode": None,
                "createdAt": iso(self.fake.store.now()), "completedAt": None,
                "objectCount": "0", "rootObjectCount": "0", "fileSize": None,
                "url": None, "partialDataUrl": None, "query": query, "type": "QUERY",
            }
            self.operations[operation_id] = operation
            answer = dict(operation)  # as created: the export has not started yet
        thread = threading.Thread(target=self._run, args=(operation_id, root, group_objects),
                                  daemon=True, name="fake-shopify-bulk")
        thread.start()
        return answer, []

    def _set(self, operation_id: str, **changes: Any) -> None:
        with self.lock:
            self.operations[operation_id].update(changes)

    def _run(self, operation_id: str, root: FieldNode, group_objects: bool) -> None:
        store, schema = self.fake.store, self.fake.schema
        self._set(operation_id, status="RUNNING")
        name = operation_id.rsplit("/", 1)[-1]
        path = os.path.join(self.directory, f"{name}.jsonl")
        kind = root.name.value
        node_type = get_named_type(schema.query_type.fields[kind].type).fields["nodes"].type
        plan = compile_selection(get_named_type(node_type), _item_selection(root))
        count = store.customer_count if kind == "customers" else store.order_count
        render = store.customer_node if kind == "customers" else store.order_node
        objects = 0
        try:
            with open(path, "wb") as out:
                for index in range(count):
                    children: list[dict[str, Any]] = []
                    row = _project(plan, render(index), children, group_objects)
                    out.write(_jsonl(row))
                    for child in children:
                        out.write(_jsonl(child))
                    objects += 1 + len(children)
        except Exception:  # the real one reports INTERNAL_SERVER_ERROR, so do we
            self._set(operation_id, status="FAILED", errorCode="INTERNAL_SERVER_ERROR")
            raise
        self.files[name] = path
        self._set(
            operation_id, status="COMPLETED", completedAt=iso(store.now()),
            objectCount=str(objects), rootObjectCount=str(count),
            fileSize=str(os.path.getsize(path)),
            url=f"{self.fake.url}/bulk/{name}.jsonl" if count else None,
        )


def _item_selection(connection: FieldNode):
    """The selection applied to each item of a connection: ``nodes {…}`` or ``edges { node {…} }``."""
    for field in connection.selection_set.selections:
        if field.name.value == "nodes":
            return field.selection_set
        if field.name.value == "edges":
            for inner in field.selection_set.selections:
                if inner.name.value == "node":
                    return inner.selection_set
    raise GraphQLError("a bulk connection must select nodes or edges { node }")


def _connections(schema, parent, selection_set, depth: int) -> tuple[int, int]:
    count, deepest = 0, depth
    for field in selection_set.selections if selection_set else ():
        if not isinstance(field, FieldNode) or not hasattr(parent, "fields"):
            continue
        definition = parent.fields.get(field.name.value)
        if definition is None:
            continue
        named = get_named_type(definition.type)
        connection = named.name.endswith("Connection")
        inner_count, inner_depth = _connections(schema, named, field.selection_set,
                                                depth + (1 if connection else 0))
        count += inner_count + (1 if connection else 0)
        deepest = max(deepest, inner_depth)
    return count, deepest


LEAF, OBJECT, LIST, CONNECTION, TYPENAME = range(5)


def compile_selection(parent, selection_set) -> list[tuple]:
    """The selection as a flat plan (key, field, kind, args, sub-plan), worked out once per
    export so that writing half a million objects does not re-read the query each time."""
    plan = []
    for field in selection_set.selections:
        name = field.name.value
        key = field.alias.value if field.alias else name
        if name == "__typename":
            plan.append((key, name, TYPENAME, parent.name, None))
            continue
        definition = parent.fields[name]
        args = get_argument_values(definition, field, None) if field.arguments else None
        if field.selection_set is None:
            plan.append((key, name, LEAF, args, None))
            continue
        named = get_named_type(definition.type)
        if named.name.endswith("Connection"):
            item_type = get_named_type(named.fields["nodes"].type)
            plan.append((key, name, CONNECTION, args,
                         compile_selection(item_type, _item_selection(field))))
        elif is_list_type(get_nullable_type(definition.type)):
            plan.append((key, name, LIST, args, compile_selection(named, field.selection_set)))
        else:
            plan.append((key, name, OBJECT, args, compile_selection(named, field.selection_set)))
    return plan


def _project(plan: list[tuple], value: dict[str, Any], children: list, grouped: bool):
    out: dict[str, Any] = {}
    for key, name, kind, args, sub in plan:
        if kind == TYPENAME:
            out[key] = args
            continue
        raw = value.get(name)
        if callable(raw):
            raw = raw(None, **(args or {}))
        if kind == LEAF or raw is None:
            out[key] = raw
        elif kind == OBJECT:
            out[key] = _project(sub, raw, children, grouped)
        elif kind == LIST:
            out[key] = [_project(sub, item, children, grouped) for item in raw]
        else:
            items = []
            for item in raw["nodes"]:
                descendants: list[dict[str, Any]] = []  # written after their own parent
                row = _project(sub, item, descendants, grouped)
                if grouped:
                    items.append(row)
                else:
                    row["__parentId"] = value["id"]
                    children.append(row)
                children.extend(descendants)
            if grouped:
                out[key] = {"edges": [{"node": row} for row in items]}
    return out
