"""Database fixtures for every suite that needs a real store (store, email,
concurrency, properties): one database per test, SQLite always and PostgreSQL
when ``PAYROUTE_TEST_DATABASE_URL`` is set (each test in its own schema,
dropped after). Loaded for the whole test tree by ``tests/conftest.py``."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from engine.services import Services
from engine.store.db import Database

PG_URL = os.environ.get("PAYROUTE_TEST_DATABASE_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="PAYROUTE_TEST_DATABASE_URL is not set (CI sets it to the machine's PostgreSQL)"))]


class Clock:
    """The injected clock: tests move time explicitly."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **kwargs: float) -> None:
        self.moment += timedelta(**kwargs)


def _pg_schema_url(schema: str) -> str:
    from engine.store.db import normalize_url

    url = normalize_url(PG_URL or "")
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    backend = request.param if hasattr(request, "param") else "sqlite"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'payroute.sqlite3'}"
        return
    from sqlalchemy import create_engine, text

    from engine.store.db import normalize_url

    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(PG_URL or ""))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc))  # a Monday, 09:00 New York


@pytest.fixture
def svc(database_url: str, clock: Clock) -> Iterator[Services]:
    db = Database(database_url)
    db.create_all()
    services = Services(db, clock=clock)
    yield services
    db.dispose()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_url", BACKENDS, indirect=True)
