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

from bisect import bisect_left, bisect_right
from typing import Iterable

from engine.diagnostics import Diagnostic, make
from engine.spec.checks.expressions import date_value, facts_in, walk
from engine.spec.checks.types import expression_is_clean
from engine.spec.checks.valuesets import (
    FLIPPED,
    INF,
    Intervals,
    Strings,
    ValueSet,
    compare_set,
    complement,
    domain_of,
    empty_like,
    intersect,
    money_code,
    subset_of,
    union,
)
from engine.spec.expression_text import expression_text
from engine.spec.facts import FACTS, fact_type
from engine.spec.model import (
    Compare,
    ConditionStep,
    DateLit,
    FactRef,
    InList,
    IntLit,
    Logical,
    MoneyLit,
    Not,
    StringLit,
    WorkflowConfig,
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
        return expr.left.fact, intersect(Strings(frozenset(expr.right.list)), _domain(expr.left.fact))
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
        return fact, complement(values, _domain(fact))
    if isinstance(expr, Logical) and expr.args:
        each = [exact(a) for a in expr.args]
        parts = [p for p in each if p is not None]
        if len(parts) != len(each) or len({f for f, _ in parts}) != 1:
            return None
        fact, values = parts[0]
        for _f, more in parts[1:]:
            values = union(values, more) if expr.op == "or" else intersect(values, more)
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
                out = intersect(out, s)
            return out
        every = [s for s in sets if s is not None]
        if len(every) != len(sets) or not every:
            return None
        out = every[0]
        for s in every[1:]:
            out = union(out, s)
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
            out = union(out, s) if expr.op == "or" else intersect(out, s)
        return out
    return empty_like(domain)


def always_true(expr: object) -> bool:
    """True for every disbursement: only facts that always have a value (COND-9) count."""
    ex = exact(expr)
    if ex is not None:
        fact, values = ex
        return fact in FACTS and subset_of(_domain(fact), values)
    if isinstance(expr, Logical) and expr.args:
        if expr.op == "and":
            return all(always_true(a) for a in expr.args)
        if any(always_true(a) for a in expr.args):
            return True
        return any(f in FACTS and subset_of(_domain(f), guarantee(expr, f))
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
    sweep = _Sweep(earlier + [expr])
    for other in earlier:
        sweep.add(other)
    return sweep.shadowing(expr)


def branch_shadowed(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """Both ``branch_never_true`` and ``branch_shadowed``, one condition step at a time."""
    for i, step in enumerate(config.steps):
        if not isinstance(step, ConditionStep):
            continue
        clean = [(k, b.when) for k, b in enumerate(step.branches) if expression_is_clean(b.when)]
        sweep = _Sweep([expr for _k, expr in clean])
        for k, expr in clean:
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
                found = sweep.shadowing(expr)
                if found is not None:
                    yield _shadowed(found[0], [sweep.lines[j] for j in found[1]], path)
            sweep.add(expr)


# ---------------------------------------------------------------- the sweep
#
# Lines are added one at a time, in order; each is first asked about against
# the lines before it. Everything a later question needs is kept up to date
# as lines are added, so a step of n lines costs about n log n (it cost ~n^3
# when each line recomputed the earlier lines' sets and unions):
#
# - the first index of each condition (``same``) and of the first always-true
#   line (``always``);
# - per fact, the union of the earlier lines' guarantees, and which line was
#   the *first* to cover each part of it (its owner).
#
# Which earlier lines are named (the culprits) is what a greedy pass gave:
# starting from every earlier line that meets the need N, drop lines from the
# last to the first while the others still cover N. A line j survives exactly
# when some value of N has j as its owner and no surviving later line covers
# it; so the culprits come from the owners of N, visited from the last.
#
# String sets are finite or co-finite over the strings the step mentions; each
# such string gets a number in sorted order and every other string the number
# after the last, so string sets become integer intervals as well.


class _Union:
    """A union of disjoint closed integer intervals, adjacent ones merged, kept sorted."""

    __slots__ = ("los", "his")

    def __init__(self) -> None:
        self.los: list[float] = []
        self.his: list[float] = []

    def add(self, lo: float, hi: float) -> list[tuple[float, float]]:
        """Add ``[lo, hi]``; return the parts of it that were not covered before."""
        los, his = self.los, self.his
        i = bisect_left(his, lo - 1)
        j = bisect_right(los, hi + 1)
        gaps: list[tuple[float, float]] = []
        cursor = lo
        for a, b in zip(los[i:j], his[i:j]):
            if a > cursor:
                gaps.append((cursor, min(a - 1, hi)))
            if b + 1 > cursor:
                cursor = b + 1
        if cursor <= hi and cursor != INF:  # past an unbounded interval nothing is left
            gaps.append((cursor, hi))
        if i < j:
            lo, hi = min(lo, los[i]), max(hi, his[j - 1])
        los[i:j] = [lo]
        his[i:j] = [hi]
        return gaps

    def holds(self, lo: float, hi: float) -> bool:
        k = bisect_right(self.los, lo) - 1
        return k >= 0 and self.his[k] >= hi


class _FactCover:
    """The earlier lines' guarantees for one fact: their union and the owner of each part."""

    __slots__ = ("union", "los", "his", "owners", "sets")

    def __init__(self) -> None:
        self.union = _Union()
        self.los: list[float] = []
        self.his: list[float] = []
        self.owners: list[int] = []
        self.sets: dict[int, tuple[tuple[float, float], ...]] = {}

    def add(self, line: int, parts: tuple[tuple[float, float], ...]) -> None:
        self.sets[line] = parts
        for lo, hi in parts:
            for a, b in self.union.add(lo, hi):
                k = bisect_left(self.los, a)
                self.los.insert(k, a)
                self.his.insert(k, b)
                self.owners.insert(k, line)

    def holds(self, parts: tuple[tuple[float, float], ...]) -> bool:
        return all(self.union.holds(lo, hi) for lo, hi in parts)

    def culprits(self, parts: tuple[tuple[float, float], ...]) -> list[int]:
        owned: dict[int, list[tuple[float, float]]] = {}
        for lo, hi in parts:
            k = bisect_left(self.his, lo)
            while k < len(self.los) and self.los[k] <= hi:
                owned.setdefault(self.owners[k], []).append((max(lo, self.los[k]), min(hi, self.his[k])))
                k += 1
        kept: list[int] = []
        taken = _Union()
        for line in sorted(owned, reverse=True):
            if not all(taken.holds(a, b) for a, b in owned[line]):
                kept.append(line)
                for a, b in self.sets[line]:
                    taken.add(a, b)
        return kept[::-1]


class _Sweep:
    """The lines of one condition step seen so far, ready for :meth:`shadowing`."""

    def __init__(self, exprs: list[object]) -> None:
        texts: set[str] = set()
        for expr in exprs:
            for node, _ in walk(expr, ()):
                if isinstance(node, StringLit):
                    texts.add(node.string)
                elif isinstance(node, InList):
                    texts.update(node.right.list)
        self.codes = {text: n for n, text in enumerate(sorted(texts))}
        self.lines: list[object] = []
        self.first: dict[object, int] = {}
        self.always: int | None = None
        self.covers: dict[str, _FactCover] = {}

    def parts(self, values: ValueSet) -> tuple[tuple[float, float], ...]:
        if isinstance(values, Intervals):
            return values.parts
        other = len(self.codes)  # every string the step does not mention
        codes = sorted(self.codes[s] for s in values.items)
        if not values.cofinite:
            return tuple((c, c) for c in codes)
        gaps, cursor = [], 0
        for c in codes + [other + 1]:
            if c > cursor:
                gaps.append((cursor, c - 1))
            cursor = c + 1
        return tuple(gaps)

    def add(self, expr: object) -> None:
        line = len(self.lines)
        self.lines.append(expr)
        self.first.setdefault(expr, line)
        if self.always is None and always_true(expr):
            self.always = line
        for f in facts_in(expr):
            parts = self.parts(guarantee(expr, f))
            if parts:
                self.covers.setdefault(f, _FactCover()).add(line, parts)

    def shadowing(self, expr: object) -> tuple[str, list[int]] | None:
        """Why ``expr`` can never win after the lines added so far, and the culprits."""
        if expr in self.first:
            return "same", [self.first[expr]]
        if self.always is not None:
            return "always", [self.always]
        for f in facts_in(expr):
            n = need(expr, f)
            cover = self.covers.get(f)
            if n is None or cover is None:
                continue
            parts = self.parts(n)
            if cover.holds(parts):
                return "covered", cover.culprits(parts)
        return None


def _quote(exprs: list[object]) -> str:
    return ", ".join(f"`{expression_text(e)}`" for e in exprs)


def _below_zero(expr: object, fact: str) -> bool:
    """Does ``expr`` ask for a money amount or count below zero?"""
    from engine.spec.checks.expressions import walk

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
        message = f"`when` line can never be taken: `{expression_text(culprits[0])}` above is always true"
        hint = f"{COND2}; narrow that condition or move this line above it"
    elif len(culprits) == 1:
        message = f"`when` line can never be taken: `{expression_text(culprits[0])}` above takes every case it matches"
        hint = f"{COND2}; put the narrower condition first"
    else:
        message = f"`when` line can never be taken: the lines above ({_quote(culprits)}) take every case it matches"
        hint = f"{COND2}; put the narrower condition first, or remove this line"
    return make("branch_shadowed", message, path=path, hint=hint)


CHECKS = (branch_shadowed,)
