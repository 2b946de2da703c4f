"""The temporary tables one recompute works in: the customers it looks at, their order
statistics, and each segment's freshly evaluated members.

Temporary rather than shared tables: they belong to the recompute's connection and are dropped
when it ends, so nothing is logged, two accounts never see each other's rows, and the millions
of rows a full run writes leave no dead rows behind for the next (incremental) run to wade
through until a vacuum comes by. PostgreSQL's autovacuum never analyzes temporary tables, so
``analyze`` is called after each is filled: the planner then knows 10,000 changed customers are
few and looks their orders up by index instead of scanning every order.

Only ``segment_changed`` always has a key. PostgreSQL reads the others whole by hash joins, and
a B-tree filled in random order would thrash its small temporary buffer pool (``temp_buffers``,
8 MB) on the million rows of a full run; SQLite has no hash join and would scan them once per
row it anti-joins, so there they get an index.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, Table, text
from sqlalchemy.schema import CreateIndex, CreateTable, DropTable
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
_SQLITE_INDEXES = (Index("ix_segment_stats", STATS.c.customer_id),
                   Index("ix_segment_fresh", FRESH.c.segment_id, FRESH.c.customer_id))


@contextmanager
def work_tables(session: Session) -> Iterator[None]:
    """Create the work tables for the block and drop them after it (a failed run's rollback
    drops them too: DDL is transactional on both databases)."""
    connection = session.connection()
    for table in _TABLES:
        connection.execute(DropTable(table, if_exists=True))
        connection.execute(CreateTable(table))
    if connection.dialect.name == "sqlite":
        for index in _SQLITE_INDEXES:
            connection.execute(CreateIndex(index))
    yield
    for table in _TABLES:
        connection.execute(DropTable(table))


def analyze(session: Session, *tables: Table | str) -> None:
    """Fresh planner statistics for tables just filled in this transaction. SQLite, too, takes
    a table without statistics for a million rows, and would scan all orders to probe the
    changed customers rather than the other way round; ``analysis_limit`` keeps it a sample."""
    names = [t if isinstance(t, str) else t.name for t in tables]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"ANALYZE {', '.join(names)}"))
        return
    session.execute(text("PRAGMA analysis_limit = 1000"))
    for name in names:
        session.execute(text(f"ANALYZE {name}"))
