"""Why an instance is at a step, in one line of words, from the route it actually took.

An inbox row says what is wanted of the reader and why: "needs CFO review: disbursement
amount $120,000.00 is over $100,000.00". The *why* is not re-derived from today's facts or
today's workflow: it is read from the occurrences the instance recorded on its way here
(COND-13: every condition step visited keeps its evaluation — the facts read with their
values, each `when` tried, which one routed), against the version the instance is pinned to
(WF-12). So the reason stays true after the invoices are edited or a new version is published.

Walking back from the step asked about, the occurrences since the previous response step
(or since the start) are the condition steps passed on the way; each says its part:

- a `when` line that routed: that line in words (:func:`engine.spec.expression_words.expression_words`);
- an ``otherwise``: why none of the lines tried held (:func:`engine.spec.expression_words.negated_words`).

Clauses are joined with "; " (never "and", which a clause may itself contain).

With no condition on the way, the step is the workflow's first, follows an answer at the step
before, or was reopened by the workflow manager (MGR-6).

Pure: the state and the pinned configuration in, an :class:`Arrival` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from engine.runtime.instance import InstanceState, Occurrence
from engine.spec.expression_words import expression_words, negated_words
from engine.spec.model import ConditionStep, WorkflowConfig

__all__ = ["Arrival", "arrival", "needs_words"]


@dataclass(frozen=True)
class Arrival:
    """How an occurrence was reached: what it needs, and why, as words."""

    step: str
    #: "needs CFO review"
    needs: str
    #: "disbursement amount $120,000.00 is over $100,000.00"
    because: str
    #: the condition steps passed on the way here, in order
    conditions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The one line: ``needs CFO review: disbursement amount $120,000.00 is over $100,000.00``."""
        return f"{self.needs}: {self.because}"


def needs_words(step: str) -> str:
    """``CFO Review`` → ``needs CFO review``, ``Denver Review`` → ``needs Denver review``.

    Only the last word — the activity, by the way steps are named (Review, Approval, Sign-off) —
    is lower-cased, and not when it is an acronym (more than one capital); the words before it
    name who or where (CFO, Controller, Denver) and stay as the author wrote them."""
    words = step.split()
    if words and sum(c.isupper() for c in words[-1]) <= 1:
        words[-1] = words[-1].lower()
    return "needs " + " ".join(words)


def _values(evaluation: Mapping[str, Any]) -> dict[str, str]:
    """Fact name → value text as the evaluation recorded it (COND-13)."""
    return {str(f.get("fact")): str(f.get("text")) for f in evaluation.get("facts", ()) if isinstance(f, Mapping)}


def _condition_words(occ: Occurrence, config: WorkflowConfig) -> str:
    """What one condition occurrence's recorded evaluation says, in words."""
    step = config.step_named(occ.step)
    evaluation = occ.evaluation or {}
    branches = [b for b in evaluation.get("branches", ()) if isinstance(b, Mapping)]
    if not isinstance(step, ConditionStep) or not branches and not evaluation.get("otherwise"):
        return f"routed by {occ.step} to {occ.decision}"  # a state without its evaluation: say what is known
    values = _values(evaluation)

    def when(index: Any) -> object | None:
        return step.branches[index].when if isinstance(index, int) and 0 <= index < len(step.branches) else None

    taken = next((b for b in branches if b.get("taken")), None)
    if taken is not None:
        expr = when(taken.get("index"))
        return expression_words(expr, values) if expr is not None else str(taken.get("when"))
    missed = [negated_words(e, values) for b in branches if (e := when(b.get("index"))) is not None]
    return "; ".join(dict.fromkeys(missed)) if missed else f"{occ.step} routes everything else here"


def arrival(state: InstanceState, config: WorkflowConfig, seq: int | None = None) -> Arrival | None:
    """Why the instance reached occurrence ``seq`` (default: the current one); None when there
    is no such occurrence."""
    occurrences = state.occurrences
    target = state.current if seq is None else state.occurrence(seq)
    if target is None:
        return None
    at = occurrences.index(target)
    conditions: list[Occurrence] = []
    before: Occurrence | None = None
    for occ in reversed(occurrences[:at]):
        if occ.kind == "condition":
            conditions.append(occ)
            continue
        before = occ
        break
    conditions.reverse()
    needs = needs_words(target.step)
    names = tuple(c.step for c in conditions)
    if conditions:
        return Arrival(target.step, needs, "; ".join(_condition_words(c, config) for c in conditions), names)
    if before is None:
        return Arrival(target.step, needs, "the first step of the workflow")
    if before.decision == "returned":
        return Arrival(target.step, needs, f"the workflow manager returned it here from {before.step}")
    if before.decision is not None and before.kind == "response":
        return Arrival(target.step, needs, f'{before.step} answered "{before.decision}"')
    return Arrival(target.step, needs, f"after {before.step}")
