"""Exact money: parse and format US dollar amounts as :class:`Decimal` (GEN-1, GEN-2).

Money never passes through ``float``. Amounts travel as decimal strings with at
most two decimals; anything else is refused here, with a reason the callers can
show, rather than rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal

from engine.spec.disbursement_rules import MAX_MONEY_DIGITS

__all__ = [
    "MoneyError",
    "MoneyTooLarge",
    "parse_money",
    "format_money",
    "format_money_plain",
    "CENT",
]

CENT = Decimal("0.01")

# A wire amount: digits, optionally a dot and one or two digits. No sign, no
# exponent, no thousands separators, no leading/trailing space.
_WIRE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]{1,2})?")
_ANY_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class MoneyError(ValueError):
    """A money value that is not an exact amount with at most two decimals."""

    #: the rule a caller names when it turns this into a refusal
    rule = "GEN-2"


class MoneyTooLarge(MoneyError):
    """An amount beyond :data:`MAX_MONEY_DIGITS` digits before the point.

    Refused when parsed so that it can never reach the database, where it
    would either be rounded (a float) or escape as a raw overflow error, and so
    sums of a disbursement's amounts stay exact (GEN-1, GEN-3).
    """

    rule = "GEN-1"


def parse_money(text: object, *, allow_negative: bool = False) -> Decimal:
    """Parse a wire amount such as ``"100000.00"`` into a :class:`Decimal`.

    JSON numbers are refused (GEN-2) because by the time they reach us they
    may already have been through a binary float.
    """
    if isinstance(text, bool) or isinstance(text, (int, float)):
        raise MoneyError("money must be a decimal string such as \"100.00\", not a JSON number")
    if not isinstance(text, str):
        raise MoneyError("money must be a decimal string such as \"100.00\"")
    body = text[1:] if allow_negative and text.startswith("-") else text
    if _WIRE.fullmatch(body) is None:
        if _ANY_DECIMAL.fullmatch(text) and "." in text and len(text.rsplit(".", 1)[1]) > 2:
            raise MoneyError(f"`{text}` has more than two decimals")
        if text.startswith("-") and _WIRE.fullmatch(text[1:]):
            raise MoneyError(f"`{text}` is negative")
        raise MoneyError(f"`{text}` is not a decimal amount such as \"100.00\"")
    if len(body.split(".", 1)[0]) > MAX_MONEY_DIGITS:
        raise MoneyTooLarge(f"`{text}` is too large: at most {MAX_MONEY_DIGITS} digits before the decimal point")
    return Decimal(text)


def format_money(value: Decimal) -> str:
    """Human form used in messages and the rule language: ``$100,000.00``."""
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value).quantize(CENT):,}"


def format_money_plain(value: Decimal) -> str:
    """Wire form: ``100000.00`` (always two decimals)."""
    return f"{value.quantize(CENT)}"
