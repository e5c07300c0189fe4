"""The one printer of condition expressions: the text ``payroute fmt`` writes.

A `when` line is quoted in four places: the formatted file, a diagnostic's
message, a COND-13 reason (with the fact values inlined) and a diagram
label. They used to have a printer each, and they disagreed: a
``branch_shadowed`` message quoted ``a or b and c`` where ``payroute fmt``
wrote ``a or (b and c)``, so the author searched the file for text that was
not in it. Now they all print through :func:`expression_pieces`.

Precedence is ``or`` < ``and`` < ``not`` < comparison. Beyond what it
requires, parentheses are printed where a reader would otherwise need the
precedence table: around an ``and``/``or`` inside another one (for the same
op too: ``a or (b or c)`` is another tree than ``a or b or c``) and around a
comparison under ``not`` (``not (a in [...])``). Nowhere else.

Two modes. ``strict`` (the formatter) refuses what the language cannot
spell, since the printed text must parse back to the same tree. The
default (messages) prints anything, even a malformed literal from a
hand-written JSON config, because that literal is what is being reported.

Pure: no engine state, no dsl import (the engine must not depend on its
front ends).
"""

from __future__ import annotations

import re
from typing import Union

from engine.spec.model import Compare, DateLit, FactRef, InList, IntLit, Logical, MoneyLit, Not, StringLit

__all__ = [
    "ExpressionTextError", "Piece", "expression_pieces", "expression_text", "money_text",
    "operand_text", "string_text",
]

_FACT = re.compile(r"[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?")
_MONEY = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Words the lexer reads as keywords where a fact may start.
_RESERVED_FACTS = frozenset({"not"})

#: Printed text, with each fact left as a slot (a COND-13 reason fills in its value).
Piece = Union[str, FactRef]


class ExpressionTextError(ValueError):
    """Strict mode: the tree holds something the language cannot spell.

    Only a hand-written JSON config can get here; a `.flow` file always
    prints.
    """


def string_text(value: str, *, strict: bool = False) -> str:
    """A quoted string with ``"`` and ``\\`` escaped (the only escapes the grammar has)."""
    if strict and ("\n" in value or "\r" in value):
        raise ExpressionTextError(f"{value!r}: a name in quotes cannot contain a line break")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def money_text(digits: str, *, strict: bool = False) -> str:
    """``"1234.5"`` -> ``$1,234.50``: thousands commas, at least two decimals, never rounded.

    More decimals are kept as written: a ``money_precision`` error is the
    checker's to report, not the printer's to hide.
    """
    if not isinstance(digits, str) or _MONEY.fullmatch(digits) is None:
        if strict:
            raise ExpressionTextError(f"`{digits}` is not an amount such as \"100000.00\"")
        return f"${digits}"
    whole, _, frac = digits.partition(".")
    return f"${int(whole):,}.{frac.ljust(2, '0')}"


def operand_text(node: object, *, strict: bool = False) -> str:
    """A fact name or a literal as written in the rule language."""
    if isinstance(node, FactRef):
        if strict and (_FACT.fullmatch(node.fact) is None or node.fact in _RESERVED_FACTS):
            raise ExpressionTextError(f"`{node.fact}` cannot be written as a fact name")
        return node.fact
    if isinstance(node, MoneyLit):
        return money_text(node.money, strict=strict)
    if isinstance(node, StringLit):
        return string_text(node.string, strict=strict)
    if isinstance(node, IntLit):
        if strict and (isinstance(node.integer, bool) or node.integer < 0):
            raise ExpressionTextError(f"`{node.integer}`: the language has no negative whole numbers")
        return str(node.integer)
    if isinstance(node, DateLit):
        if strict and _DATE.fullmatch(node.date) is None:
            raise ExpressionTextError(f"`{node.date}` is not a date such as 2025-01-31")
        return node.date
    if strict:
        raise ExpressionTextError(f"{type(node).__name__} is not a value")
    return "?"


def expression_text(node: object, *, strict: bool = False) -> str:
    """The expression as ``payroute fmt`` writes it (see the module docstring)."""
    return "".join(p if isinstance(p, str) else operand_text(p, strict=strict)
                   for p in expression_pieces(node, strict=strict))


def expression_pieces(node: object, *, strict: bool = False) -> list[Piece]:
    """The printed expression as text pieces, with each fact reference left as a slot.

    The compiler keeps these to explain a decision (COND-13) with each fact's
    value after its name, without a second printer.
    """
    out: list[Piece] = []
    _emit(node, out, strict)
    return out


def _emit(node: object, out: list[Piece], strict: bool) -> None:
    if isinstance(node, Logical):
        if strict and len(node.args) < 2:
            raise ExpressionTextError(f"`{node.op}` needs at least two operands")
        for i, arg in enumerate(node.args):
            if i:
                out.append(f" {node.op} ")
            _wrapped(arg, isinstance(arg, Logical), out, strict)
    elif isinstance(node, Not):
        out.append("not ")
        _wrapped(node.arg, isinstance(node.arg, (Logical, Compare, InList)), out, strict)
    elif isinstance(node, Compare):
        _operand(node.left, out, strict)
        out.append(f" {node.op} ")
        _operand(node.right, out, strict)
    elif isinstance(node, InList):
        _operand(node.left, out, strict)
        items = ", ".join(string_text(s, strict=strict) for s in node.right.list)
        out.append(f" in [{items}]")
    else:
        _operand(node, out, strict)


def _wrapped(node: object, parens: bool, out: list[Piece], strict: bool) -> None:
    if parens:
        out.append("(")
    _emit(node, out, strict)
    if parens:
        out.append(")")


def _operand(node: object, out: list[Piece], strict: bool) -> None:
    if isinstance(node, FactRef):
        operand_text(node, strict=strict)  # strict: refuse a name the language cannot spell
        out.append(node)
    else:
        out.append(operand_text(node, strict=strict))
