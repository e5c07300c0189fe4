"""A condition's `when` expression in words, for people who do not read the rule language.

:mod:`engine.spec.expression_text` prints an expression as ``payroute fmt`` writes it
(``disbursement_amount > $100,000.00``), and a COND-13 reason quotes it that way with the
values inlined. That is right for a workflow author and wrong for a Controller reading their
inbox, who wants "disbursement amount $120,000.00 is over $100,000.00". This module says the
same tree in words, with the same literal printer (:func:`engine.spec.expression_text.operand_text`,
so money reads ``$1,234.56`` everywhere) and the fact values as the evaluation recorded them.

Two phrasings: :func:`expression_words` says why a `when` line was true, and
:func:`negated_words` says why it was not (what an ``otherwise`` route means). A fact that was
empty is said to be empty, whichever way the line went (COND-3: an empty fact makes a line
unknown, never true).

Pure: the model and a mapping of fact name → value text in, a sentence fragment out.
"""

from __future__ import annotations

from typing import Mapping

from engine.spec.expression_text import operand_text, string_text
from engine.spec.facts import fact_type
from engine.spec.model import Compare, FactRef, InList, Logical, Not

__all__ = ["EMPTY", "expression_words", "fact_words", "negated_words"]

#: how an empty fact's value is written by :func:`engine.spec.compiler.value_text`
EMPTY = "empty"

#: comparison → (words when true, words when false), per kind of value compared
_MONEY_WORDS = {">": ("is over", "is not over"), ">=": ("is at least", "is under"),
                "<": ("is under", "is not under"), "<=": ("is at most", "is over")}
_COUNT_WORDS = {">": ("is more than", "is not more than"), ">=": ("is at least", "is fewer than"),
                "<": ("is fewer than", "is not fewer than"), "<=": ("is at most", "is more than")}
_DATE_WORDS = {">": ("is after", "is not after"), ">=": ("is on or after", "is before"),
               "<": ("is before", "is not before"), "<=": ("is on or before", "is after")}
_EQUAL_WORDS = {"==": ("is", "is not"), "!=": ("is not", "is")}
#: a comparison read from the other side: ``$100 < amount`` is ``amount > $100``
_MIRROR = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "==": "==", "!=": "!="}


def fact_words(name: str) -> str:
    """``disbursement_amount`` → ``disbursement amount``; ``project.start_date`` → ``project start date``."""
    return name.replace(".", " ").replace("_", " ")


def _operand(node: object, values: Mapping[str, str]) -> str:
    """A fact as its words and recorded value (``disbursement amount $120,000.00``), a literal as written."""
    if isinstance(node, FactRef):
        value = values.get(node.fact, EMPTY)
        return f"{fact_words(node.fact)} {value}"
    return operand_text(node)


def _empty_facts(node: object, values: Mapping[str, str]) -> list[str]:
    """The facts of a comparison that were empty when it was tested (COND-3)."""
    sides = (node.left, node.right) if isinstance(node, Compare) else (node.left,) if isinstance(node, InList) else ()
    return [s.fact for s in sides if isinstance(s, FactRef) and values.get(s.fact, EMPTY) == EMPTY]


def _kind(node: Compare) -> str:
    for side in (node.left, node.right):
        if isinstance(side, FactRef):
            return fact_type(side.fact) or "string"
    return "string"


def _compare(node: Compare, values: Mapping[str, str], negate: bool) -> str:
    empty = _empty_facts(node, values)
    if empty:
        return " and ".join(f"{fact_words(f)} is empty" for f in empty)
    op: str = node.op
    left, right = node.left, node.right
    if not isinstance(left, FactRef) and isinstance(right, FactRef):
        op, left, right = _MIRROR[op], right, left  # say the fact first
    kind = _kind(node)
    table = _EQUAL_WORDS if op in _EQUAL_WORDS else (
        _MONEY_WORDS if kind == "money" else _DATE_WORDS if kind == "date" else _COUNT_WORDS)
    words = table[op][1 if negate else 0]
    return f"{_operand(left, values)} {words} {_operand(right, values)}"


def _in_list(node: InList, values: Mapping[str, str], negate: bool) -> str:
    empty = _empty_facts(node, values)
    if empty:
        return " and ".join(f"{fact_words(f)} is empty" for f in empty)
    items = ", ".join(string_text(s) for s in node.right.list)
    return f"{_operand(node.left, values)} {'is not one of' if negate else 'is one of'} {items}"


def _say(node: object, values: Mapping[str, str], negate: bool, nested: bool) -> str:
    if isinstance(node, Compare):
        return _compare(node, values, negate)
    if isinstance(node, InList):
        return _in_list(node, values, negate)
    if isinstance(node, Not):
        return _say(node.arg, values, not negate, nested)
    if isinstance(node, Logical):
        # De Morgan: "not (a and b)" is "not a, or not b"
        op = node.op if not negate else ("or" if node.op == "and" else "and")
        text = f" {op} ".join(_say(a, values, negate, True) for a in node.args)
        return f"({text})" if nested and len(node.args) > 1 else text
    return operand_text(node)


def expression_words(node: object, values: Mapping[str, str]) -> str:
    """Why the expression held: ``disbursement amount $120,000.00 is over $100,000.00``.

    ``values`` maps each fact name to its value as the evaluation wrote it (COND-13's
    ``text``: ``$120,000.00``, ``"Denver"``, ``empty``); a fact missing from it is empty."""
    return _say(node, values, False, False)


def negated_words(node: object, values: Mapping[str, str]) -> str:
    """Why the expression did not hold: ``disbursement amount $50,000.00 is not over $100,000.00``."""
    return _say(node, values, True, False)
