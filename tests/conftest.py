"""Test fixtures: a real database, SQLite or PostgreSQL, built by the real migrations.

``SADAKAT_TEST_DATABASE`` picks the backend: unset or ``sqlite`` uses a file in a temporary
folder; a ``postgresql+psycopg://...`` URL names a server on which a throw-away database is
created for this run and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from integration.accounts import create_account
from integration.db import make_engine
from integration.migrate import upgrade
from integration.models import Account
from integration.runtime import Runtime
from integration.settings import Settings, generate_key
from integration.crypto import SecretBox
from tests.databases import throwaway_database

TEST_DATABASE = os.environ.get("SADAKAT_TEST_DATABASE", "sqlite")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    if TEST_DATABASE == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'sadakat.db'}"
    else:
        with throwaway_database(TEST_DATABASE) as url:
            yield url


@pytest.fixture(scope="session")
def migrated_engine(database_url) -> Iterator[Engine]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(migrated_engine) -> Engine:
    """The session-wide migrated database; tests isolate themselves by creating fresh accounts."""
    return migrated_engine


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def account(session) -> Account:
    account = create_account(session, f"Shop {uuid.uuid4().hex[:6]}")
    session.commit()
    return account


@pytest.fixture(scope="session")
def settings(database_url) -> Settings:
    return Settings.model_validate(
        {
            "database": {"url": database_url},
            "security": {"secret_key": "test-secret-key-0123456789", "encryption_key": generate_key()},
        }
    )


@pytest.fixture
def runtime(settings, engine) -> Iterator[Runtime]:
    """What jobs run with (``run_job(runtime, ...)``), on the test database."""
    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture(scope="session")
def box(settings) -> SecretBox:
    return SecretBox(settings.security.encryption_key)


@pytest.fixture
def config_path(tmp_path, settings) -> str:
    """A config.toml naming the test database, for commands run through the CLI."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "{settings.database.url}"\n'
        f'[security]\nsecret_key = "{settings.security.secret_key}"\n'
        f'encryption_key = "{settings.security.encryption_key}"\n'
        '[logging]\nlevel = "ERROR"\n'
    )
    return str(path)


@pytest.fixture
def is_postgres() -> bool:
    return TEST_DATABASE != "sqlite"
