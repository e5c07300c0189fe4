"""Walking and describing condition expressions, for the name, type and branch checks.

The checks speak about expressions in two ways: by model path (so a front
end can put a caret under the exact characters) and by text (so a message or
hint can quote an earlier `when` line). Both live here so every family of
checks walks and quotes expressions the same way.
"""

from __future__ import annotations

import re
from typing import Iterator

from ..facts import FactType, fact_type
from ..model import (
    Compare, ConditionStep, DateLit, FactRef, InList, IntLit, Logical, MoneyLit, Not,
    StringLit, WorkflowConfig,
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


# ---------------------------------------------------------------- rendering

_PRECEDENCE = {"or": 1, "and": 2, "not": 3}


def render_money(digits: str) -> str:
    """``100000`` → ``$100,000.00``: cents always shown, as in the compiled form,
    so a `.flow` file and its JSON config get the same messages. More than two
    decimals are kept as written (that literal is being reported)."""
    if not money_well_formed(digits):
        return f"${digits}"
    whole, _, frac = digits.partition(".")
    return f"${int(whole):,}.{frac.ljust(2, '0')}"


def render_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(expr: object, outer: int = 0) -> str:
    """The rule-language text of an expression (for messages and hints)."""
    if isinstance(expr, FactRef):
        return expr.fact
    if isinstance(expr, MoneyLit):
        return render_money(expr.money)
    if isinstance(expr, StringLit):
        return render_string(expr.string)
    if isinstance(expr, IntLit):
        return str(expr.integer)
    if isinstance(expr, DateLit):
        return expr.date
    if isinstance(expr, Compare):
        return f"{render(expr.left, 4)} {expr.op} {render(expr.right, 4)}"
    if isinstance(expr, InList):
        items = ", ".join(render_string(s) for s in expr.right.list)
        return f"{render(expr.left, 4)} in [{items}]"
    if isinstance(expr, Logical):
        mine = _PRECEDENCE[expr.op]
        text = f" {expr.op} ".join(render(a, mine + 1) for a in expr.args)
        return f"({text})" if mine < outer else text
    if isinstance(expr, Not):
        text = f"not {render(expr.arg, _PRECEDENCE['not'])}"
        return f"({text})" if _PRECEDENCE["not"] < outer else text
    return "?"
