"""Shared fixtures: golden files and the CLI runner.

``pytest --update-goldens`` rewrites every golden file a test compares
against; review the diff before committing.
"""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest_plugins = ["tests.db_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = ROOT / "templates_examples"
#: The reference workflow, exactly as LANGUAGE.md writes it (`>` at $100,000.00, COND-10):
#: the one copy tests read (tests/dsl/examples checks it against LANGUAGE.md).
REFERENCE_FLOW = EXAMPLES / "reference" / "workflow.flow"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-goldens", action="store_true", default=False,
                     help="rewrite golden files instead of comparing against them")


@pytest.fixture(autouse=True)
def _private_check_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tools' check cache (dsl.check_cache) in a folder of this test run, not the user's home."""
    monkeypatch.setenv("PAYROUTE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "payroute-cache"))


@pytest.fixture(autouse=True)
def _development_audit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The INSECURE built-in audit key (engine/security/keys.py), asked for explicitly as the demo and
    benchmarks do; a test about key handling sets or removes the variables itself."""
    monkeypatch.setenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY", "1")
    monkeypatch.delenv("PAYROUTE_AUDIT_KEY", raising=False)
    monkeypatch.delenv("PAYROUTE_AUDIT_KEY_FILE", raising=False)


@dataclass
class Golden:
    update: bool

    def check(self, relpath: str, actual: str) -> None:
        """Compare ``actual`` with ``tests/golden/<relpath>`` (or rewrite it)."""
        path = GOLDEN / relpath
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        if not path.exists():
            pytest.fail(f"missing golden file {path.relative_to(ROOT)}; run pytest --update-goldens")
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"output differs from {path.relative_to(ROOT)}"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(update=bool(request.config.getoption("--update-goldens")))


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(*argv: str, stdin: str | None = None) -> CliResult:
    """Run ``payroute`` in-process through its public entry point."""
    from web.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse usage errors
                code = int(exc.code or 0)
    finally:
        sys.stdin = old_stdin
    return CliResult(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli
