"""Coverage of a workflow's elements by test cases: which routes have been exercised.

A workflow's *elements* are what an author can get wrong and a case can
prove right:

- every step (visited at least once);
- every answer of every response step (a case took that answer there);
- every ``when`` line of every condition step (it decided a route, COND-2);
- every ``otherwise`` (it decided a route: no line true, or a fact empty,
  COND-3).

Coverage is counted from the routes the evaluator returns, so it measures
what actually happened, not what a case claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Iterable

from engine.spec.model import ConditionStep, ResponseStep, WorkflowConfig

CATEGORIES = ("steps", "answers", "when", "otherwise")

#: ("steps", step) | ("answers", step, answer) | ("when", step, index) | ("otherwise", step)
Element = tuple[Any, ...]


def elements(config: WorkflowConfig) -> list[Element]:
    """Every element of ``config``, in source order, categories interleaved per step."""
    out: list[Element] = []
    for step in config.steps:
        out.append(("steps", step.name))
        if isinstance(step, ResponseStep):
            out += [("answers", step.name, a.response) for a in step.answers]
        elif isinstance(step, ConditionStep):
            out += [("when", step.name, k) for k in range(len(step.branches))]
            if step.otherwise is not None:
                out.append(("otherwise", step.name))
    return out


def covered_by(route: Any) -> set[Element]:
    """The elements one evaluator route exercised (see :func:`engine.spec.evaluator.evaluate`)."""
    out: set[Element] = set()
    for visit in route.visits:
        out.add(("steps", visit.step))
        if visit.kind == "response" and visit.target is not None:
            out.add(("answers", visit.step, visit.answer))
        elif visit.kind == "condition" and visit.condition is not None:
            decision = visit.condition
            if decision.otherwise:
                out.add(("otherwise", visit.step))
            else:
                out |= {("when", visit.step, b.index) for b in decision.branches if b.taken}
    return out


def describe(element: Element, config: WorkflowConfig) -> str:
    """An element in words, for the list of what no case exercised."""
    kind, step = element[0], element[1]
    if kind == "steps":
        return f"step \"{step}\""
    if kind == "answers":
        return f"answer \"{element[2]}\" of \"{step}\""
    if kind == "otherwise":
        return f"otherwise of \"{step}\""
    from dsl.diagram import expr_text

    cond = config.step_named(step)
    text = expr_text(cond.branches[element[2]].when) if isinstance(cond, ConditionStep) else "?"
    return f"when #{element[2] + 1} of \"{step}\" ({text})"


def percent(covered: int, total: int) -> Decimal:
    """Rounded *down* to one decimal, so 99.96% never shows as a passing 100.0%."""
    if total == 0:
        return Decimal("100.0")
    return (Decimal(covered * 100) / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_FLOOR)


@dataclass
class Tally:
    covered: int = 0
    total: int = 0

    def add(self, other: "Tally") -> None:
        self.covered += other.covered
        self.total += other.total

    @property
    def percent(self) -> Decimal:
        return percent(self.covered, self.total)

    def meets(self, threshold: Decimal) -> bool:
        """Exact comparison (no rounding): covered/total >= threshold%."""
        return self.total == 0 or Decimal(self.covered * 100) >= threshold * self.total

    def as_json(self) -> dict[str, Any]:
        return {"covered": self.covered, "total": self.total, "percent": float(self.percent)}


@dataclass
class Coverage:
    """Per category and overall; ``missed`` lists the uncovered elements in source order."""

    by_category: dict[str, Tally] = field(default_factory=lambda: {c: Tally() for c in CATEGORIES})
    missed: list[str] = field(default_factory=list)

    @property
    def overall(self) -> Tally:
        total = Tally()
        for tally in self.by_category.values():
            total.add(tally)
        return total

    def add(self, other: "Coverage") -> None:
        for c in CATEGORIES:
            self.by_category[c].add(other.by_category[c])

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {c: t.as_json() for c, t in self.by_category.items()}
        out["overall"] = self.overall.as_json()
        out["missed"] = list(self.missed)
        return out

    def text(self) -> str:
        """``steps 5/5 100.0% · answers 4/4 100.0% · ... · overall 13/13 100.0%``."""
        parts = [f"{c} {t.covered}/{t.total} {t.percent}%" for c, t in self.by_category.items() if t.total]
        o = self.overall
        parts.append(f"overall {o.covered}/{o.total} {o.percent}%")
        return " · ".join(parts)


def measure(config: WorkflowConfig, routes: Iterable[Any]) -> Coverage:
    """Coverage of ``config``'s elements by ``routes``."""
    hit: set[Element] = set()
    for route in routes:
        hit |= covered_by(route)
    cov = Coverage()
    for element in elements(config):
        tally = cov.by_category[element[0]]
        tally.total += 1
        if element in hit:
            tally.covered += 1
        else:
            cov.missed.append(describe(element, config))
    return cov
