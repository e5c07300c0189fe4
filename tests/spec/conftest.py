"""Spec test fixtures: the reference workflow, compiled once per session."""

from __future__ import annotations

from typing import Any

import pytest

from tests.payroute_docs import compile_text, reference_text


@pytest.fixture(scope="session")
def reference() -> Any:
    """The reference workflow of LANGUAGE.md, compiled."""
    return compile_text(reference_text())
