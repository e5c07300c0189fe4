"""Concurrency fixtures: a real database shared by many threads.

Each test gets its own database — a SQLite file, and, when
``PAYROUTE_TEST_DATABASE_URL`` is set, a fresh PostgreSQL schema dropped
after the test (the per-test-schema approach of ``tests/store/conftest.py``).
Threads open their own :class:`engine.services.Services` on the URL, so each
has its own connection, as separate service processes would.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

PG_URL = os.environ.get("PAYROUTE_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="PAYROUTE_TEST_DATABASE_URL is not set (CI sets it to the machine's PostgreSQL)"))]

def _schema_url(base: str, schema: str) -> str:
    from engine.store.db import normalize_url

    url = normalize_url(base)
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for one test: SQLite file or a throw-away PostgreSQL schema."""
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'race.sqlite3'}"
        return
    from sqlalchemy import create_engine, text

    from engine.store.db import normalize_url

    schema = f"c_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(PG_URL or ""))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(PG_URL or "", schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", BACKENDS, indirect=True)
