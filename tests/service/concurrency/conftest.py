"""The race world fixture: every world a test builds is disposed after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .race import RaceWorld, WorldBuilder, build_race_world


@pytest.fixture
def race_world(database_url: str) -> Iterator[WorldBuilder]:
    """Builds race worlds on this test's database and disposes their engines after
    the test, so no pooled connection outlives it (an unclosed psycopg connection
    is a ResourceWarning, an error under ``filterwarnings = error``)."""
    built: list[RaceWorld] = []

    def build(*, reviewers: int, panel: int) -> RaceWorld:
        world = build_race_world(database_url, reviewers=reviewers, panel=panel)
        built.append(world)
        return world

    yield build
    for world in built:
        world.svc.db.dispose()
