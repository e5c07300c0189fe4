"""The pure wings type-check strictly: ``mypy engine/spec engine/runtime`` exits 0.

pyproject.toml's ``[tool.mypy]`` makes that run strict, and it checks what the
wings import with them (engine.diagnostics, .errors, .money; schemas); the
root vocabulary is checked on its own as well, engine.text with it.
.ci/run runs the same command before pytest; this test makes ``pytest`` alone
catch a regression.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_configuration_is_strict() -> None:
    """A run that passes because strictness was switched off would prove nothing."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["strict"] is True
    assert config["python_version"] == "3.11"
    assert not config.get("ignore_missing_imports"), "only per-module overrides, for libraries without types"
    assert "ignore_errors" not in config and "follow_imports" not in config
    for override in config.get("overrides", []):
        assert set(override) <= {"module", "ignore_missing_imports"}, override


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None,
                    reason="mypy is not installed: `pip install -e '.[test]'` brings it")
@pytest.mark.parametrize("paths", [
    # what .ci/run runs
    ("engine/spec", "engine/runtime"),
    # the root vocabulary the wings share, engine.text included (the wings do not import it)
    ("engine/diagnostics.py", "engine/errors.py", "engine/money.py", "engine/text.py"),
], ids=["wings", "vocabulary"])
def test_mypy_strict_passes(paths: tuple[str, ...]) -> None:
    result = subprocess.run([sys.executable, "-m", "mypy", *paths],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found"), result.stdout
