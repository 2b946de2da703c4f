"""Primary keys handed out before insert, for rows created by the thousand.

When the ORM must learn a new row's id from the database it sends ``INSERT … RETURNING``, which
it batches into very large statements that the PostgreSQL driver re-parses in Python on every
batch. Knowing the ids up front turns those inserts into plain ``executemany`` calls, and lets
children (ledger entries, order lines) name their parent without waiting for a flush.

PostgreSQL: ids come from the table's own sequence, so they never collide with other writers.
SQLite: the write transaction (``BEGIN IMMEDIATE``) holds the database lock, so the next id is
the table's maximum plus what this transaction already handed out.
"""

from __future__ import annotations

from sqlalchemy import event, text
from sqlmodel import Session, SQLModel

_NEXT = "sadakat.next_ids"
_SQLITE_TOP = "sadakat.sqlite_top"
BLOCK = 256  # ids fetched from a PostgreSQL sequence per round trip


def next_id(session: Session, model: type[SQLModel]) -> int:
    table = model.__tablename__
    pool: list[int] = session.info.setdefault(_NEXT, {}).setdefault(table, [])
    if not pool:
        pool.extend(_fetch(session, table))
    return pool.pop(0)


def _fetch(session: Session, table: str) -> list[int]:
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table, "n": BLOCK},
        )
        return [row[0] for row in rows]
    top = session.execute(text(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')).scalar_one()
    handed = session.info.setdefault(_SQLITE_TOP, {})
    start = max(top, handed.get(table, 0)) + 1
    handed[table] = start + BLOCK - 1
    return list(range(start, start + BLOCK))


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    # Unused SQLite ids would collide with the next writer's; sequence values are just skipped.
    session.info.pop(_NEXT, None)
    session.info.pop(_SQLITE_TOP, None)
