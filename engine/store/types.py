"""Column types whose meaning must not depend on the backend.

Money is stored as integer cents in a ``BIGINT`` on every backend (GEN-1).
``NUMERIC(14, 2)`` is not enough: SQLite keeps a fraction as a binary float, so
``999999999999999.99`` came back as ``1000000000000000.00``, and PostgreSQL
refused 13 digits with a raw overflow error instead of a refusal.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from engine.spec.disbursement_rules import MAX_MONEY_DIGITS

__all__ = ["Money", "MAX_CENTS"]

#: The largest amount engine.money.parse_money accepts, in cents: far below a
#: BIGINT's 9.2e18, so a stored amount can never overflow on any backend.
MAX_CENTS = 10 ** (MAX_MONEY_DIGITS + 2) - 1


class Money(TypeDecorator[Decimal]):
    """A :class:`~decimal.Decimal` dollar amount kept as exact integer cents.

    Binding refuses (never rounds) anything that is not a whole number of
    cents within :data:`MAX_CENTS`: by then every amount has been through
    ``parse_money``, so such a value is a bug and must not be stored silently.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise TypeError(f"money must be a Decimal, not {type(value).__name__}")
        amount = Decimal(value)
        if not amount.is_finite():
            raise ValueError(f"`{amount}` is not an amount of money")
        cents = amount.scaleb(2)
        if cents != cents.to_integral_value():
            raise ValueError(f"`{amount}` has more than two decimals; money is stored in whole cents")
        if abs(cents) > MAX_CENTS:
            raise ValueError(f"`{amount}` is too large to store: at most {MAX_MONEY_DIGITS} digits "
                             "before the decimal point")
        return int(cents)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-2)
