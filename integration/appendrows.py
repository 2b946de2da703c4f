"""Append-only rows written in bulk: ledger entries, order lines, refunds.

These rows are never updated and nothing reads them back in the transaction that writes them
except through ``flush_rows`` (balances that must include them). Building them as plain objects
and inserting them with one ``executemany`` per table at each flush is several times faster than
tracking each in the ORM's unit of work, which is what lets a sync page or a webhook batch apply
thousands of orders per second.

Rows name their parents (customer, order) as objects, because a parent created in the same
transaction has no id until the ORM flushes it; ids are read when the rows are inserted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import event
from sqlmodel import Session, SQLModel

_ROWS = "sadakat.append_rows"


def append_row(
    session: Session,
    model: type[SQLModel],
    values: dict[str, Any],
    *,
    obj: Any = None,
    **parents: SQLModel | None,
) -> None:
    """Queue a row of ``model`` for insertion. ``parents`` maps a foreign-key prefix to its
    parent object (``customer=c`` fills ``customer_id`` with ``c.id`` at insert time); ``obj``
    is an unsaved object standing for the row, handed to the model's ``before_insert`` hooks."""
    session.info.setdefault(_ROWS, []).append((model, values, obj, parents))


def queued_rows(
    session: Session, model: type[SQLModel]
) -> Iterator[tuple[dict[str, Any], dict[str, SQLModel | None]]]:
    """``(values, parents)`` of the rows of ``model`` queued and not inserted yet: what a read
    of the table would miss without a flush."""
    for queued_model, values, _obj, parents in session.info.get(_ROWS, ()):
        if queued_model is model:
            yield values, parents


def flush_rows(session: Session) -> None:
    """Flush the ORM (so parents have ids), then insert every queued row."""
    if not session.info.get(_ROWS):
        return
    session.flush()
    _insert_queued(session)


def _insert_queued(session: Session) -> None:
    queued = session.info.pop(_ROWS, None)
    if not queued:
        return
    by_table: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for model, values, obj, parents in queued:
        for prefix, parent in parents.items():
            values[f"{prefix}_id"] = parent.id if parent is not None else None
        for hook in _BEFORE_INSERT.get(model, ()):
            hook(obj, values)
        by_table[model.__table__].append(values)
    connection = session.connection()
    for table, rows in by_table.items():
        connection.execute(table.insert(), rows)


_BEFORE_INSERT: dict[type, list] = defaultdict(list)


def before_insert(model: type[SQLModel]):
    """Register ``fn(row, values)`` to finish a row's values once parent ids are known."""

    def register(fn):
        _BEFORE_INSERT[model].append(fn)
        return fn

    return register


@event.listens_for(Session, "after_flush_postexec")
def _after_flush(session: Session, _context) -> None:
    _insert_queued(session)


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    flush_rows(session)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_ROWS, None)
