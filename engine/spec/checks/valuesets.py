"""Sets of fact values, exact at every boundary, for the branch analysis.

Every ordered fact type is discrete: money has cents (GEN-1), integers are
whole and dates are days. So each value is coded as an integer (cents, the
number, the day number) and a condition on one fact becomes a union of
closed integer intervals: ``> $100.00`` is ``[10001, ∞)`` and ``>= $100.01``
is the very same set, which is how `>` and `>=` are compared exactly.
String conditions (``==``, ``!=``, ``in``) become finite or co-finite sets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.spec.model import CompareOp

INF = math.inf


@dataclass(frozen=True)
class Intervals:
    """A union of disjoint, sorted, closed integer intervals; bounds may be ±∞."""

    parts: tuple[tuple[float, float], ...]

    @staticmethod
    def of(lo: float, hi: float) -> "Intervals":
        return Intervals(((lo, hi),) if lo <= hi else ())

    @staticmethod
    def _norm(parts: list[tuple[float, float]]) -> "Intervals":
        out: list[tuple[float, float]] = []
        for lo, hi in sorted(p for p in parts if p[0] <= p[1]):
            if out and lo <= out[-1][1] + 1:
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        return Intervals(tuple(out))

    def union(self, other: "Intervals") -> "Intervals":
        return Intervals._norm(list(self.parts + other.parts))

    def intersect(self, other: "Intervals") -> "Intervals":
        out = []
        for a_lo, a_hi in self.parts:
            for b_lo, b_hi in other.parts:
                lo, hi = max(a_lo, b_lo), min(a_hi, b_hi)
                if lo <= hi:
                    out.append((lo, hi))
        return Intervals._norm(out)

    def complement(self, domain: "Intervals") -> "Intervals":
        gaps: list[tuple[float, float]] = []
        cursor = -INF
        for lo, hi in self.parts:
            if lo > cursor:
                gaps.append((cursor, lo - 1))
            cursor = hi + 1
        if cursor != INF:
            gaps.append((cursor, INF))
        return Intervals._norm(gaps).intersect(domain)

    def subset_of(self, other: "Intervals") -> bool:
        return self.intersect(other) == self

    @property
    def empty(self) -> bool:
        return not self.parts


@dataclass(frozen=True)
class Strings:
    """A finite set of strings, or (``cofinite``) every string except ``items``."""

    items: frozenset[str]
    cofinite: bool = False

    def union(self, other: "Strings") -> "Strings":
        a, b = self, other
        if not a.cofinite and not b.cofinite:
            return Strings(a.items | b.items)
        if a.cofinite and b.cofinite:
            return Strings(a.items & b.items, True)
        fin, co = (a, b) if not a.cofinite else (b, a)
        return Strings(co.items - fin.items, True)

    def intersect(self, other: "Strings") -> "Strings":
        a, b = self, other
        if not a.cofinite and not b.cofinite:
            return Strings(a.items & b.items)
        if a.cofinite and b.cofinite:
            return Strings(a.items | b.items, True)
        fin, co = (a, b) if not a.cofinite else (b, a)
        return Strings(fin.items - co.items)

    def complement(self, domain: "Strings") -> "Strings":
        return Strings(self.items, not self.cofinite).intersect(domain)

    def subset_of(self, other: "Strings") -> bool:
        return self.intersect(other) == self

    @property
    def empty(self) -> bool:
        return not self.cofinite and not self.items


ValueSet = Intervals | Strings

ALL_STRINGS = Strings(frozenset(), True)
NO_STRINGS = Strings(frozenset())
#: Money and counts are never negative (invoice payments are positive, a
#: retainage release is at least $0.00, a count is a count): a sound lower
#: bound that lets ``>= $0`` be seen as always true.
NON_NEGATIVE = Intervals.of(0, INF)
ALL_INTEGERS = Intervals.of(-INF, INF)


# Set operations on a ValueSet of either kind. The sets of one fact are all of its domain's
# kind, but only the fact's type (known at run time) says which: these check it, and refuse
# to mix the two kinds (which the analysis never does).


def _mixed(a: ValueSet, b: ValueSet) -> TypeError:
    return TypeError(f"a set of {type(a).__name__} cannot meet a set of {type(b).__name__}")


def union(a: ValueSet, b: ValueSet) -> ValueSet:
    if isinstance(a, Intervals) and isinstance(b, Intervals):
        return a.union(b)
    if isinstance(a, Strings) and isinstance(b, Strings):
        return a.union(b)
    raise _mixed(a, b)


def intersect(a: ValueSet, b: ValueSet) -> ValueSet:
    if isinstance(a, Intervals) and isinstance(b, Intervals):
        return a.intersect(b)
    if isinstance(a, Strings) and isinstance(b, Strings):
        return a.intersect(b)
    raise _mixed(a, b)


def complement(values: ValueSet, domain: ValueSet) -> ValueSet:
    if isinstance(values, Intervals) and isinstance(domain, Intervals):
        return values.complement(domain)
    if isinstance(values, Strings) and isinstance(domain, Strings):
        return values.complement(domain)
    raise _mixed(values, domain)


def subset_of(a: ValueSet, b: ValueSet) -> bool:
    if isinstance(a, Intervals) and isinstance(b, Intervals):
        return a.subset_of(b)
    if isinstance(a, Strings) and isinstance(b, Strings):
        return a.subset_of(b)
    raise _mixed(a, b)


def domain_of(fact_type: str) -> ValueSet:
    if fact_type == "string":
        return ALL_STRINGS
    if fact_type in ("money", "integer"):
        return NON_NEGATIVE
    return ALL_INTEGERS


def empty_like(domain: ValueSet) -> ValueSet:
    return NO_STRINGS if isinstance(domain, Strings) else Intervals(())


def money_code(digits: str) -> int:
    """Cents of a money literal with at most two decimals (exact: no float)."""
    whole, _, frac = digits.partition(".")
    return int(whole) * 100 + int(frac.ljust(2, "0"))


def compare_set(op: str, value: int, domain: Intervals) -> Intervals:
    """The set of integer codes ``v`` for which ``v <op> value`` holds."""
    if op == ">":
        s = Intervals.of(value + 1, INF)
    elif op == ">=":
        s = Intervals.of(value, INF)
    elif op == "<":
        s = Intervals.of(-INF, value - 1)
    elif op == "<=":
        s = Intervals.of(-INF, value)
    elif op == "==":
        s = Intervals.of(value, value)
    else:  # "!="
        return Intervals.of(value, value).complement(domain)
    return s.intersect(domain)


FLIPPED: dict[CompareOp, CompareOp] = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}
