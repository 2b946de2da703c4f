"""Building table rows without SQLModel's validating constructor, for hot paths.

SQLModel's ``__init__`` validates and routes every attribute through two layers of descriptors;
for rows the code itself fills from already-validated records that costs more than inserting
them. ``new_row`` makes the same object SQLAlchemy makes when it loads a row: instrumented state,
field defaults applied, no validation. Use it only with trusted, typed values.
"""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from pydantic_core import PydanticUndefined
from sqlalchemy.orm.attributes import set_attribute
from sqlmodel import SQLModel

T = TypeVar("T", bound=SQLModel)


@cache
def _defaults(model: type[SQLModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    plain, factories = {}, {}
    for name, info in model.model_fields.items():
        if info.default_factory is not None:
            factories[name] = info.default_factory
        elif info.default is not PydanticUndefined:
            plain[name] = info.default
    return plain, factories


def new_row(model: type[T], **values: Any) -> T:
    plain, factories = _defaults(model)
    obj = model.__mapper__.class_manager.new_instance()
    data = obj.__dict__
    data.update(plain)
    for name, factory in factories.items():
        if name not in values:
            data[name] = factory()
    data.update(values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    return obj


def set_fields(obj: SQLModel, **values: Any) -> None:
    """Assign columns of a row with SQLAlchemy's change tracking but without pydantic's
    per-assignment machinery, which dominates hot loops (each ``obj.x = v`` on a table model
    runs both)."""
    for name, value in values.items():
        set_attribute(obj, name, value)
