"""Branch analysis: a `when` line that can never be taken (COND-2, COND-4).

`when` lines are tried in order and the first true one wins, so a line is
dead when every disbursement that makes it true already made an earlier line
true. This module proves that in three ways and otherwise stays silent
(a warning must never be wrong; missing one is acceptable):

1. an earlier line has exactly the same condition;
2. an earlier line is always true;
3. value sets: for some fact ``f``, the line can only be true when ``f`` has
   a value in ``N`` (its *need*), and every value in ``N`` makes one of the
   earlier lines true (their *guarantees*).

Needs and guarantees are exact for comparisons of one fact with literals
(money, integers, dates: :mod:`.valuesets`) and for ``==``/``!=``/``in`` on
string facts, combined through ``and``, ``or`` and ``not``. Three-valued
logic (COND-4) is respected: a comparison is true only when its fact has a
value, so a need also says "the fact is not empty"; a guarantee holds only
for values, never for an empty fact; and only facts that always have a value
(COND-9) can make a condition always true.

Lines with an unknown fact, a bad literal or a type error are skipped: they
are reported already, and reasoning about their values would be guesswork.
"""

from __future__ import annotations

from typing import Iterable

from dsl.diagnostics import Diagnostic, make

from ..facts import FACTS, fact_type
from ..model import Compare, ConditionStep, DateLit, FactRef, InList, IntLit, Logical, MoneyLit, Not, StringLit
from ..model import WorkflowConfig
from .expressions import date_value, facts_in, render
from .types import expression_is_clean
from .valuesets import (
    FLIPPED, Intervals, Strings, ValueSet, compare_set, domain_of, empty_like, money_code,
)

COND2 = "`when` lines are tried in order and the first true one wins (COND-2)"


def _domain(fact: str) -> ValueSet:
    return domain_of(fact_type(fact) or "string")


def _literal_code(node: object) -> int | None:
    if isinstance(node, MoneyLit):
        return money_code(node.money)
    if isinstance(node, IntLit):
        return node.integer
    if isinstance(node, DateLit):
        return date_value(node.date)
    return None


def _atom(expr: object) -> tuple[str, ValueSet] | None:
    """``(fact, values that make it true)`` for one fact against literals."""
    if isinstance(expr, InList) and isinstance(expr.left, FactRef):
        return expr.left.fact, Strings(frozenset(expr.right.list)).intersect(_domain(expr.left.fact))
    if not isinstance(expr, Compare):
        return None
    left, op, right = expr.left, expr.op, expr.right
    if isinstance(right, FactRef) and not isinstance(left, FactRef):
        left, op, right = right, FLIPPED[op], left
    if not isinstance(left, FactRef) or isinstance(right, FactRef):
        return None
    domain = _domain(left.fact)
    if isinstance(right, StringLit):
        if not isinstance(domain, Strings) or op not in ("==", "!="):
            return None
        one = Strings(frozenset([right.string]))
        return left.fact, one if op == "==" else one.complement(domain)
    code = _literal_code(right)
    if code is None or not isinstance(domain, Intervals):
        return None
    return left.fact, compare_set(op, code, domain)


def exact(expr: object) -> tuple[str, ValueSet] | None:
    """For a condition on one fact only: ``(fact, S)``, true exactly when the fact has a value in S."""
    found = _atom(expr)
    if found is not None:
        return found
    if isinstance(expr, Not):
        inner = exact(expr.arg)
        if inner is None:
            return None
        fact, values = inner
        return fact, values.complement(_domain(fact))  # type: ignore[arg-type]
    if isinstance(expr, Logical) and expr.args:
        parts = [exact(a) for a in expr.args]
        if any(p is None for p in parts) or len({p[0] for p in parts if p}) != 1:
            return None
        fact = parts[0][0]  # type: ignore[index]
        values = parts[0][1]  # type: ignore[index]
        for _f, more in parts[1:]:  # type: ignore[misc]
            values = values.union(more) if expr.op == "or" else values.intersect(more)  # type: ignore[arg-type]
        return fact, values
    return None


def need(expr: object, fact: str) -> ValueSet | None:
    """S such that ``expr`` true implies ``fact`` has a value in S; None when it implies nothing."""
    ex = exact(expr)
    if ex is not None:
        return ex[1] if ex[0] == fact else None
    if isinstance(expr, Logical):
        sets = [need(a, fact) for a in expr.args]
        if expr.op == "and":
            known = [s for s in sets if s is not None]
            if not known:
                return None
            out = known[0]
            for s in known[1:]:
                out = out.intersect(s)  # type: ignore[arg-type]
            return out
        if any(s is None for s in sets) or not sets:
            return None
        out = sets[0]
        for s in sets[1:]:
            out = out.union(s)  # type: ignore[arg-type,union-attr]
        return out
    return None


def guarantee(expr: object, fact: str) -> ValueSet:
    """S such that ``fact`` having a value in S makes ``expr`` true, whatever the other facts."""
    domain = _domain(fact)
    ex = exact(expr)
    if ex is not None:
        if ex[0] == fact:
            return ex[1]
        return domain if always_true(expr) else empty_like(domain)
    if isinstance(expr, Logical) and expr.args:
        sets = [guarantee(a, fact) for a in expr.args]
        out = sets[0]
        for s in sets[1:]:
            out = out.union(s) if expr.op == "or" else out.intersect(s)  # type: ignore[arg-type]
        return out
    return empty_like(domain)


def always_true(expr: object) -> bool:
    """True for every disbursement: only facts that always have a value (COND-9) count."""
    ex = exact(expr)
    if ex is not None:
        fact, values = ex
        return fact in FACTS and _domain(fact).subset_of(values)  # type: ignore[arg-type]
    if isinstance(expr, Logical) and expr.args:
        if expr.op == "and":
            return all(always_true(a) for a in expr.args)
        if any(always_true(a) for a in expr.args):
            return True
        return any(f in FACTS and _domain(f).subset_of(guarantee(expr, f))  # type: ignore[arg-type]
                   for f in facts_in(expr))
    return False


def never_true(expr: object) -> str | None:
    """The fact no value of which makes ``expr`` true, if there is one."""
    for f in facts_in(expr):
        n = need(expr, f)
        if n is not None and n.empty:
            return f
    return None


def shadowing(earlier: list[object], expr: object) -> tuple[str, list[int]] | None:
    """Why ``expr`` can never win after ``earlier`` (all clean): a reason and the culprits."""
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
        union = empty_like(_domain(f))
        for c in covers:
            union = union.union(c)  # type: ignore[arg-type]
        if n.subset_of(union):  # type: ignore[arg-type]
            return "covered", _fewest(n, covers)
    return None


def _fewest(n: ValueSet, covers: list[ValueSet]) -> list[int]:
    """Earlier lines that together cover ``n``, dropping any the others make redundant."""
    keep = [j for j, c in enumerate(covers) if not c.intersect(n).empty]  # type: ignore[arg-type]
    for j in reversed(list(keep)):
        rest = [k for k in keep if k != j]
        union = empty_like(n)
        for k in rest:
            union = union.union(covers[k])  # type: ignore[arg-type]
        if rest and n.subset_of(union):  # type: ignore[arg-type]
            keep = rest
    return keep


def _quote(exprs: list[object]) -> str:
    return ", ".join(f"`{render(e)}`" for e in exprs)


def branch_shadowed(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """Both ``branch_never_true`` and ``branch_shadowed``, one condition step at a time."""
    for i, step in enumerate(config.steps):
        if not isinstance(step, ConditionStep):
            continue
        clean: list[object] = []
        for k, branch in enumerate(step.branches):
            expr = branch.when
            if not expression_is_clean(expr):
                continue
            path = ("steps", i, "branches", k, "when")
            dead_fact = never_true(expr)
            if dead_fact is not None:
                yield make(
                    "branch_never_true",
                    f"`when` condition can never be true: no value of `{dead_fact}` satisfies it",
                    path=path,
                    hint=_never_true_hint(expr, dead_fact),
                )
            else:
                found = shadowing(clean, expr)
                if found is not None:
                    yield _shadowed(found[0], [clean[j] for j in found[1]], path)
            clean.append(expr)


def _below_zero(expr: object, fact: str) -> bool:
    """Does ``expr`` ask for a money amount or count below zero?"""
    from .expressions import walk

    for node, _ in walk(expr, ()):
        if isinstance(node, Compare):
            left, op, right = node.left, node.op, node.right
            if isinstance(right, FactRef):
                left, op, right = right, FLIPPED[op], left
            code = _literal_code(right)
            if isinstance(left, FactRef) and left.fact == fact and code is not None \
                    and ((op == "<" and code <= 0) or (op in ("<=", "==") and code < 0)):
                return True
    return False


def _never_true_hint(expr: object, fact: str) -> str:
    if fact_type(fact) in ("money", "integer") and _below_zero(expr, fact):
        return f"`{fact}` is never below zero"
    if isinstance(expr, Logical) and expr.op == "and":
        return "no value passes every part of this `and`; check the operators and values, or did you mean `or`?"
    return "check the operators and values"


def _shadowed(reason: str, culprits: list[object], path: tuple[object, ...]) -> Diagnostic:
    if reason == "same":
        message = "`when` line can never be taken: the same condition is tested above"
        hint = f"{COND2}; remove this line or change its condition"
    elif reason == "always":
        message = f"`when` line can never be taken: `{render(culprits[0])}` above is always true"
        hint = f"{COND2}; narrow that condition or move this line above it"
    elif len(culprits) == 1:
        message = f"`when` line can never be taken: `{render(culprits[0])}` above takes every case it matches"
        hint = f"{COND2}; put the narrower condition first"
    else:
        message = f"`when` line can never be taken: the lines above ({_quote(culprits)}) take every case it matches"
        hint = f"{COND2}; put the narrower condition first, or remove this line"
    return make("branch_shadowed", message, path=path, hint=hint)


CHECKS = (branch_shadowed,)
