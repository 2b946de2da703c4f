"""Engines and transactions for the two supported databases.

SQLite is the embedded default (one file, WAL); PostgreSQL is the scale-out choice. The only places
where the two differ are here: how a write transaction takes its lock and which pragmas a
connection gets.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, create_engine

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit keys.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite has no time zones, the code always has one."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Sadakat stores aware UTC datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Money(TypeDecorator[Decimal]):
    """Decimal money with 4 places (enough for every ISO 4217 currency)."""

    impl = Numeric(18, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        # On SQLite, Numeric is stored as REAL; asdecimal keeps the Python side Decimal and the
        # quantize below removes float noise on the way out.
        return dialect.type_descriptor(Numeric(18, 4, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value).quantize(Decimal("0.0001"))
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value).quantize(Decimal("0.0001"))


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, echo: bool = False, *, receiver: bool = False) -> Engine:
    """The process's engine; ``receiver=True`` builds the webhook receiver's own PostgreSQL pool.

    The receiver sends one kind of statement, an insert answered within Shopify's five seconds:
    its pool skips the pre-ping (a round trip per request; the receiver retries a statement
    whose connection the server dropped instead) and lets psycopg prepare the insert.
    """
    if url.startswith("sqlite"):
        engine = create_engine(
            url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
        )
        _configure_sqlite(engine)
        return engine
    if receiver:
        return create_engine(url, echo=echo, pool_size=5, max_overflow=10)
    # No server-side prepared statements: psycopg would prepare a batch's ``IN (...)`` lookup
    # after five runs, and PostgreSQL's generic plan for it, made while a newly filled table had
    # no statistics yet (a first sync; autovacuum off), filtered every row against the whole list:
    # 164 ms instead of 3 ms per 500 orders at 20,000 orders, growing with the table.
    return create_engine(
        url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20,
        connect_args={"prepare_threshold": None},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE is ours to send.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_sqlite(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "sqlite"


def upsert(session: Session, model: Any, rows: Sequence[dict[str, Any]], keys: Sequence[str],
           update: Sequence[str]) -> None:
    """Insert ``rows``; a row whose ``keys`` exist already updates its ``update`` columns. Both
    databases say it the same way (``ON CONFLICT ... DO UPDATE``), with their own insert."""
    if not rows:
        return
    insert = (sqlite_insert if is_sqlite(session) else pg_insert)(model)
    statement = insert.on_conflict_do_update(
        index_elements=list(keys), set_={name: insert.excluded[name] for name in update})
    session.execute(statement, list(rows))


@contextlib.contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds the database's write lock from its first statement.

    On SQLite that is ``BEGIN IMMEDIATE`` (two writers never both read, then both write); on
    PostgreSQL the callers lock the rows they guard with ``SELECT ... FOR UPDATE``.
    """
    if engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    with Session(engine, expire_on_commit=False) as session:
        with session.begin():
            yield session


@contextlib.contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
