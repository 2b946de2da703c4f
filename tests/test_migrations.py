"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import integration.models  # noqa: F401
from integration.migrate import MIGRATIONS, alembic_config, current_heads


def test_models_and_migrations_agree(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_database_is_at_every_head(engine):
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert current_heads(engine) == set(script.get_heads())
    assert MIGRATIONS.is_dir()
