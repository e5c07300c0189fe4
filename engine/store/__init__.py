"""Persistence: SQLAlchemy tables, the database handle, Alembic migrations.

SQLite (a file under the instance folder) is the embedded default;
PostgreSQL (``PAYROUTE_DATABASE_URL``) is the production store.
"""

__all__ = ["db", "migrate", "migrations", "tables", "types"]
