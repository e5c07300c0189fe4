"""``payroute compile`` with the semantic checks: errors refuse, warnings pass."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import REFERENCE_FLOW

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = REFERENCE_FLOW


def test_a_workflow_with_errors_is_refused(cli, tmp_path: Path) -> None:
    src = REFERENCE.read_text(encoding="utf-8").replace('-> "CFO Review"', '-> "CFO Reveiw"')
    path = tmp_path / "typo.flow"
    path.write_text(src, encoding="utf-8")
    out = tmp_path / "typo.json"
    result = cli("compile", str(path), "-o", str(out))
    assert (result.code, result.out) == (1, "")
    assert "error[name_unknown_step]" in result.err
    assert f"--> {path}:" in result.err and "^" in result.err
    assert "not compiled" in result.err
    assert not out.exists()

def test_warnings_are_printed_but_the_document_is_written(cli, tmp_path: Path) -> None:
    """An unreachable step is a warning: compile still succeeds."""
    src = REFERENCE.read_text(encoding="utf-8").replace(
        '    end "Rejected" failure {',
        '    end "Never" failure {\n        status: "Rejected"\n    }\n\n    end "Rejected" failure {',
    )
    path = tmp_path / "warn.flow"
    path.write_text(src, encoding="utf-8")
    result = cli("compile", str(path))
    assert result.code == 0
    assert "warning[graph_unreachable_step]" in result.err
    assert json.loads(result.out)["steps"][-2]["name"] == "Never"
