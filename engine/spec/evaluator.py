"""Route a disbursement's facts through a compiled workflow, with reasons (COND-1..COND-13).

Pure functions: nothing here writes, sends or remembers anything (ROLL-6).
The inputs (the compiled workflow, the facts, the answers) are read only.

- :func:`evaluate` walks the whole workflow: response steps take the answer
  given for them, else ``default_answer`` (with ``requires: all`` every
  assignee gives that answer, so the step follows it, STEP-4); condition
  steps are decided from the facts (COND-2..COND-4) and record why (COND-13).
  Because facts and answers are fixed, a route that comes back to a step
  would repeat forever: it stops there with a reason instead, as it does at a
  step that does not offer the answer given. So the walk always ends within
  one visit per step — the evaluator is total on every compiled workflow.
- :func:`decide` decides one condition step (what the runtime calls on entry).
- :class:`Router` is the same walk without the reasons, for bulk simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, NamedTuple

from engine.spec.compiler import (
    CompiledCondition,
    CompiledEnd,
    CompiledResponse,
    CompiledWorkflow,
    Truth,
    truth_word,
    value_text,
)

if TYPE_CHECKING:
    from engine.spec.facts import Facts, FactValue

__all__ = [
    "DEFAULT_ANSWER",
    "UnknownStepError",
    "BranchResult",
    "ConditionOutcome",
    "Visit",
    "Route",
    "Router",
    "evaluate",
    "decide",
    "answer_problem",
]

DEFAULT_ANSWER = "Approve"
Outcome = Literal["success", "failure"]


class UnknownStepError(LookupError):
    """A step name the compiled workflow does not have, or not of the kind asked for."""


# ---------------------------------------------------------------- results


class BranchResult(NamedTuple):
    """One `when` line tried: its result (True, False, or None for unknown) and whether it routed."""

    # The field shadows tuple.index() on purpose (nothing calls that method on a result); mypy
    # reports any NamedTuple field named like a tuple method as an incompatible override.
    index: int  # type: ignore[assignment]
    result: Truth
    target: str
    taken: bool


def _wire(value: object) -> object:
    """A fact value as JSON: money as a decimal string (GEN-2), dates in ISO form."""
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class ConditionOutcome:
    """How a condition step was decided (COND-13): facts read, each `when` tried, the route.

    ``facts`` holds every fact the tried lines read, with its value or
    ``None`` for empty. Text is rendered only when asked for.
    """

    step: str
    facts: tuple[tuple[str, FactValue], ...]
    branches: tuple[BranchResult, ...]
    target: str
    otherwise: bool
    condition: CompiledCondition = field(repr=False, compare=False)

    def branch_text(self, result: BranchResult) -> str:
        """``disbursement_amount $120,000.00 > $100,000.00: true → CFO Review``."""
        expr = self.condition.branches[result.index].expr
        text = f"{expr.explain(dict(self.facts))}: {truth_word(result.result)}"
        return f"{text} → {result.target}" if result.taken else text

    def lines(self) -> list[str]:
        """One line per `when` tried, then ``otherwise → STEP`` when no line was true."""
        out = [self.branch_text(b) for b in self.branches]
        if self.otherwise:
            out.append(f"otherwise → {self.target}")
        return out

    @property
    def deciding(self) -> str:
        """The line that routed: the true `when`, or the `otherwise`."""
        return self.lines()[-1]

    def to_data(self) -> dict[str, Any]:
        """JSON-ready record (the audit entry of a condition, COND-13)."""
        return {
            "facts": [{"fact": n, "value": _wire(v), "text": value_text(v)} for n, v in self.facts],
            "branches": [{"index": b.index, "when": self.condition.branches[b.index].expr.explain(dict(self.facts)),
                          "result": truth_word(b.result), "target": b.target, "taken": b.taken}
                         for b in self.branches],
            "otherwise": self.otherwise,
            "target": self.target,
            "text": self.lines(),
        }


class Visit(NamedTuple):
    """One step on the route: a response with its answer, a decided condition, or the end.

    A named tuple rather than a dataclass: immutable like one, and a
    route builds several per disbursement, so construction cost counts.
    """

    step: str
    kind: Literal["response", "condition", "end"]
    answer: str | None = None
    target: str | None = None
    requires: Literal["any", "all"] | None = None
    outcome: Outcome | None = None
    condition: ConditionOutcome | None = None

    def lines(self) -> list[str]:
        """Human lines: ``Controller Review: Approve → > $100,000.00`` and the condition's reasons."""
        if self.kind == "response":
            who = " (every assignee)" if self.requires == "all" else ""
            where = f" → {self.target}" if self.target is not None else " (not offered here)"
            return [f"{self.step}: {self.answer}{who}{where}"]
        if self.kind == "condition" and self.condition is not None:
            return [f"{self.step}:"] + [f"  {line}" for line in self.condition.lines()]
        return [f"{self.step}: end, {self.outcome}"]

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"step": self.step, "kind": self.kind}
        if self.kind == "response":
            out.update(answer=self.answer, requires=self.requires, target=self.target)
        elif self.kind == "condition" and self.condition is not None:
            out.update(target=self.target, decision=self.condition.to_data())
        else:
            out["outcome"] = self.outcome
        return out


@dataclass(frozen=True)
class Route:
    """The whole route: every visit, where it ended, or why it stopped before an end."""

    visits: tuple[Visit, ...]
    end: str | None
    outcome: Outcome | None
    stopped: str | None = None

    @property
    def path(self) -> tuple[str, ...]:
        """Every step visited, in order, condition and end steps included."""
        return tuple(v.step for v in self.visits)

    def to_data(self) -> dict[str, Any]:
        return {"path": list(self.path), "end": self.end, "outcome": self.outcome,
                "stopped": self.stopped, "visits": [v.to_data() for v in self.visits]}


# ---------------------------------------------------------------- deciding and walking


def _decide(cond: CompiledCondition, facts: Facts) -> ConditionOutcome:
    tried: list[BranchResult] = []
    taken = None
    for b in cond.branches:
        r = b.expr.test(facts)
        hit = r is True  # a `when` line is taken only when true (COND-4)
        tried.append(BranchResult(b.index, r, b.target, hit))
        if hit:
            taken = b
            break
    names = dict.fromkeys(f for t in tried for f in cond.branches[t.index].expr.facts)
    read = tuple((n, facts.get(n)) for n in names)
    if taken is None:  # COND-2, COND-3: nothing true (or a fact empty) → otherwise
        return ConditionOutcome(cond.name, read, tuple(tried), cond.otherwise, True, cond)
    return ConditionOutcome(cond.name, read, tuple(tried), taken.target, False, cond)


def decide(compiled: CompiledWorkflow, step_name: str, facts: Facts) -> ConditionOutcome:
    """Decide condition step ``step_name`` from ``facts`` (COND-1: at once, no people)."""
    i = compiled.index.get(step_name)
    step = compiled.steps[i] if i is not None else None
    if not isinstance(step, CompiledCondition):
        what = "no step" if step is None else f"a {step.kind} step"
        raise UnknownStepError(f"`{step_name}` is {what}, not a condition step")
    return _decide(step, facts)


def answer_problem(compiled: CompiledWorkflow, step_name: str, answer: str) -> str | None:
    """Why ``step_name`` cannot be given ``answer`` (None when it can): the one check behind
    ``payroute simulate --answer`` and the ``answers`` of ``POST /v1/evaluate``."""
    from engine.diagnostics import did_you_mean

    responses = {s.name: s for s in compiled.steps if isinstance(s, CompiledResponse)}
    step = responses.get(step_name)
    if step is None:
        if step_name in compiled.index:
            return f'"{step_name}" is a {compiled.step(step_name).kind} step; only response steps take answers'
        hint = did_you_mean(step_name, responses)
        return f'no response step "{step_name}"' + (f"; {hint}" if hint else "")
    if answer not in step.targets:
        hint = did_you_mean(answer, step.offered)
        offered = ", ".join(f'"{a}"' for a in step.offered)
        return f'"{step.name}" offers {offered}' + (f"; {hint}" if hint else "")
    return None


def _offers(step: CompiledResponse, answer: str) -> str:
    offered = ", ".join(f'"{a}"' for a in step.offered) or "nothing"
    return f'step "{step.name}" does not offer the answer "{answer}" (it offers {offered})'


def evaluate(compiled: CompiledWorkflow, facts: Facts,
             answers: Mapping[str, str] | None = None, default_answer: str = DEFAULT_ANSWER) -> Route:
    """Walk ``compiled`` from its start with ``facts``; response steps answer from ``answers``.

    Never raises for any facts or answers: a route that cannot finish comes
    back with ``end=None`` and a ``stopped`` reason.
    """
    answers = answers or {}
    steps = compiled.steps
    visits: list[Visit] = []
    seen: set[int] = set()
    i = compiled.start
    while True:
        seen.add(i)
        step = steps[i]
        if isinstance(step, CompiledEnd):
            visits.append(Visit(step.name, "end", outcome=step.outcome))
            return Route(tuple(visits), step.name, step.outcome)
        if isinstance(step, CompiledResponse):
            answer = answers.get(step.name, default_answer)
            nxt = step.targets.get(answer)
            if nxt is None:
                visits.append(Visit(step.name, "response", answer=answer, requires=step.requires))
                return Route(tuple(visits), None, None, _offers(step, answer))
            visits.append(Visit(step.name, "response", answer=answer, target=steps[nxt].name,
                                requires=step.requires))
        else:
            outcome = _decide(step, facts)
            nxt = compiled.index[outcome.target]
            visits.append(Visit(step.name, "condition", target=outcome.target, condition=outcome))
        if nxt in seen:
            return Route(tuple(visits), None, None,
                         f'the route comes back to "{steps[nxt].name}" and would repeat for ever')
        i = nxt


_END, _RESPONSE, _CONDITION = 0, 1, 2


def _unrouted(facts: Facts) -> int:
    """The route of a step that is not a condition step (never called: its kind says so)."""
    return -1


class Router:
    """The walk of :func:`evaluate` without the reasons: ``router(facts)`` → visited step indices.

    Built once per (workflow, answers): each response step's next step is
    resolved up front, so a call only runs the condition closures. The last
    index is an end step (finished), a response step that does not offer its
    answer, or a step whose next step was already visited (a loop).
    Immutable after construction; share it freely.
    """

    __slots__ = ("compiled", "_tables")

    def __init__(self, compiled: CompiledWorkflow, answers: Mapping[str, str] | None = None,
                 default_answer: str = DEFAULT_ANSWER) -> None:
        answers = answers or {}
        kinds: list[int] = []
        #: per step: a response step's next step (-1 when it does not offer its answer) ...
        nexts: list[int] = []
        #: ... and a condition step's route (the kind says which of the two applies)
        routes: list[Callable[[Facts], int]] = []
        for step in compiled.steps:
            if isinstance(step, CompiledEnd):
                kinds.append(_END)
                nexts.append(-1)
                routes.append(_unrouted)
            elif isinstance(step, CompiledResponse):
                kinds.append(_RESPONSE)
                nexts.append(step.targets.get(answers.get(step.name, default_answer), -1))
                routes.append(_unrouted)
            else:
                kinds.append(_CONDITION)
                nexts.append(-1)
                routes.append(step.route)
        self.compiled = compiled
        #: ``(kinds, nexts, routes, start)``: one attribute, unpacked once per call
        self._tables = (tuple(kinds), tuple(nexts), tuple(routes), compiled.start)

    def __call__(self, facts: Facts) -> tuple[int, ...]:
        kinds, nexts, routes, i = self._tables
        path = [i]
        while True:
            kind = kinds[i]
            if kind == _END:
                break
            j = nexts[i] if kind == _RESPONSE else routes[i](facts)
            if j < 0 or j in path:
                break
            path.append(j)
            i = j
        return tuple(path)

    def summary(self, indices: tuple[int, ...]) -> tuple[list[str], str | None, Outcome | None]:
        """``(path names, end name or None, outcome or None)`` for a result of ``__call__``."""
        steps = self.compiled.steps
        last = steps[indices[-1]]
        names = [steps[i].name for i in indices]
        if isinstance(last, CompiledEnd):
            return names, last.name, last.outcome
        return names, None, None
