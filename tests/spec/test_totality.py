"""The evaluator is total on valid workflows, and matches a plain reference semantics (COND-2..COND-4).

Workflows are generated as models: every non-end step has a route to a later
step and the last step is an end, so an end is always reachable and condition
steps never loop — the shape the checks accept. Facts are drawn with empty
values too. The oracle below is a deliberately naive recursive evaluator.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.spec.compiler import WorkflowCompileError, compile_workflow
from engine.spec.evaluator import Router, evaluate
from engine.spec.model import (
    Answer,
    Branch,
    Compare,
    ConditionStep,
    DateLit,
    EndStep,
    FactRef,
    InList,
    IntLit,
    ListLit,
    Logical,
    MoneyLit,
    Not,
    Party,
    ResponseStep,
    StringLit,
    WorkflowConfig,
)

MONEY_FACTS = ["disbursement_amount", "highest_invoice_amount", "highest_retainage_release"]
OFFICES = ["Denver", "Boulder", "Austin"]
ANSWERS = ["Approve", "Reject", "Return"]

money_values = st.integers(0, 300).map(lambda n: Decimal(n).scaleb(-2) * 1000)
dates = st.dates(date(2020, 1, 1), date(2026, 12, 31))


def comparisons() -> st.SearchStrategy[Any]:
    ops = st.sampled_from([">", ">=", "<", "<=", "==", "!="])
    money = st.builds(lambda f, op, v: Compare(op=op, left=FactRef(fact=f), right=MoneyLit(money=f"{v:.2f}")),
                      st.sampled_from(MONEY_FACTS), ops, money_values)
    reversed_money = st.builds(lambda f, op, v: Compare(op=op, left=MoneyLit(money=f"{v:.2f}"), right=FactRef(fact=f)),
                               st.sampled_from(MONEY_FACTS), ops, money_values)
    two_facts = st.builds(lambda a, b, op: Compare(op=op, left=FactRef(fact=a), right=FactRef(fact=b)),
                          st.sampled_from(MONEY_FACTS), st.sampled_from(MONEY_FACTS), ops)
    count = st.builds(lambda op, n: Compare(op=op, left=FactRef(fact="invoice_count"), right=IntLit(integer=n)),
                      ops, st.integers(0, 5))
    office = st.builds(lambda op, s: Compare(op=op, left=FactRef(fact="project.office"), right=StringLit(string=s)),
                       st.sampled_from(["==", "!="]), st.sampled_from(OFFICES))
    within = st.builds(lambda xs: InList(op="in", left=FactRef(fact="project.office"), right=ListLit(list=tuple(xs))),
                       st.lists(st.sampled_from(OFFICES), min_size=1, max_size=3, unique=True))
    started = st.builds(lambda op, d: Compare(op=op, left=FactRef(fact="project.start_date"),
                                              right=DateLit(date=d.isoformat())), ops, dates)
    return st.one_of(money, reversed_money, two_facts, count, office, within, started)


expressions = st.recursive(
    comparisons(),
    lambda inner: st.one_of(
        st.builds(lambda a: Not(op="not", arg=a), inner),
        st.builds(lambda op, xs: Logical(op=op, args=tuple(xs)), st.sampled_from(["and", "or"]),
                  st.lists(inner, min_size=2, max_size=3)),
    ),
    max_leaves=6,
)


@st.composite
def workflows(draw: st.DrawFn) -> WorkflowConfig:
    n = draw(st.integers(1, 7))
    names = [f"S{i}" for i in range(n)]
    steps: list[Any] = []
    for i in range(n):
        later = names[i + 1:]
        kind = "end" if not later else draw(st.sampled_from(["response", "condition", "end"]))
        if kind == "end":
            steps.append(EndStep(kind="end", name=names[i], outcome=draw(st.sampled_from(["success", "failure"]))))
        elif kind == "response":
            offered = draw(st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=3, unique=True))
            requires = "all" if "Approve" in offered and draw(st.booleans()) else "any"
            answers = [Answer(response=offered[0], target=draw(st.sampled_from(later)))]
            answers += [Answer(response=a, target=draw(st.sampled_from(names))) for a in offered[1:]]
            steps.append(ResponseStep(kind="response", name=names[i], requires=requires,
                                      assignees=(Party(kind="role", name="Controller"),), answers=tuple(answers)))
        else:
            branches = draw(st.lists(st.builds(Branch, when=expressions, target=st.sampled_from(later)),
                                     min_size=1, max_size=3))
            steps.append(ConditionStep(kind="condition", name=names[i], branches=tuple(branches),
                                       otherwise=draw(st.sampled_from(later))))
    return WorkflowConfig(name="Generated", manager=Party(kind="role", name="Workflow Manager"),
                          start=names[0], steps=tuple(steps))


facts_strategy = st.fixed_dictionaries({
    **{f: st.one_of(st.none(), money_values) for f in MONEY_FACTS},
    "invoice_count": st.one_of(st.none(), st.integers(0, 6)),
    "project.office": st.one_of(st.none(), st.sampled_from(OFFICES)),
    "project.start_date": st.one_of(st.none(), dates),
})


# ---------------------------------------------------------------- the oracle


def oracle(expr: Any, facts: dict[str, Any]) -> bool | None:
    """Naive three-valued semantics, written from COND-4's words."""
    def operand(node: Any) -> Any:
        if isinstance(node, FactRef):
            return facts.get(node.fact)
        if isinstance(node, MoneyLit):
            return Decimal(node.money)
        if isinstance(node, DateLit):
            return date.fromisoformat(node.date)
        return node.integer if isinstance(node, IntLit) else node.string

    if isinstance(expr, Compare):
        a, b = operand(expr.left), operand(expr.right)
        if a is None or b is None:
            return None
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b, "==": a == b, "!=": a != b}[expr.op]
    if isinstance(expr, InList):
        v = operand(expr.left)
        return None if v is None else v in expr.right.list
    if isinstance(expr, Not):
        r = oracle(expr.arg, facts)
        return None if r is None else not r
    results = [oracle(a, facts) for a in expr.args]
    if expr.op == "and":
        return False if False in results else None if None in results else True
    return True if True in results else None if None in results else False


@pytest.mark.rule("COND-2", "COND-3", "COND-4")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(workflows(), facts_strategy, st.dictionaries(st.sampled_from([f"S{i}" for i in range(7)]),
                                                    st.sampled_from(ANSWERS)),
       st.sampled_from(ANSWERS))
def test_evaluate_is_total_and_routes_as_the_rules_say(config: WorkflowConfig, facts: dict[str, Any],
                                                        answers: dict[str, str], default: str) -> None:
    try:
        compiled = compile_workflow(config)
    except WorkflowCompileError as exc:  # only what the checks call invalid is left out
        assume(False)
        raise AssertionError from exc
    route = evaluate(compiled, facts, answers, default)  # never raises
    assert 1 <= len(route.visits) <= len(config.steps)
    assert (route.end is None) == (route.stopped is not None)
    if route.end is not None:
        assert route.visits[-1].kind == "end" and route.path[-1] == route.end
    for visit in route.visits:
        step = config.step_named(visit.step)
        if isinstance(step, ConditionStep):
            expected = next((b.target for b in step.branches if oracle(b.when, facts) is True), step.otherwise)
            assert visit.target == expected  # COND-2..COND-4
            assert visit.condition is not None and visit.condition.lines()  # COND-13 renders
        elif isinstance(step, ResponseStep) and visit.target is not None:
            given_answer = answers.get(step.name, default)
            assert visit.answer == given_answer
            assert visit.target == next(a.target for a in step.answers if a.response == given_answer)
    names, end, outcome = Router(compiled, answers, default).summary(Router(compiled, answers, default)(facts))
    assert (tuple(names), end, outcome) == (route.path, route.end, route.outcome)
