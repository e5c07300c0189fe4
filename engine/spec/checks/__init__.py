"""Semantic checks on the typed model, shared by both front ends.

Like sqlglot's optimizer ``RULES``, the checks are a tuple of named functions
run in order; each takes a :class:`WorkflowConfig` and yields diagnostics that
carry a model ``path`` (never a line number: the front end locates them).
"""

from __future__ import annotations

from typing import Callable, Iterable

from engine.diagnostics import Diagnostic
from engine.spec.checks import branches, graph, names, structure, types, values
from engine.spec.model import WorkflowConfig

__all__ = ["Check", "BOUNDS", "BOUND_CODES", "CHECKS", "run_checks"]

Check = Callable[[WorkflowConfig], Iterable[Diagnostic]]

#: Bounds on values and text (:mod:`.values`): when one fails, only these are
#: reported, since every other check quotes or computes with those values.
BOUNDS: tuple[Check, ...] = values.CHECKS
#: The codes of :data:`BOUNDS`: a model with one of these errors must not be
#: formatted, compiled or hashed.
BOUND_CODES = frozenset({"text_invalid", "text_too_long", "due_days_too_large", "number_too_large"})

#: Header and step settings, then names, then expressions, then the routing
#: graph, then the branch analysis (which relies on the earlier families to
#: have reported what it skips).
CHECKS: tuple[Check, ...] = (
    *structure.CHECKS,
    *names.CHECKS,
    *types.CHECKS,
    *graph.CHECKS,
    *branches.CHECKS,
)


def run_checks(config: WorkflowConfig) -> list[Diagnostic]:
    """Every diagnostic of every check, in check order (front ends sort by position);
    only the bounds' diagnostics when a value is out of bounds."""
    out: list[Diagnostic] = []
    for check in BOUNDS:
        out.extend(check(config))
    if any(d.is_error for d in out):
        return out
    for check in CHECKS:
        out.extend(check(config))
    return out
