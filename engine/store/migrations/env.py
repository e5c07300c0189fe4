"""Alembic environment: the target metadata is engine.store.tables.Base."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, pool

from engine.store.db import make_engine
from engine.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    engine = make_engine(url) if url.startswith("sqlite") else make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            _run_on_sqlite(connection)
        else:
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=True, compare_type=True)
            with context.begin_transaction():
                context.run_migrations()
    engine.dispose()


def _run_on_sqlite(connection: Connection) -> None:
    """Batch mode rebuilds a SQLite table by copy, drop and rename, and with foreign keys
    enforced (engine.store.db turns them on) dropping a table that others reference
    (invoices, disbursements) fails. SQLite ignores the pragma inside a transaction, so
    enforcement goes off before one begins; every pending revision then runs in one
    transaction that commits only if every foreign key still resolves."""
    raw = connection.connection.driver_connection
    raw.execute("PRAGMA foreign_keys=OFF")
    try:
        with connection.begin():
            context.configure(connection=connection, target_metadata=target_metadata,
                              render_as_batch=True, compare_type=True)
            context.run_migrations()
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration left {len(broken)} dangling foreign keys, first: {broken[0]}")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
