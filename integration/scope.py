"""Account-scoped reads: the only way the core loads tenant rows by id.

A row of another account is reported as missing, never returned, so an id guessed or leaked
across tenants leads nowhere.
"""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from integration.errors import NotFound

T = TypeVar("T", bound=SQLModel)
MAX_ID = 2**63 - 1  # ids are 64-bit on PostgreSQL


def get(session: Session, model: type[T], account_id: int, row_id: int, *, lock: bool = False) -> T:
    """Load ``model`` row ``row_id`` of ``account_id``; ``lock`` takes a row lock on PostgreSQL."""
    if not 0 < row_id <= MAX_ID:  # ids from URLs: out of the column's range is simply absent
        raise NotFound(f"{model.__name__.lower()} {row_id} not found")
    query = select(model).where(model.id == row_id, model.account_id == account_id)  # type: ignore[attr-defined]
    if lock:
        query = query.with_for_update()
    row = session.exec(query).first()
    if row is None:
        raise NotFound(f"{model.__name__.lower()} {row_id} not found")
    return row


def rows(model: type[T], account_id: int) -> SelectOfScalar[T]:
    """A SELECT of ``model`` already limited to one account; add filters, never remove this one."""
    return select(model).where(model.account_id == account_id)  # type: ignore[attr-defined]
