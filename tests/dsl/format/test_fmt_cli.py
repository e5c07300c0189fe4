"""``payroute fmt``: in place, ``--check``/``--diff`` for CI, stdin, JSON back to `.flow`, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REFERENCE_FLOW

HERE = Path(__file__).resolve().parent
REFERENCE = REFERENCE_FLOW.read_text(encoding="utf-8")
MESSY = REFERENCE.replace("    tool: payments\n", "  tool:payments\n").replace(
    'on "Reject" -> "Rejected"', 'on "Reject"->"Rejected"   ')


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    path = tmp_path / "messy.flow"
    path.write_text(MESSY, encoding="utf-8")
    return path


def test_fmt_rewrites_in_place(cli, messy: Path) -> None:
    result = cli("fmt", str(messy))
    assert (result.code, result.out) == (0, "")
    assert "reformatted" in result.err
    assert messy.read_text(encoding="utf-8") == REFERENCE
    again = cli("fmt", str(messy))
    assert (again.code, again.err) == (0, "")


def test_check_lists_files_that_would_change_and_changes_nothing(cli, messy: Path, tmp_path: Path) -> None:
    clean = tmp_path / "clean.flow"
    clean.write_text(REFERENCE, encoding="utf-8")
    result = cli("fmt", "--check", str(clean), str(messy))
    assert result.code == 1
    assert result.out == f"{messy}\n"
    assert "1 file would be reformatted" in result.err
    assert messy.read_text(encoding="utf-8") == MESSY
    assert cli("fmt", "--check", str(clean)).code == 0


def test_check_json_report(cli, messy: Path) -> None:
    result = cli("fmt", "--check", "--format", "json", str(messy))
    assert result.code == 1
    assert json.loads(result.out) == {"result": "changed", "changed": [str(messy)], "diagnostics": []}


def test_diff_prints_a_unified_diff_and_changes_nothing(cli, messy: Path) -> None:
    result = cli("fmt", "--diff", str(messy))
    assert result.code == 1
    assert result.out.startswith(f"--- {messy} (original)\n+++ {messy} (formatted)\n@@ ")
    assert "-  tool:payments\n+    tool: payments\n" in result.out
    assert messy.read_text(encoding="utf-8") == MESSY


def test_diff_of_a_canonical_file_is_empty(cli, tmp_path: Path) -> None:
    clean = tmp_path / "clean.flow"
    clean.write_text(REFERENCE, encoding="utf-8")
    assert (cli("fmt", "--diff", str(clean)).code, cli("fmt", "--diff", str(clean)).out) == (0, "")


def test_stdin_goes_to_stdout(cli) -> None:
    result = cli("fmt", "-", stdin=MESSY)
    assert (result.code, result.out) == (0, REFERENCE)
    assert cli("fmt", "--check", "-", stdin=MESSY).code == 1
    assert cli("fmt", "--check", "-", stdin=REFERENCE).code == 0


def test_a_json_config_is_printed_as_flow(cli, tmp_path: Path) -> None:
    """The compiled document formats back to the language; comments are not in JSON."""
    compiled = cli("compile", str(REFERENCE_FLOW))
    doc = tmp_path / "reference.json"
    doc.write_text(compiled.out, encoding="utf-8")
    result = cli("fmt", str(doc))
    assert result.code == 0
    assert result.out == REFERENCE.removeprefix("# Example Payments Workflow\n")
    assert doc.read_text(encoding="utf-8") == compiled.out
    assert cli("fmt", "--check", str(doc)).code == 2


@pytest.mark.parametrize(("source", "code"), [
    (REFERENCE.replace('on "Reject" -> "Rejected"', 'on "Reject" "Rejected"', 1), "syntax_error"),
    (REFERENCE.replace("    tool: payments\n", "    tool: payments\n    tool: payments\n"), "field_duplicate"),
], ids=["syntax", "setting-twice"])
def test_a_file_whose_front_end_failed_is_not_touched(cli, tmp_path: Path, source: str, code: str) -> None:
    path = tmp_path / "broken.flow"
    path.write_text(source, encoding="utf-8")
    result = cli("fmt", str(path))
    assert result.code == 1
    assert f"error[{code}]" in result.err
    assert f"--> {path}:" in result.err  # rendered with its location and caret
    assert "^" in result.err
    assert "Traceback" not in result.err
    assert path.read_text(encoding="utf-8") == source


def test_a_schema_breaking_json_config_is_refused(cli, tmp_path: Path) -> None:
    doc = tmp_path / "bad.json"
    doc.write_text('{"format_version": 1, "steps": []}', encoding="utf-8")
    result = cli("fmt", str(doc))
    assert (result.code, result.out) == (1, "")
    assert "error[schema_violation]" in result.err



def test_a_json_config_the_language_cannot_spell_is_refused_without_traceback(cli, tmp_path: Path) -> None:
    doc = tmp_path / "odd.json"
    doc.write_text(json.dumps({"format_version": 1, "name": "W", "tool": "Pay Ments"}), encoding="utf-8")
    result = cli("fmt", str(doc))
    assert result.code == 1
    assert "cannot be written as .flow" in result.err
    assert "Traceback" not in result.err


def test_a_missing_file_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("fmt", str(tmp_path / "nope.flow"))
    assert result.code == 2
    assert "nope.flow" in result.err
