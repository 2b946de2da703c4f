"""What the fake knows from Klaviyo's own OpenAPI spec: request body schemas and rate limits.

The spec is OpenAPI 3.0, whose ``nullable: true`` is not JSON Schema; it is rewritten to
``type: [t, "null"]`` once at load so a JSON Schema validator can check bodies with every ``$ref``
resolved against the spec's own components. ``fastjsonschema`` compiles each operation's schema
to Python on first use: a 10,000-profile bulk import is checked in ~0.1 s instead of ~3 s.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from collections.abc import Callable
from typing import Any

import fastjsonschema

SPEC_PATH = Path(__file__).resolve().parent.parent / "spec" / "stable.json"


@dataclass(frozen=True)
class RateLimit:
    burst_per_second: int
    steady_per_minute: int


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # as the spec writes it, e.g. /api/lists/{id}/relationships/profiles
    rate_limit: RateLimit
    body_schema: dict[str, Any] | None  # JSON Schema of the request body, components included

    @property
    def has_body(self) -> bool:
        return self.body_schema is not None

    def validator(self) -> Callable[[Any], Any]:
        return _compiled(self.operation_id, self.method, self.path)


def _nullable_to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "type" in node:
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        elif "$ref" in node:
            node = {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}], **node}
    return node


def _rate(text: str) -> int:
    number, _, _unit = text.partition("/")
    return int(number)


@cache
def load() -> dict[tuple[str, str], Operation]:
    """Every operation of the spec, keyed by (METHOD, spec path)."""
    spec = json.loads(SPEC_PATH.read_text())
    components = _nullable_to_json_schema(spec["components"])
    operations: dict[tuple[str, str], Operation] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            limit = op.get("x-klaviyo-ratelimit", {"burst": "10/s", "steady": "150/m"})
            body = op.get("requestBody", {}).get("content", {})
            schema = next(iter(body.values()), {}).get("schema") if body else None
            body_schema = None
            if schema is not None:
                body_schema = {**_nullable_to_json_schema(schema), "components": components}
            operations[(method.upper(), path)] = Operation(
                op["operationId"], method.upper(), path,
                RateLimit(_rate(limit["burst"]), _rate(limit["steady"])), body_schema,
            )
    return operations


def _pattern(path: str) -> re.Pattern[str]:
    named = re.sub(r"\{([^}]+)\}", lambda m: f"(?P<{m.group(1).replace('-', '_')}>[^/]+)", path)
    return re.compile(f"^{named}/?$")


@cache
def _patterns() -> list[tuple[re.Pattern[str], Operation]]:
    # Literal paths before templated ones, so /api/lists/{id} never shadows a fixed path.
    ops = sorted(load().values(), key=lambda op: (op.path.count("{"), -len(op.path)))
    return [(_pattern(op.path), op) for op in ops]


def match(method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
    for pattern, op in _patterns():
        if op.method != method:
            continue
        found = pattern.match(path)
        if found:
            return op, found.groupdict()
    return None


@cache
def _compiled(operation_id: str, method: str, path: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(load()[(method, path)].body_schema)


def body_errors(op: Operation, body: Any) -> list[tuple[str, str]]:
    """(JSON pointer, message) for the first way ``body`` breaks the operation's schema."""
    if op.body_schema is None:
        return []
    try:
        op.validator()(body)
    except fastjsonschema.JsonSchemaValueException as error:
        pointer = "/" + "/".join(error.path[1:])  # path[0] is fastjsonschema's name for the root
        return [(pointer, error.message[:300])]
    return []
