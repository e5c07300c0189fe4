"""``payroute fmt`` formats files that have semantic errors (only front-end failures block it)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import REFERENCE_FLOW

HERE = Path(__file__).resolve().parent
REFERENCE = REFERENCE_FLOW.read_text(encoding="utf-8")
MESSY = REFERENCE.replace("    tool: payments\n", "  tool:payments\n")


def test_semantic_errors_do_not_block_formatting(cli, tmp_path: Path) -> None:
    """An unknown step is the checker's business; fmt still tidies the file."""
    source = MESSY.replace('-> "CFO Review"', '-> "CFO Reveiw"')
    path = tmp_path / "typo.flow"
    path.write_text(source, encoding="utf-8")
    assert cli("check", str(path)).code == 1
    assert cli("fmt", str(path)).code == 0
    assert path.read_text(encoding="utf-8") == REFERENCE.replace('-> "CFO Review"', '-> "CFO Reveiw"')
