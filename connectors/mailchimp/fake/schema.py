"""A small JSON-schema checker for the Swagger 2.0 body schemas in ``spec/request_bodies.json``.

It covers what those schemas use (type, required, enum, properties, additionalProperties,
items, maximum) and is stricter than JSON Schema in one way on purpose: an object schema that
lists ``properties`` and says nothing about ``additionalProperties`` refuses unknown keys, so a
misspelt field (``status_if_mew``) fails the tests instead of being silently ignored. It is a
few dozen lines instead of the ``jsonschema`` package because the fake checks every operation of
100,000-member batches and this stays fast.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


@cache
def body_schemas() -> dict[str, Any]:
    return json.loads(files("connectors.mailchimp.spec").joinpath("request_bodies.json").read_text())


def errors(value: Any, schema: dict[str, Any], where: str = "") -> list[dict[str, str]]:
    """Mailchimp-style ``errors`` entries (``field``, ``message``); empty when ``value`` fits."""
    kind = schema.get("type")
    if kind and not _is(value, kind):
        return [{"field": where, "message": f"Schema describes {kind}, {_name(value)} found instead"}]
    if "enum" in schema and value not in schema["enum"]:
        return [{"field": where, "message": f"Value must be one of {', '.join(map(str, schema['enum']))}"}]
    if "maximum" in schema and isinstance(value, (int, float)) and value > schema["maximum"]:
        return [{"field": where, "message": f"Must be at most {schema['maximum']}"}]
    found: list[dict[str, str]] = []
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append({"field": _join(where, name), "message": "Required field missing"})
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in props:
                found += errors(item, props[name], _join(where, name))
            elif isinstance(extra, dict):
                found += errors(item, extra, _join(where, name))
            elif props and extra is None:
                found.append({"field": _join(where, name), "message": "Unknown field"})
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found += errors(item, schema["items"], f"{where}[{index}]")
    return found


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES.get(kind, (object,)))


def _name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), type(value).__name__)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name
