"""The disbursement document's value rules, light to import: patterns, limits, the error type.

Shared by the pydantic model (:mod:`engine.spec.disbursement`, which also generates
``schemas/disbursement.schema.json``) and by the simulator's fast path
(:mod:`dsl.simulate_input`), which must not pay for building pydantic models
at start-up: this module imports nothing but the standard library.

The schema patterns end in ``$(?!\\n)``: Python's ``re`` (which jsonschema uses)
lets ``$`` match before a final newline, ECMA-262 does not; the lookahead makes
both dialects refuse ``"100.00\\n"`` exactly as the model does.
"""

from __future__ import annotations

from typing import Sequence

__all__ = [
    "SCHEMA_ID",
    "MAX_INVOICES",
    "MAX_MONEY_DIGITS",
    "MONEY_BODY",
    "POSITIVE_MONEY_BODY",
    "EMAIL_BODY",
    "DATE_BODY",
    "MONEY_PATTERN",
    "POSITIVE_MONEY_PATTERN",
    "EMAIL_PATTERN",
    "DATE_PATTERN",
    "DisbursementError",
    "Problem",
    "format_location",
]

SCHEMA_ID = "https://payroute.dev/schemas/disbursement.schema.json"

#: DSB-1: a disbursement holds 1 to 100 invoice payments.
MAX_INVOICES = 100

#: At most 15 digits before the decimal point (under $1,000,000,000,000,000): with
#: 100 invoices a sum then has at most 20 significant digits, so Decimal's
#: default 28-digit context adds exactly (GEN-3) and nothing is ever rounded.
MAX_MONEY_DIGITS = 15

#: Unanchored bodies (for callers that check many values in one match) and the anchored patterns.
MONEY_BODY = r"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,2})?"
POSITIVE_MONEY_BODY = r"(?:[1-9][0-9]{0,14}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?))"
EMAIL_BODY = r"[^@\s]+@[^@\s]+\.[^@\s]+"
DATE_BODY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"

MONEY_PATTERN = f"^{MONEY_BODY}$(?!\\n)"
POSITIVE_MONEY_PATTERN = f"^{POSITIVE_MONEY_BODY}$(?!\\n)"
EMAIL_PATTERN = f"^{EMAIL_BODY}$(?!\\n)"
DATE_PATTERN = f"^{DATE_BODY}$(?!\\n)"

#: A location and a sentence: ``("invoices[2].amount", "`1.234` has more than two decimals")``.
Problem = tuple[str, str]


class DisbursementError(ValueError):
    """A disbursement document that cannot be used; ``problems`` lists every reason, located."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("; ".join(_join(loc, msg) for loc, msg in self.problems))

    def lines(self) -> list[str]:
        """One ``location: message`` line per problem."""
        return [_join(loc, msg) for loc, msg in self.problems]


def _join(loc: str, msg: str) -> str:
    return f"{loc}: {msg}" if loc else msg


def format_location(loc: Sequence[object]) -> str:
    """``("invoices", 2, "amount")`` → ``invoices[2].amount`` (array indexes 0-based, as in JSON)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
