"""Fixtures for the HTTP service: an app on a fresh database and its test client."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from tests.conftest import EXAMPLES, REFERENCE_FLOW


@pytest.fixture
def make_app(tmp_path) -> Iterator[Any]:
    """``make_app(**config)``: an app in testing mode on a SQLite file of its own (or the given URL),
    its tables created (unless ``create_tables=False``)."""
    from web.app import create_app

    made = []

    def make(create_tables: bool = True, **config: Any) -> Any:
        settings = {"TESTING": True, "PAYROUTE_DATABASE_URL": f"sqlite:///{tmp_path / 'web.sqlite3'}", **config}
        app = create_app(settings)
        made.append(app)
        if create_tables:
            app.extensions["payroute"].db.create_all()
        return app

    yield make
    for app in made:
        app.extensions["payroute"].db.dispose()


def authorized(app: Any, email: str = "api@gc.example") -> Any:
    """A test client of ``app`` that sends a live API token of a new user on every request."""
    from engine.service import directory, tokens

    svc = app.extensions["payroute"]
    directory.create_user(svc, email, "API Client")
    secret = tokens.mint(svc, email, name="tests").secret
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {secret}"
    return client


@pytest.fixture
def client(make_app) -> Any:
    """A client with a valid bearer token."""
    return authorized(make_app())


@pytest.fixture(scope="session")
def reference_flow() -> str:
    return REFERENCE_FLOW.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def reference_disbursements() -> list[dict[str, Any]]:
    lines = (EXAMPLES / "reference" / "disbursements.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
