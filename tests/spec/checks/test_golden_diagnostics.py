"""Golden files for every diagnostic code: the full `payroute check` output, carets and hints.

Each case is ``tests/golden/diagnostics/<code>.flow`` (or ``.json`` for the
JSON front end's codes), with variants named ``<code>--<what>.flow``; the
expected output is ``<case>.txt`` next to it. A case shows its own code and
nothing else, which also pins the "no cascades of follow-on errors" rule of
issue 3: one mistake, one diagnostic.

``pytest tests/checks --update-goldens`` rewrites the ``.txt`` files; read
the diff before committing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.diagnostics import CODES

ROOT = Path(__file__).resolve().parents[3]
CASES = ROOT / "tests" / "golden" / "diagnostics"
JSON_FORMAT = CASES / "json-format"

_HEAD = re.compile(r"^(error|warning)\[([a-z_]+)\]: ", re.M)


def case_files() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.suffix in (".flow", ".json"))


def case_code(case: Path) -> str:
    return case.stem.split("--")[0]


def run_check(cli, monkeypatch, case: Path, *extra: str):
    """`payroute check` on a case, named relative to the repository root (stable output)."""
    monkeypatch.chdir(ROOT)
    return cli("check", *extra, str(case.relative_to(ROOT)))


def test_every_registered_code_has_a_golden_case() -> None:
    missing = [c for c in CODES
               if not (CASES / f"{c}.flow").exists() and not (CASES / f"{c}.json").exists()]
    assert missing == []
    for code in CODES:
        expected = CASES / f"{code}.txt"
        assert expected.exists(), f"missing golden output {expected.name}; run pytest --update-goldens"
        assert f"[{code}]" in expected.read_text(encoding="utf-8")


def test_every_golden_case_is_for_a_registered_code() -> None:
    strays = [p.name for p in case_files() if case_code(p) not in CODES]
    assert strays == []


@pytest.mark.parametrize("case", case_files(), ids=lambda p: p.stem)
def test_golden_case(case: Path, cli, golden, monkeypatch) -> None:
    code = case_code(case)
    result = run_check(cli, monkeypatch, case)
    golden.check(f"diagnostics/{case.stem}.txt", result.out)
    assert f"[{code}]" in result.out
    reported = {c for _sev, c in _HEAD.findall(result.out)}
    assert reported == {code}, "a golden case shows its own code only (no cascades)"
    assert result.code == (1 if CODES[code].severity == "error" else 0)
    assert result.err == ""


@pytest.mark.parametrize("case", [p for p in case_files() if p.suffix == ".flow"], ids=lambda p: p.stem)
def test_golden_output_has_carets_and_position(case: Path, cli, monkeypatch) -> None:
    """Every diagnostic names file:line:column and draws a caret under the source line."""
    result = run_check(cli, monkeypatch, case)
    rel = str(case.relative_to(ROOT))
    blocks = [b for b in result.out.split("\n\n") if _HEAD.match(b)]
    assert blocks
    for block in blocks:
        assert re.search(rf"--> {re.escape(rel)}:\d+:\d+", block), block
        assert re.search(r"^\s*\| +\^+$", block, re.M), block
        first = block.splitlines()[0]
        message = first.split("]: ", 1)[1]
        assert message == message.rstrip(".") and message[:1] == message[:1].lower(), first


def test_warnings_fail_only_with_strict(cli, monkeypatch) -> None:
    case = CASES / "graph_unreachable_step.flow"
    assert run_check(cli, monkeypatch, case).code == 0
    assert run_check(cli, monkeypatch, case, "--strict").code == 1


# ---------------------------------------------------------------- --format json

JSON_CASES = ["name_unknown_step.flow", "branch_shadowed.flow", "schema_violation.json",
              "workflow_missing_manager.flow"]
ENTRY_KEYS = {"code", "severity", "message", "file", "line", "column", "end_line", "end_column", "hint"}


@pytest.mark.parametrize("name", JSON_CASES)
def test_json_format_golden(name: str, cli, golden, monkeypatch) -> None:
    """The `--format json` contract of issue 3: result + located diagnostics, hint may be null."""
    case = CASES / name
    result = run_check(cli, monkeypatch, case, "--format", "json")
    golden.check(f"diagnostics/json-format/{case.stem}.json", result.out)
    body = json.loads(result.out)
    assert set(body) == {"result", "diagnostics"}
    code = case_code(case)
    assert body["result"] == ("error" if CODES[code].severity == "error" else "ok")
    assert [d["code"] for d in body["diagnostics"]] == [code]
    for entry in body["diagnostics"]:
        assert ENTRY_KEYS <= set(entry) <= ENTRY_KEYS | {"pointer"}
        assert entry["file"] == str(case.relative_to(ROOT))
        assert entry["line"] >= 1 and entry["column"] >= 1
        assert (entry["end_line"], entry["end_column"]) > (entry["line"], entry["column"])
        assert entry["hint"] is None or isinstance(entry["hint"], str)
