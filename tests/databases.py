"""A fresh database for a test run or a benchmark: a SQLite file in a temporary folder, or a
database created on a PostgreSQL server and dropped afterwards (the server's own databases are
untouched)."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def throwaway_database(server: str) -> Iterator[str]:
    """Yield the URL of a new, empty database: ``server`` is ``sqlite`` or a PostgreSQL URL."""
    if server == "sqlite":
        with tempfile.TemporaryDirectory(prefix="sadakat-bench-") as folder:
            yield f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    name = f"sadakat_throwaway_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
