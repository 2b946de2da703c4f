"""Reading a bulk operation's JSONL result as a stream of (object, children) pairs.

Without ``groupObjects`` Shopify writes every object on its own line; a nested connection's items
follow their parent and name it in ``__parentId``. Reading line by line and holding only the
current parent and its children keeps memory flat whatever the size of the shop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from connectors.sdk import ApiError


def join_children(lines: Iterable[bytes | str]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Yield each top-level object with its child objects, in file order."""
    parent: dict[str, Any] | None = None
    children: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        item = orjson.loads(raw)
        parent_id = item.pop("__parentId", None)
        if parent_id is None:
            if parent is not None:
                yield parent, children
            parent, children = item, []
        elif parent is not None and parent_id == parent.get("id"):
            children.append(item)
        else:
            raise ApiError(
                f"bulk result line {number}: child of {parent_id} does not follow its parent"
            )
    if parent is not None:
        yield parent, children
