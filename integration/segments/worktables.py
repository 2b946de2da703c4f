"""The temporary tables one recompute works in: the customers it looks at, their order
statistics, and each segment's freshly evaluated members.

Temporary rather than shared tables: they belong to the recompute's connection and are dropped
when it ends, so nothing is logged, two accounts never see each other's rows, and the millions
of rows a full run writes leave no dead rows behind for the next (incremental) run to wade
through until a vacuum comes by. PostgreSQL's autovacuum never analyzes temporary tables, so
``analyze`` is called after each is filled: the planner then knows 10,000 changed customers are
few and looks their orders up by index instead of scanning every order.

Only ``segment_changed`` has a key: the others are read whole by hash joins, and a B-tree filled
in random order would thrash PostgreSQL's small temporary buffer pool (``temp_buffers``, 8 MB)
on the million rows of a full run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import BigInteger, Column, Float, Integer, MetaData, Table, text
from sqlalchemy.schema import CreateTable, DropTable
from sqlmodel import Session

_METADATA = MetaData()

CHANGED = Table(
    "segment_changed", _METADATA,
    Column("customer_id", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
)
"""The customers an incremental run re-evaluates (empty in a full run)."""

STATS = Table(
    "segment_stats", _METADATA,
    Column("customer_id", BigInteger, nullable=False),
    Column("orders", Integer, nullable=False),
    Column("spend", Float, nullable=False),
    Column("last_order_days", Float, nullable=False),
    Column("first_order_days", Float, nullable=False),
    Column("discounted_orders", Integer, nullable=False),
    prefixes=["TEMPORARY"],
)
"""Counted-order figures of the buyers looked at: one aggregation over the orders per run."""

FRESH = Table(
    "segment_fresh", _METADATA,
    Column("segment_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    prefixes=["TEMPORARY"],
)
"""Members as evaluated now, diffed against ``segment_member``."""

_TABLES = (CHANGED, STATS, FRESH)


@contextmanager
def work_tables(session: Session) -> Iterator[None]:
    """Create the work tables for the block and drop them after it (a failed run's rollback
    drops them too: DDL is transactional on both databases)."""
    connection = session.connection()
    for table in _TABLES:
        connection.execute(DropTable(table, if_exists=True))
        connection.execute(CreateTable(table))
    yield
    for table in _TABLES:
        connection.execute(DropTable(table))


def analyze(session: Session, *tables: Table | str) -> None:
    """Fresh planner statistics on PostgreSQL for tables just filled in this transaction (SQLite
    plans these joins well without them)."""
    if session.get_bind().dialect.name == "postgresql":
        names = ", ".join(t if isinstance(t, str) else t.name for t in tables)
        session.execute(text(f"ANALYZE {names}"))
