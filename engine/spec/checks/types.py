"""Type and value checks of `when` expressions.

Types: money, integer, string, date (:func:`engine.spec.facts.fact_type` for
facts; ``$…`` money, ``5`` integer, ``"…"`` string, ``2025-01-31`` date for
literals). A comparison needs two operands of one type; ordering
(``< <= > >=``) applies to money, integers and dates, not strings; ``in``
needs a string on its left; and a bare value is not a condition.

An expression that reads an unknown fact is not type-checked at that
comparison: the unknown name is already reported (:mod:`.names`), and a type
error on top of it would be a cascade.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from engine.diagnostics import Diagnostic, make
from engine.spec.checks.expressions import (
    OPERAND_TYPES,
    TYPE_WORDS,
    ModelPath,
    condition_expressions,
    date_value,
    money_decimals,
    money_well_formed,
    operand_type,
    walk,
)
from engine.spec.expression_text import expression_text, money_text
from engine.spec.model import (
    ORDER_OPS,
    Compare,
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


def _mismatch_hint(left: object, right: object, lt: str, rt: str) -> str:
    pair = {lt, rt}
    literal = left if isinstance(right, FactRef) else right  # the side most likely mistyped
    if pair == {"money", "integer"} and isinstance(literal, IntLit):
        return f"write money with a dollar sign, such as `${literal.integer:,}`"
    if pair == {"money", "integer"} and isinstance(literal, MoneyLit):
        return "an integer fact is a count; write the number without `$`"
    if isinstance(literal, StringLit) and "string" in pair:
        other = (pair - {"string"}).pop()
        return f"write {TYPE_WORDS[other]} without quotes, such as `{_unquoted_example(literal.string, other)}`"
    if "string" in pair and not isinstance(literal, (StringLit, FactRef)):
        return f"write a string in quotes, such as `\"{expression_text(literal)}\"`"
    return "both sides of a comparison must have the same type"


def _unquoted_example(text: str, wanted: str) -> str:
    """The literal the author probably meant, when the quoted text is one."""
    body = text.strip().lstrip("$").replace(",", "")
    if wanted == "money" and money_well_formed(body):
        return money_text(body)
    if wanted == "integer" and body.isdigit():
        return str(int(body))
    if wanted == "date" and date_value(body) is not None:
        return body
    return {"money": "$100,000.00", "integer": "5", "date": "2025-01-31"}[wanted]


def _boolean_position(expr: object, path: ModelPath) -> Iterator[Diagnostic]:
    """Problems of ``expr`` where a condition (true or false) is expected."""
    if isinstance(expr, OPERAND_TYPES):
        t = operand_type(expr)
        if t is None:
            return  # unknown fact: reported by the name checks
        text = expression_text(expr)
        yield make(
            "type_mismatch",
            f"`{text}` is {TYPE_WORDS[t]}, not a condition",
            path=path,
            hint="compare it with a value, such as `disbursement_amount > $100,000.00`",
        )
    elif isinstance(expr, Compare):
        yield from _compare(expr, path)
    elif isinstance(expr, InList):
        lt = operand_type(expr.left)
        if lt is not None and lt != "string":
            yield make(
                "type_mismatch",
                f"`in` needs a string on its left, but `{expression_text(expr.left)}` is {TYPE_WORDS[lt]}",
                path=path + ("left",),
                hint="`in [...]` lists strings; compare numbers, money and dates with "
                     "`<`, `<=`, `>`, `>=`, `==` or `!=`",
            )
    elif isinstance(expr, Logical):
        for j, arg in enumerate(expr.args):
            yield from _boolean_position(arg, path + ("args", j))
    elif isinstance(expr, Not):
        yield from _boolean_position(expr.arg, path + ("arg",))


def _compare(expr: Compare, path: ModelPath) -> Iterator[Diagnostic]:
    lt, rt = operand_type(expr.left), operand_type(expr.right)
    if lt is None or rt is None:
        return
    if lt != rt:
        yield make(
            "type_mismatch",
            f"cannot compare {TYPE_WORDS[lt]} (`{expression_text(expr.left)}`) "
            f"with {TYPE_WORDS[rt]} (`{expression_text(expr.right)}`)",
            path=path,
            hint=_mismatch_hint(expr.left, expr.right, lt, rt),
        )
    elif expr.op in ORDER_OPS and lt == "string":
        yield make(
            "type_invalid_operator",
            f"`{expr.op}` does not apply to strings",
            path=path + ("op",),
            hint="strings can be compared with `==`, `!=` or `in [\"A\", \"B\"]`",
        )


def type_diagnostics(expr: object, path: ModelPath = ()) -> list[Diagnostic]:
    """Type problems of one `when` expression (also used by the branch analysis)."""
    return list(_boolean_position(expr, path))


def type_mismatch(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """Both ``type_mismatch`` and ``type_invalid_operator``: one walk, reported in order."""
    for _i, _k, expr, path in condition_expressions(config):
        yield from _boolean_position(expr, path)


def money_precision(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """GEN-1: money has cents, never fractions of a cent."""
    for _i, _k, expr, path in condition_expressions(config):
        for node, npath in walk(expr, path):
            if isinstance(node, MoneyLit) and money_well_formed(node.money) \
                    and money_decimals(node.money) > 2:
                yield make(
                    "money_precision",
                    f"money amount has {money_decimals(node.money)} decimals; at most two are allowed",
                    path=npath + ("money",),
                    hint=_cents_hint(node.money),
                )


def _cents_hint(digits: str) -> str:
    from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

    value = Decimal(digits)
    low = value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
    high = value.quantize(Decimal("0.01"), rounding=ROUND_CEILING)
    return (f"amounts are in dollars and cents: write `{money_text(str(low))}` "
            f"or `{money_text(str(high))}`")


def literal_invalid(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """Malformed money (only possible in a JSON config) and dates that do not exist."""
    for _i, _k, expr, path in condition_expressions(config):
        for node, npath in walk(expr, path):
            if isinstance(node, MoneyLit) and not money_well_formed(node.money):
                yield make(
                    "literal_invalid",
                    f"`{node.money}` is not a money amount",
                    path=npath + ("money",),
                    hint='write the amount as a decimal string without `$` or commas, such as "100000.00"',
                )
            elif isinstance(node, DateLit) and date_value(node.date) is None:
                yield make(
                    "literal_invalid",
                    f"`{node.date}` is not a date",
                    path=npath + ("date",),
                    hint="write a real calendar date as YYYY-MM-DD, such as `2025-01-31`",
                )


def expression_is_clean(expr: object) -> bool:
    """True when an expression has no unknown fact, bad literal or type error,
    so that reasoning about its values (:mod:`.branches`) is meaningful."""
    from engine.spec.checks.expressions import literal_ok

    for node, _ in walk(expr, ()):
        if isinstance(node, OPERAND_TYPES) and (operand_type(node) is None or not literal_ok(node)):
            return False
        if isinstance(node, Logical) and len(node.args) < 2:
            return False
    return not type_diagnostics(expr)


CHECKS = (
    type_mismatch,
    money_precision,
    literal_invalid,
)
