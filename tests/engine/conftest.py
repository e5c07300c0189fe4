"""Engine test fixtures; puts this folder on sys.path so tests can ``import payroute_docs``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from payroute_docs import compile_text, reference_text  # noqa: E402


@pytest.fixture(scope="session")
def reference() -> Any:
    """The reference workflow of LANGUAGE.md, compiled."""
    return compile_text(reference_text())
