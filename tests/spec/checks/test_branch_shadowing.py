"""`branch_shadowed` and `branch_never_true`: exact at boundaries, never wrong.

COND-2: `when` lines are tried in order and the first true one wins.
COND-4: a comparison reading an empty fact is unknown, so a project fact that
may be empty never makes a line "always true".
COND-10: `>` and `>=` are different at the boundary; money has cents, so
`> $100.00` and `>= $100.01` accept exactly the same amounts.

The properties compare the checker with a brute-force oracle: a small
three-valued evaluator over every region of the values the lines mention.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.load import load_workflow

BIG = 10**9
BASE_DATE = dt.date(2025, 1, 1)
EMPTY = None

#: fact -> (kind, may be empty)
FACTS = {
    "disbursement_amount": ("money", False),
    "invoice_count": ("integer", False),
    "project.office": ("string", True),
    "project.start_date": ("date", True),
}
STRINGS = ["Denver", "Boulder", "Austin"]


def workflow(*conditions: str) -> str:
    lines = "\n".join(f'        when {c} -> "{"Approved" if i % 2 else "Rejected"}"'
                      for i, c in enumerate(conditions))
    return f'''workflow "Shadowing" {{
    tool: payments
    manager: role "Workflow Manager"
    start: "Route"

    condition "Route" {{
{lines}
        otherwise -> "Approved"
    }}

    end "Approved" success {{ }}
    end "Rejected" failure {{ }}
}}
'''


def branch_codes(*conditions: str) -> dict[int, str]:
    """{branch index: code} of the branch diagnostics of a workflow."""
    loaded = load_workflow(workflow(*conditions), "shadow.flow")
    assert loaded.config is not None
    out = {}
    for d in loaded.diagnostics:
        assert d.code in ("branch_shadowed", "branch_never_true"), (d.code, d.message)
        out[d.path[3]] = d.code  # ("steps", 0, "branches", k, "when")
    return out


# ---------------------------------------------------------------- examples


@pytest.mark.parametrize("first, second, shadowed", [
    ("disbursement_amount > $100", "disbursement_amount > $200", True),
    ("disbursement_amount > $100.00", "disbursement_amount >= $100.01", True),
    ("disbursement_amount >= $100.01", "disbursement_amount > $100.00", True),
    ("disbursement_amount > $100.00", "disbursement_amount >= $100.00", False),
    ("disbursement_amount >= $100.00", "disbursement_amount == $100.00", True),
    ("disbursement_amount > $100.00", "disbursement_amount == $100.00", False),
    ("disbursement_amount < $100.00", "disbursement_amount <= $99.99", True),
    ("$100.00 < disbursement_amount", "disbursement_amount > $150.00", True),
    ("disbursement_amount > $100 and disbursement_amount < $200", "disbursement_amount == $150", True),
    ("disbursement_amount > $100 and disbursement_amount < $200", "disbursement_amount == $200", False),
    ("invoice_count > 2", "invoice_count >= 3", True),
    ("invoice_count > 2", "invoice_count >= 2", False),
    ("project.start_date >= 2024-01-01", "project.start_date > 2024-06-30", True),
    ("project.start_date > 2024-01-01", "project.start_date == 2024-01-01", False),
    ('project.office in ["Denver", "Boulder"]', 'project.office == "Denver"', True),
    ('project.office in ["Denver", "Boulder"]', 'project.office == "Austin"', False),
    ('project.office != "Denver"', 'project.office == "Austin"', True),
    ('project.office != "Denver"', 'project.office in ["Denver", "Austin"]', False),
    ('project.office == "Denver"', 'project.office == "Denver" and invoice_count > 3', True),
    ("disbursement_amount > $100", "disbursement_amount > $200 or invoice_count > 3", False),
    ("disbursement_amount >= $0", "invoice_count > 3", True),  # always true: money is never negative
    ("invoice_count >= 0 or disbursement_amount > $5", 'project.office == "Denver"', True),
    # COND-4: a project fact may be empty, so this is not always true.
    ('project.office == "Denver" or project.office != "Denver"', "invoice_count > 3", False),
    ("not (disbursement_amount <= $100)", "disbursement_amount > $150", True),
    ("disbursement_amount > highest_invoice_amount", "disbursement_amount > $150", False),
])
def test_shadowing_examples(first: str, second: str, shadowed: bool) -> None:
    """COND-2, COND-10: exact boundaries for money, integers, dates and strings."""
    codes = branch_codes(first, second)
    assert codes.get(1) == ("branch_shadowed" if shadowed else None)
    assert 0 not in codes


def test_identical_condition_is_shadowed() -> None:
    cond = 'project.office in ["Denver"] and project.start_date < 2020-01-01'
    assert branch_codes(cond, cond) == {1: "branch_shadowed"}


def test_union_of_earlier_lines_shadows() -> None:
    codes = branch_codes("invoice_count < 5", "invoice_count > 5", "invoice_count != 5",
                         "invoice_count != 4")
    assert codes == {2: "branch_shadowed"}


@pytest.mark.parametrize("cond", [
    "invoice_count < 0",
    "disbursement_amount < $0",
    "disbursement_amount > $10 and disbursement_amount < $5",
    'project.office in []',
    'project.office == "Denver" and project.office == "Austin"',
    "not (highest_invoice_amount >= $0)",
])
def test_never_true(cond: str) -> None:
    assert branch_codes(cond) == {0: "branch_never_true"}


def test_lines_with_errors_are_not_analysed() -> None:
    """No cascades: an unknown fact or a type error is reported, and nothing more."""
    loaded = load_workflow(workflow("disbursment_amount > $5", "disbursment_amount > $5",
                                    "invoice_count > $5", "invoice_count > $6"), "x.flow")
    assert [d.code for d in loaded.diagnostics] == \
        ["name_unknown_fact", "name_unknown_fact", "type_mismatch", "type_mismatch"]


# ---------------------------------------------------------------- thresholds

OPS = [">", ">=", "<", "<=", "==", "!="]


def _holds(op: str, v: int, t: int) -> bool:
    return {">": v > t, ">=": v >= t, "<": v < t, "<=": v <= t, "==": v == t, "!=": v != t}[op]


def _money(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(OPS), st.integers(0, 400), st.sampled_from(OPS), st.integers(0, 400))
def test_generated_money_thresholds(op1: str, t1: int, op2: str, t2: int) -> None:
    """The later line is reported iff every amount it accepts (cents, never negative)
    is accepted by the earlier one; a line no amount satisfies is `branch_never_true`."""
    amounts = list(range(0, 403)) + [BIG]
    later = [v for v in amounts if _holds(op2, v, t2)]
    expected = {}
    if not later:
        expected[1] = "branch_never_true"
    elif all(_holds(op1, v, t1) for v in later):
        expected[1] = "branch_shadowed"
    if not any(_holds(op1, v, t1) for v in amounts):
        expected[0] = "branch_never_true"
    got = branch_codes(f"disbursement_amount {op1} {_money(t1)}", f"disbursement_amount {op2} {_money(t2)}")
    assert got == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50))
def test_generated_interval_conjunctions(lo1: int, hi1: int, lo2: int, hi2: int) -> None:
    """`and` of two comparisons on one fact: warning iff the later range is inside the earlier one."""
    first = f"invoice_count >= {lo1} and invoice_count < {hi1}"
    second = f"invoice_count > {lo2} and invoice_count <= {hi2}"
    a = set(range(lo1, hi1))
    b = set(range(lo2 + 1, hi2 + 1))
    expected = {}
    if not a:
        expected[0] = "branch_never_true"
    if not b:
        expected[1] = "branch_never_true"
    elif b <= a:
        expected[1] = "branch_shadowed"
    assert branch_codes(first, second) == expected


# ---------------------------------------------------------------- random expressions

_T = st.integers(0, 6)


@st.composite
def atoms(draw: st.DrawFn, facts: list[str]) -> tuple:
    fact = draw(st.sampled_from(facts))
    kind = FACTS[fact][0]
    if kind == "string":
        if draw(st.booleans()):
            return ("in", fact, tuple(draw(st.lists(st.sampled_from(STRINGS), max_size=3, unique=True))))
        return ("cmp", fact, draw(st.sampled_from(["==", "!="])), draw(st.sampled_from(STRINGS)),
                False)
    return ("cmp", fact, draw(st.sampled_from(OPS)), draw(_T), draw(st.booleans()))


def expressions(facts: list[str]) -> st.SearchStrategy[tuple]:
    return st.recursive(
        atoms(facts),
        lambda inner: st.one_of(
            st.tuples(st.just("and"), inner, inner),
            st.tuples(st.just("or"), inner, inner),
            st.tuples(st.just("not"), inner),
        ),
        max_leaves=4,
    )


def _literal(fact: str, value: object) -> str:
    kind = FACTS[fact][0]
    if kind == "money":
        return _money(int(value))  # type: ignore[arg-type]
    if kind == "date":
        return (BASE_DATE + dt.timedelta(days=int(value))).isoformat()  # type: ignore[arg-type]
    if kind == "string":
        return f'"{value}"'
    return str(value)


_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}


def render(e: tuple) -> str:
    if e[0] == "in":
        return f"{e[1]} in [{', '.join(f'{s!r}'.replace(chr(39), chr(34)) for s in e[2])}]"
    if e[0] == "cmp":
        _, fact, op, value, flipped = e
        if flipped:
            return f"{_literal(fact, value)} {_FLIP[op]} {fact}"
        return f"{fact} {op} {_literal(fact, value)}"
    if e[0] == "not":
        return f"not ({render(e[1])})"
    return f"({render(e[1])}) {e[0]} ({render(e[2])})"


def evaluate(e: tuple, env: dict[str, object]) -> bool | None:
    """Three-valued (COND-4): None is unknown."""
    if e[0] in ("in", "cmp"):
        v = env[e[1]]
        if v is EMPTY:
            return None
        if e[0] == "in":
            return v in e[2]
        return _holds(e[2], v, e[3]) if not isinstance(v, str) else (v == e[3]) == (e[2] == "==")
    if e[0] == "not":
        r = evaluate(e[1], env)
        return None if r is None else not r
    a, b = evaluate(e[1], env), evaluate(e[2], env)
    if e[0] == "and":
        return False if a is False or b is False else (None if None in (a, b) else True)
    return True if a is True or b is True else (None if None in (a, b) else False)


def environments(facts: list[str], exprs: list[tuple]) -> list[dict[str, object]]:
    """One point in every region the literals cut each fact's values into."""
    axes = []
    for fact in facts:
        kind, may_be_empty = FACTS[fact]
        if kind == "string":
            values: list[object] = STRINGS + ["Elsewhere"]
        else:
            ts = {t for ex in exprs for t in _thresholds(ex, fact)}
            values = sorted({0, BIG} | {x for t in ts for x in (t - 1, t, t + 1)})
            if kind in ("money", "integer"):
                values = [v for v in values if v >= 0]  # never negative
            else:
                values = [-BIG] + values
        if may_be_empty:
            values = values + [EMPTY]
        axes.append(values)
    return [dict(zip(facts, combo)) for combo in itertools.product(*axes)]


def _thresholds(e: tuple, fact: str) -> list[int]:
    if e[0] == "cmp":
        return [e[3]] if e[1] == fact and not isinstance(e[3], str) else []
    if e[0] == "in":
        return []
    return [t for sub in e[1:] for t in _thresholds(sub, fact)]


FACT_POOLS = [["disbursement_amount"], ["invoice_count"], ["project.office"], ["project.start_date"],
              ["disbursement_amount", "project.office"], ["invoice_count", "project.start_date"],
              ["disbursement_amount", "invoice_count"]]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_generated_expressions_against_oracle(data: st.DataObject) -> None:
    """Sound always: a reported line really is dead. Complete for lines on one fact."""
    facts = data.draw(st.sampled_from(FACT_POOLS))
    exprs = data.draw(st.lists(expressions(facts), min_size=1, max_size=4))
    envs = environments(facts, exprs)
    got = branch_codes(*(render(e) for e in exprs))
    for k, e in enumerate(exprs):
        true_in = [env for env in envs if evaluate(e, env) is True]
        dead = all(any(evaluate(a, env) is True for a in exprs[:k]) for env in true_in)
        if got.get(k) == "branch_never_true":
            assert not true_in, render(e)
        elif got.get(k) == "branch_shadowed":
            assert dead, render(e)  # (a line that is never true is dead too)
        elif len(facts) == 1:
            # One fact: the analysis is exact, so nothing dead may be missed.
            assert not (true_in and dead), f"missed: {render(e)} after {[render(a) for a in exprs[:k]]}"
            assert true_in, f"missed never-true: {render(e)}"
