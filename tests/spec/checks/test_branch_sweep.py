"""The branch analysis is near-linear in the number of `when` lines (issue 8), with the same diagnostics.

Before, each line recomputed every earlier line's sets and their union, and
the culprits were found by removing lines one at a time: ~n^2.7, 15 s for an
800-line condition step in `payroute check` (and in publish). The sweep of
:mod:`engine.spec.checks.branches` keeps the earlier lines' union and the first
line covering each part of it, so a step costs about n log n.

Growth is measured by counting the Python lines executed in
``engine/checks`` (not wall-clock time, which a shared machine skews); the
diagnostics are compared with the former algorithm, kept here as the oracle.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.load import load_workflow
from engine.spec.checks import branches, run_checks
from engine.spec.checks.branches import _shadowed, always_true, guarantee, need, never_true
from engine.spec.checks.expressions import facts_in
from engine.spec.checks.types import expression_is_clean
from engine.spec.checks.valuesets import empty_like
from engine.spec.model import ConditionStep

CHECKS_DIR = str(Path(branches.__file__).resolve().parent)


# ---------------------------------------------------------------- the former algorithm (oracle)


def _former_fewest(n, covers):
    keep = [j for j, c in enumerate(covers) if not c.intersect(n).empty]
    for j in reversed(list(keep)):
        rest = [k for k in keep if k != j]
        union = empty_like(n)
        for k in rest:
            union = union.union(covers[k])
        if rest and n.subset_of(union):
            keep = rest
    return keep


def _former_shadowing(earlier, expr):
    for j, other in enumerate(earlier):
        if other == expr:
            return "same", [j]
    for j, other in enumerate(earlier):
        if always_true(other):
            return "always", [j]
    for f in facts_in(expr):
        n = need(expr, f)
        if n is None:
            continue
        covers = [guarantee(other, f) for other in earlier]
        union = empty_like(branches._domain(f))
        for c in covers:
            union = union.union(c)
        if n.subset_of(union):
            return "covered", _former_fewest(n, covers)
    return None


def former_branch_diagnostics(config) -> list[tuple[str, str, tuple]]:
    out = []
    for i, step in enumerate(config.steps):
        if not isinstance(step, ConditionStep):
            continue
        clean: list[object] = []
        for k, branch in enumerate(step.branches):
            expr = branch.when
            if not expression_is_clean(expr):
                continue
            path = ("steps", i, "branches", k, "when")
            if never_true(expr) is None:
                found = _former_shadowing(clean, expr)
                if found is not None:
                    d = _shadowed(found[0], [clean[j] for j in found[1]], path)
                    out.append((d.code, d.message, d.path))
            clean.append(expr)
    return out


# ---------------------------------------------------------------- workflows of many lines


def workflow(conditions: list[str]) -> str:
    lines = "\n".join(f'        when {c} -> "Approved"' for c in conditions)
    return f'''workflow "Many lines" {{
    tool: payments
    manager: role "Workflow Manager"
    start: "Route"

    condition "Route" {{
{lines}
        otherwise -> "Approved"
    }}

    end "Approved" success {{ }}
}}
'''


OFFICES = [f"Office {i}" for i in range(40)]


def condition(rnd: random.Random, family: str, i: int) -> str:
    if family == "random":  # the case: thresholds in any order
        op = rnd.choice([">", ">=", "<", "<=", "==", "!="])
        return f"disbursement_amount {op} ${rnd.randint(1, 10**6):,}.{rnd.randint(0, 99):02d}"
    if family == "ascending":  # every line after the first is shadowed by it
        return f"disbursement_amount > ${i + 1:,}.00"
    if family == "descending":  # no line is shadowed
        return f"disbursement_amount > ${10**6 - i:,}.00"
    if family == "points":  # disjoint values, then ranges that they cover
        return f"invoice_count == {i}" if rnd.random() < 0.7 else f"invoice_count <= {rnd.randint(0, i)}"
    if family == "strings":
        picked = ", ".join(f'"{o}"' for o in rnd.sample(OFFICES, rnd.randint(1, 4)))
        return rnd.choice([f"project.office in [{picked}]", f'project.office != "{rnd.choice(OFFICES)}"'])
    # "mixed": and/or over two facts
    a = f"disbursement_amount {rnd.choice(['>', '<='])} ${rnd.randint(1, 10**5):,}.00"
    b = f"invoice_count {rnd.choice(['>', '<'])} {rnd.randint(0, 100)}"
    return f"{a} {rnd.choice(['and', 'or'])} {b}"


FAMILIES = ["random", "ascending", "descending", "points", "strings", "mixed"]


def config_of(family: str, n: int, seed: int = 8):
    rnd = random.Random(seed)
    loaded = load_workflow(workflow([condition(rnd, family, i) for i in range(n)]), "many.flow")
    assert loaded.config is not None and not loaded.front_end_failed
    return loaded.config


class _Budget(Exception):
    pass


def executed_lines(config, budget: int) -> int:
    """Python lines executed inside engine/checks while every check runs on ``config``."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
            if count > budget:
                raise _Budget
        return local

    def tracer(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(CHECKS_DIR) else None

    sys.settrace(tracer)
    try:
        run_checks(config)
    finally:
        sys.settrace(None)
    return count


@pytest.mark.rule("COND-2")
@pytest.mark.parametrize("family", FAMILIES)
def test_the_branch_analysis_grows_near_linearly(family: str) -> None:
    """8x the lines costs at most ~13x the work (n log n is ~11.6x; n^2 would be 64x)."""
    small = executed_lines(config_of(family, 100), budget=10**7)
    try:
        large = executed_lines(config_of(family, 800), budget=small * 13)
    except _Budget:
        pytest.fail(f"{family}: 800 lines cost more than 13x the work of 100 lines ({small} lines executed)")
    assert large <= small * 13, (family, small, large)


# ---------------------------------------------------------------- same diagnostics as before


@pytest.mark.rule("COND-2", "COND-4", "COND-10")
@pytest.mark.parametrize("family", FAMILIES)
def test_the_sweep_reports_what_the_former_algorithm_reported(family: str) -> None:
    config = config_of(family, 120, seed=3)
    got = [(d.code, d.message, d.path) for d in run_checks(config) if d.code == "branch_shadowed"]
    assert got == former_branch_diagnostics(config)
    assert got or family == "descending"


_AMOUNTS = st.integers(0, 12).map(lambda n: f"${n}.00")


@st.composite
def conditions(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["money", "count", "office", "date", "and", "or", "not"]))
    if kind == "money":
        return f"disbursement_amount {draw(st.sampled_from(['>', '>=', '<', '<=', '==', '!=']))} {draw(_AMOUNTS)}"
    if kind == "count":
        return f"invoice_count {draw(st.sampled_from(['>', '>=', '<', '<=', '==', '!=']))} {draw(st.integers(0, 6))}"
    if kind == "date":
        return f"project.start_date {draw(st.sampled_from(['>', '<=', '==']))} 2025-01-0{draw(st.integers(1, 5))}"
    if kind == "office":
        names = draw(st.lists(st.sampled_from(["A", "B", "C", "D"]), max_size=3, unique=True))
        if draw(st.booleans()):
            return f"project.office in [{', '.join(chr(34) + n + chr(34) for n in names)}]"
        return f'project.office {draw(st.sampled_from(["==", "!="]))} "{draw(st.sampled_from(["A", "B", "C"]))}"'
    if kind == "not":
        return f"not ({draw(conditions())})"
    return f"({draw(conditions())}) {kind} ({draw(conditions())})"


@pytest.mark.rule("COND-2", "COND-4", "COND-10")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(conditions(), min_size=1, max_size=12))
def test_the_sweep_agrees_with_the_former_algorithm_on_generated_steps(conds: list[str]) -> None:
    loaded = load_workflow(workflow(conds), "gen.flow")
    assert loaded.config is not None
    got = [(d.code, d.message, d.path) for d in loaded.diagnostics if d.code == "branch_shadowed"]
    expected = former_branch_diagnostics(loaded.config)
    assert [(c, m, tuple(p)) for c, m, p in got] == expected
