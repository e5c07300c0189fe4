"""Alembic: an empty database upgraded to head matches the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from engine.store.db import make_engine
from engine.store.migrate import current_heads, upgrade
from engine.store.tables import Base


def test_upgrade_empty_database_to_head_matches_models(database_url: str) -> None:
    upgrade(database_url)
    assert current_heads(database_url) == ["0001"]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert current_heads(database_url) == ["0001"]
