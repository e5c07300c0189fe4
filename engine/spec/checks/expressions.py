"""Walking and describing condition expressions, for the name, type and branch checks.

The checks speak about expressions in two ways: by model path (so a front
end can put a caret under the exact characters) and by text (so a message or
hint can quote an earlier `when` line). Walking lives here, so every family of
checks walks expressions the same way; quoting is :mod:`engine.spec.expression_text`,
the printer ``payroute fmt`` uses, so a message quotes what the file says.
"""

from __future__ import annotations

import re
from typing import Iterator

from engine.spec.facts import FactType, fact_type
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

ModelPath = tuple[object, ...]

#: How a type is named inside a sentence ("`x` is money", "`y` is a string").
TYPE_WORDS: dict[str, str] = {
    "money": "money",
    "integer": "an integer",
    "string": "a string",
    "date": "a date",
}

_MONEY_DIGITS = re.compile(r"[0-9]+(?:\.[0-9]+)?")

OPERAND_TYPES = (FactRef, MoneyLit, StringLit, IntLit, DateLit)


def condition_expressions(config: WorkflowConfig) -> Iterator[tuple[int, int, object, ModelPath]]:
    """Every ``when`` expression: ``(step index, branch index, expression, path)``."""
    for i, step in enumerate(config.steps):
        if isinstance(step, ConditionStep):
            for k, branch in enumerate(step.branches):
                yield i, k, branch.when, ("steps", i, "branches", k, "when")


def walk(expr: object, path: ModelPath) -> Iterator[tuple[object, ModelPath]]:
    """Every node of ``expr`` with its model path, parents before children."""
    yield expr, path
    if isinstance(expr, (Compare, InList)):
        yield from walk(expr.left, path + ("left",))
        if isinstance(expr, Compare):
            yield from walk(expr.right, path + ("right",))
    elif isinstance(expr, Logical):
        for j, arg in enumerate(expr.args):
            yield from walk(arg, path + ("args", j))
    elif isinstance(expr, Not):
        yield from walk(expr.arg, path + ("arg",))


def facts_in(expr: object) -> list[str]:
    """Names of the facts an expression reads, in order of first use."""
    seen: dict[str, None] = {}
    for node, _ in walk(expr, ()):
        if isinstance(node, FactRef):
            seen.setdefault(node.fact, None)
    return list(seen)


def operand_type(node: object) -> FactType | None:
    """The type of an operand; None for an unknown fact (reported by the name checks)."""
    if isinstance(node, FactRef):
        return fact_type(node.fact)
    if isinstance(node, MoneyLit):
        return "money"
    if isinstance(node, IntLit):
        return "integer"
    if isinstance(node, StringLit):
        return "string"
    if isinstance(node, DateLit):
        return "date"
    return None


def money_decimals(digits: str) -> int:
    return len(digits.split(".", 1)[1]) if "." in digits else 0


def money_well_formed(digits: str) -> bool:
    """Digits with an optional decimal part (a JSON config may hold anything)."""
    return isinstance(digits, str) and _MONEY_DIGITS.fullmatch(digits) is not None


def date_value(text: str) -> int | None:
    """Day number of an ISO date ``YYYY-MM-DD``, or None when it is not a real date."""
    from datetime import date

    if not isinstance(text, str) or re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) is None:
        return None
    try:
        return date.fromisoformat(text).toordinal()
    except ValueError:
        return None


def literal_ok(node: object) -> bool:
    """True when a literal's value is well formed (money: at most two decimals)."""
    if isinstance(node, MoneyLit):
        return money_well_formed(node.money) and money_decimals(node.money) <= 2
    if isinstance(node, DateLit):
        return date_value(node.date) is not None
    return True
