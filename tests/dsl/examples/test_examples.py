"""The example workflows in ``templates_examples/``: they check clean, their
cases pass through ``payroute test``, and every threshold is tested at its edges.

Rules covered through the examples' cases: COND-10 (`>` vs `>=` at exactly
$100,000.00: ``reference`` and ``reference_at_or_above``), COND-6..COND-9 (one
condition per fact in ``money_facts``: the aggregate, the largest payment and
not the amount due, the largest retainage release with $0.00 when none,
``invoice_count``), STEP-4 (``executive_all``: `requires: all`, one reject
decides), STEP-8 (business days), ROLL-1 and COND-3/COND-4 (``office_routing``:
routing by office, an empty office never matches), COND-2 (first true `when`
wins), GEN-2 (amounts stay strings in cases).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dsl.cases import read_cases
from dsl.load import load_workflow_file
from engine.spec.compiler import compile_workflow
from engine.spec.evaluator import evaluate
from engine.spec.facts import compute_facts
from engine.spec.model import Compare, ConditionStep, DateLit, FactRef, InList, IntLit, Logical, MoneyLit, Not

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "templates_examples"
LANGUAGE_MD = ROOT.parent / "shared" / "LANGUAGE.md"
REFERENCE_COPY = ROOT / "tests" / "golden" / "language_md_reference.flow"
NAMES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())


def test_at_least_the_five_required_examples_exist():
    assert {"reference", "reference_at_or_above", "money_facts", "executive_all",
            "office_routing"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_folder_has_workflow_cases_and_one_line_readme(name):
    folder = EXAMPLES / name
    assert (folder / "workflow.flow").is_file() and (folder / "cases.yaml").is_file()
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert readme.endswith("\n") and readme.count("\n") == 1 and len(readme) > 20


def test_reference_is_the_language_md_code_block_byte_for_byte():
    """COND-10: the reference workflow keeps its `>` exactly as LANGUAGE.md writes it.

    tests/golden/language_md_reference.flow is the code block of LANGUAGE.md,
    kept in the repository so this test runs in any clone; the next test
    checks that copy against shared/LANGUAGE.md wherever shared/ sits beside
    the repository (CI, every session)."""
    assert (EXAMPLES / "reference" / "workflow.flow").read_bytes() == REFERENCE_COPY.read_bytes()


@pytest.mark.skipif(not LANGUAGE_MD.is_file(), reason="shared/LANGUAGE.md is not beside this clone")
def test_the_kept_copy_is_still_the_language_md_code_block():
    text = LANGUAGE_MD.read_text(encoding="utf-8")
    block = re.search(r"## The reference workflow.*?```\n(.*?)```", text, re.S)
    assert block is not None
    assert REFERENCE_COPY.read_bytes() == block.group(1).encode("utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_example_passes_check_strict(cli, name):
    res = cli("check", "--strict", str(EXAMPLES / name / "workflow.flow"))
    assert res.code == 0, res.out
    assert "no problems" in res.out


@pytest.mark.parametrize("name", NAMES)
def test_example_is_in_canonical_format(cli, name):
    res = cli("fmt", "--check", str(EXAMPLES / name / "workflow.flow"))
    assert res.code == 0, res.out + res.err


@pytest.mark.parametrize("name", NAMES)
def test_example_cases_pass_through_the_cli(cli, name):
    res = cli("test", str(EXAMPLES / name))
    assert res.code == 0, res.out + res.err
    assert " 0 failed" in res.out and "FAIL" not in res.out
    assert re.search(r"overall (\d+)/\1 100\.0%", res.out), "every example covers all its elements"


def test_all_examples_by_default_with_full_coverage(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    res = cli("test", "--threshold", "100")
    assert res.code == 0, res.out + res.err
    for name in NAMES:
        assert f"templates_examples/{name} — " in res.out
    assert re.search(r"^\d+ cases: (\d+) passed, 0 failed", res.out, re.M)


# ---------------------------------------------------------------- boundaries

def _thresholds(expr: object) -> list[tuple[str, object]]:
    """(fact, literal value) of every ordered comparison of a fact with a literal."""
    if isinstance(expr, Logical):
        return [t for a in expr.args for t in _thresholds(a)]
    if isinstance(expr, Not):
        return _thresholds(expr.arg)
    if isinstance(expr, InList) or not isinstance(expr, Compare):
        return []
    sides = (expr.left, expr.right)
    fact = next((s.fact for s in sides if isinstance(s, FactRef)), None)
    lit = next((s for s in sides if not isinstance(s, FactRef)), None)
    if fact is None or lit is None or expr.op in ("==", "!="):
        return []
    if isinstance(lit, MoneyLit):
        return [(fact, Decimal(lit.money))]
    if isinstance(lit, IntLit):
        return [(fact, lit.integer)]
    if isinstance(lit, DateLit):
        return [(fact, date.fromisoformat(lit.date))]
    return []


def _edges(value: object) -> set[object]:
    """T-0.01, T, T+0.01 for money; T-1, T, T+1 for counts; the day before and after for dates."""
    if isinstance(value, Decimal):
        step: object = Decimal("0.01")
    elif isinstance(value, date):
        step = timedelta(days=1)
    else:
        step = 1
    return {value - step, value, value + step}  # type: ignore[operator]


@pytest.mark.parametrize("name", NAMES)
def test_every_threshold_has_cases_at_its_edges(name):
    """COND-10: each threshold T is exercised at T-0.01, T and T+0.01 by cases whose
    route reaches the condition step that tests it (facts computed as the engine does)."""
    folder = EXAMPLES / name
    holder = {}

    def load(path):
        holder["loaded"] = load_workflow_file(path)
        return holder["loaded"].config

    case_file = read_cases(folder, folder / "cases.yaml", (folder / "cases.yaml").read_text(), load)
    config = holder["loaded"].config
    compiled = compile_workflow(config)
    seen: dict[str, list[dict]] = {}
    for case in case_file.cases:
        facts = compute_facts(case.disbursement)
        route = evaluate(compiled, facts, case.answers, case.default_answer)
        for step in set(route.path):
            seen.setdefault(step, []).append(facts)

    thresholds = [(step.name, fact, value) for step in config.steps if isinstance(step, ConditionStep)
                  for b in step.branches for fact, value in _thresholds(b.when)]
    assert thresholds, "every example has at least one threshold"
    for step, fact, value in thresholds:
        reached = {facts.get(fact) for facts in seen.get(step, [])}
        missing = _edges(value) - reached
        assert not missing, f"{name}: `{step}` tests {fact} against {value}; no case reaches it with {missing}"
